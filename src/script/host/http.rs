//! `http::get(url[, opts])` and `http::post(url, body[, opts])`.
//!
//! `opts` is a map with optional `timeout` (milliseconds, default 10000) and `headers` (a map of
//! header names to values). The timeout is capped by the evaluation's remaining deadline. The
//! result is `#{status: int, headers: map (lowercase names), body: string}`; HTTP error statuses
//! (404, 500...) are results like any other, while a connection failure, a timeout or a bad URL
//! is a runtime error.

use super::json::dynamic_to_json;
use super::{at_call, to_text, HostResult};
use crate::script::{runtime, ScriptLimits};
use rhai::{Dynamic, FuncRegistration, ImmutableString, Map, Module, NativeCallContext};
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

/// Timeout of a request when `opts.timeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response body read when `string_size` is unlimited (0).
const UNLIMITED_BODY_CAP: usize = 64 << 20;

/// The HTTP client shared by `http::` and `metrics::` (one connection pool per sandbox).
pub(crate) struct Client {
    agent: ureq::Agent,
    max_body: usize,
}

/// A response, whatever its status.
pub(crate) struct Response {
    pub status: u16,
    pub headers: Map,
    pub body: String,
}

/// What a request sends.
pub(crate) enum Body {
    None,
    /// Sent as it is.
    Text(String),
    /// Sent with `content-type: application/json` unless the headers say otherwise.
    Json(String),
}

/// `opts` of a request.
#[derive(Default)]
pub(crate) struct Options {
    pub timeout: Option<Duration>,
    pub headers: Vec<(String, String)>,
}

impl Options {
    pub(crate) fn parse(caller: &str, opts: &Map) -> Result<Options, String> {
        let mut options = Options::default();
        for (key, value) in opts.iter() {
            match key.as_str() {
                "timeout" => {
                    let ms = match (value.as_int(), value.as_float()) {
                        (Ok(ms), _) => ms as f64,
                        (_, Ok(ms)) => ms,
                        _ => {
                            return Err(format!(
                                "{caller}: opts.timeout must be a number of milliseconds, not a {}",
                                value.type_name()
                            ))
                        }
                    };
                    if !(ms.is_finite() && ms > 0.0) {
                        return Err(format!("{caller}: opts.timeout must be more than 0 ms"));
                    }
                    options.timeout = Some(Duration::from_secs_f64((ms / 1000.0).min(1e9)));
                }
                "headers" => {
                    let headers =
                        value.as_map_ref().map_err(|t| format!("{caller}: opts.headers must be a map, not a {t}"))?;
                    for (name, value) in headers.iter() {
                        options.headers.push((name.to_string(), to_text(value)));
                    }
                }
                other => return Err(format!("{caller}: unknown option {other:?} (expected `timeout` or `headers`)")),
            }
        }
        Ok(options)
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

impl Client {
    pub(crate) fn new(limits: &ScriptLimits) -> Client {
        let agent = ureq::AgentBuilder::new().user_agent(concat!("deploy/", env!("CARGO_PKG_VERSION"))).build();
        let max_body = match limits.max_string_size {
            0 => UNLIMITED_BODY_CAP,
            n => n,
        };
        Client { agent, max_body }
    }

    /// One request. `caller` names the script function in error messages.
    pub(crate) fn fetch(
        &self,
        caller: &str,
        method: &str,
        url: &str,
        body: Body,
        options: &Options,
    ) -> Result<Response, String> {
        let wanted = options.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let (timeout, capped) = match runtime::remaining() {
            Some(left) if left < wanted => (left, true),
            _ => (wanted, false),
        };
        if timeout.is_zero() {
            return Err(format!("{caller} {url}: the script's deadline has passed"));
        }

        let mut request = self.agent.request(method, url).timeout(timeout);
        for (name, value) in &options.headers {
            request = request.set(name, value);
        }
        let result = match body {
            Body::None => request.call(),
            Body::Text(text) => request.send_bytes(text.as_bytes()),
            Body::Json(text) => {
                if !options.has_header("content-type") {
                    request = request.set("Content-Type", "application/json");
                }
                request.send_bytes(text.as_bytes())
            }
        };
        let response = match result {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(transport)) => {
                let mut message = format!("{caller} {url}: {}", describe_transport(&transport));
                if capped && runtime::expired() {
                    message.push_str(" (stopped at the script's deadline)");
                }
                return Err(message);
            }
        };

        let status = response.status();
        let mut headers = Map::new();
        for name in response.headers_names() {
            let name = name.to_ascii_lowercase();
            if headers.contains_key(name.as_str()) {
                continue;
            }
            let value = response.all(&name).join(", ");
            headers.insert(name.as_str().into(), Dynamic::from(value));
        }
        let mut bytes = Vec::new();
        let limit = u64::try_from(self.max_body).unwrap_or(u64::MAX).saturating_add(1);
        response.into_reader().take(limit).read_to_end(&mut bytes).map_err(|e| {
            let mut message = format!("{caller} {url}: reading the response failed: {e}");
            if capped && runtime::expired() {
                message.push_str(" (stopped at the script's deadline)");
            }
            message
        })?;
        if bytes.len() > self.max_body {
            return Err(format!(
                "{caller} {url}: the response body is larger than the limit of {} bytes (string_size)",
                self.max_body
            ));
        }
        let body = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        Ok(Response { status, headers, body })
    }
}

/// A transport error without the URL (the caller names it). A part that
/// the next one repeats (an I/O error wrapping ureq's own "Network Error:
/// ...") is said once.
fn describe_transport(transport: &ureq::Transport) -> String {
    let mut parts = vec![transport.kind().to_string()];
    parts.extend(transport.message().map(str::to_string));
    parts.extend(std::error::Error::source(transport).map(|source| source.to_string()));
    join_unrepeated(&parts)
}

/// `parts` joined by ": ", leaving out each part the one after it starts with.
fn join_unrepeated(parts: &[String]) -> String {
    let kept: Vec<&str> = parts
        .iter()
        .enumerate()
        .filter(|(index, part)| parts.get(index + 1).map_or(true, |next| !next.starts_with(part.as_str())))
        .map(|(_, part)| part.as_str())
        .collect();
    kept.join(": ")
}

impl Response {
    fn into_map(self) -> Map {
        let mut map = Map::new();
        map.insert("status".into(), Dynamic::from_int(i64::from(self.status)));
        map.insert("headers".into(), Dynamic::from_map(self.headers));
        map.insert("body".into(), Dynamic::from(self.body));
        map
    }
}

/// A script value as a request body: strings as they are, `()` as no body, anything else as JSON.
fn body_of(caller: &str, value: &Dynamic) -> Result<Body, String> {
    if value.is_unit() {
        return Ok(Body::None);
    }
    if let Ok(text) = value.as_immutable_string_ref() {
        return Ok(Body::Text(text.to_string()));
    }
    let json = dynamic_to_json(value).map_err(|e| format!("{caller}: the body {e}"))?;
    Ok(Body::Json(json.to_string()))
}

pub(crate) fn module(client: Arc<Client>) -> Module {
    let mut module = Module::new();

    let c = client.clone();
    FuncRegistration::new("get").with_volatility(true).set_into_module(
        &mut module,
        move |ctx: NativeCallContext, url: ImmutableString| -> HostResult<Map> {
            get(&c, &url, &Map::new()).map_err(|e| at_call(&ctx, e))
        },
    );
    let c = client.clone();
    FuncRegistration::new("get").with_volatility(true).set_into_module(
        &mut module,
        move |ctx: NativeCallContext, url: ImmutableString, opts: Map| -> HostResult<Map> {
            get(&c, &url, &opts).map_err(|e| at_call(&ctx, e))
        },
    );
    let c = client.clone();
    FuncRegistration::new("post").with_volatility(true).set_into_module(
        &mut module,
        move |ctx: NativeCallContext, url: ImmutableString, body: Dynamic| -> HostResult<Map> {
            post(&c, &url, &body, &Map::new()).map_err(|e| at_call(&ctx, e))
        },
    );
    let c = client;
    FuncRegistration::new("post").with_volatility(true).set_into_module(
        &mut module,
        move |ctx: NativeCallContext, url: ImmutableString, body: Dynamic, opts: Map| -> HostResult<Map> {
            post(&c, &url, &body, &opts).map_err(|e| at_call(&ctx, e))
        },
    );
    module
}

/// `http::get(url[, opts])`.
fn get(client: &Client, url: &str, opts: &Map) -> HostResult<Map> {
    let options = Options::parse("http::get", opts)?;
    let response = client.fetch("http::get", "GET", url, Body::None, &options)?;
    Ok(response.into_map())
}

/// `http::post(url, body[, opts])`.
fn post(client: &Client, url: &str, body: &Dynamic, opts: &Map) -> HostResult<Map> {
    let options = Options::parse("http::post", opts)?;
    let body = body_of("http::post", body)?;
    let response = client.fetch("http::post", "POST", url, body, &options)?;
    Ok(response.into_map())
}

#[cfg(test)]
mod tests {
    use super::join_unrepeated;
    use crate::script::testutil::{Reply, TestServer};
    use crate::script::{compile, null_sink, Sandbox, ScriptLimits, ScriptOutcome, ScriptVariables};
    use std::time::{Duration, Instant};

    fn server() -> TestServer {
        TestServer::start(|req| match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/health") => Reply::new(200, "ok").header("X-Custom", "yes"),
            ("GET", "/headers") => Reply::new(200, &req.header("x-token").unwrap_or_default()),
            ("GET", "/slow") => {
                std::thread::sleep(Duration::from_millis(1500));
                Reply::new(200, "late")
            }
            ("GET", "/boom") => Reply::new(500, "internal"),
            ("POST", "/echo") => Reply::new(200, &String::from_utf8_lossy(&req.body))
                .header("Content-Type", &req.header("content-type").unwrap_or_default()),
            _ => Reply::new(404, "not found"),
        })
    }

    fn run(sb: &Sandbox, server: &TestServer, source: &str) -> Result<rhai::Dynamic, ScriptOutcome> {
        let mut ctx = ScriptVariables::new();
        ctx.set_str("base", &server.url);
        sb.eval(&compile(source).expect("compiles"), &ctx)
    }

    fn text(sb: &Sandbox, server: &TestServer, source: &str) -> String {
        match run(sb, server, source) {
            Ok(v) => v.to_string(),
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn get_and_post() {
        let srv = server();
        let sb = Sandbox::new(ScriptLimits::default(), null_sink());

        assert_eq!(text(&sb, &srv, "let r = http::get(base + \"/health\"); `${r.status} ${r.body}`"), "200 ok");
        assert_eq!(text(&sb, &srv, "http::get(base + \"/health\").headers[\"x-custom\"]"), "yes");
        assert_eq!(text(&sb, &srv, "http::get(base + \"/missing\").status"), "404");
        assert_eq!(text(&sb, &srv, "let r = http::get(base + \"/boom\"); `${r.status} ${r.body}`"), "500 internal");
        assert_eq!(
            text(&sb, &srv, "http::get(base + \"/headers\", #{headers: #{\"X-Token\": \"abc\"}, timeout: 2000}).body"),
            "abc"
        );
        // JSON post echo: a map is sent as JSON with the JSON content type.
        assert_eq!(
            text(
                &sb,
                &srv,
                "let r = http::post(base + \"/echo\", #{name: \"web\", n: 2}); \
                 `${r.headers[\"content-type\"]} ${json::parse(r.body).name} ${json::parse(r.body).n}`"
            ),
            "application/json web 2"
        );
        // A string is sent as it is, with the caller's content type.
        assert_eq!(
            text(
                &sb,
                &srv,
                "let r = http::post(base + \"/echo\", \"a=1\", #{headers: #{\"content-type\": \"text/plain\"}}); \
                 `${r.headers[\"content-type\"]} ${r.body}`"
            ),
            "text/plain a=1"
        );
        // A check over the response.
        let mut ctx = ScriptVariables::new();
        ctx.set_str("base", &srv.url);
        let check = compile("http::get(base + \"/health\").status == 200").expect("compiles");
        assert_eq!(sb.check(&check, &ctx), ScriptOutcome::Pass);
    }

    #[test]
    fn a_repeated_prefix_is_said_once() {
        let parts = ["Network Error".to_string(), "Network Error: Unexpected EOF".to_string()];
        assert_eq!(join_unrepeated(&parts), "Network Error: Unexpected EOF");
        let parts = ["Connection Failed".to_string(), "Connect error".to_string(), "refused".to_string()];
        assert_eq!(join_unrepeated(&parts), "Connection Failed: Connect error: refused");
    }

    #[test]
    fn errors() {
        let srv = server();
        let sb = Sandbox::new(ScriptLimits::default(), null_sink());
        // Connection refused: a port nobody listens on (bind then drop).
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(9);
        let out = text(&sb, &srv, &format!("let x = 1;\nhttp::get(\"http://127.0.0.1:{port}/\")"));
        assert!(out.starts_with("ERR error: http::get http://127.0.0.1:"), "{out}");
        assert!(out.contains("(line 2, column "), "{out}");
        assert!(text(&sb, &srv, "http::get(\"not a url\")").starts_with("ERR"));
        let out = text(&sb, &srv, "http::get(base, #{timout: 5})");
        assert!(out.contains("unknown option \"timout\""), "{out}");
        // Request timeout from opts.
        let start = Instant::now();
        let out = text(&sb, &srv, "http::get(base + \"/slow\", #{timeout: 200})");
        assert!(out.starts_with("ERR"), "{out}");
        assert!(start.elapsed() < Duration::from_millis(1000), "{:?}", start.elapsed());
    }

    #[test]
    fn request_capped_by_deadline() {
        let srv = server();
        let limits = ScriptLimits { timeout: Duration::from_millis(300), ..ScriptLimits::default() };
        let sb = Sandbox::new(limits, null_sink());
        let start = Instant::now();
        let out = text(&sb, &srv, "http::get(base + \"/slow\")");
        assert!(start.elapsed() < Duration::from_millis(1000), "{:?}", start.elapsed());
        assert!(out.contains("deadline"), "{out}");
    }

    #[test]
    fn body_capped_by_string_size() {
        let srv = TestServer::start(|_| Reply::new(200, &"x".repeat(5000)));
        let limits = ScriptLimits { max_string_size: 1000, ..ScriptLimits::default() };
        let sb = Sandbox::new(limits, null_sink());
        let out = text(&sb, &srv, "http::get(base).body.len()");
        assert!(out.contains("string_size"), "{out}");
    }
}
