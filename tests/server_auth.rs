//! Who may ask `deploy serve` what: every route of the server's route
//! table (read from src/server/routes.rs, the one table the router is built
//! from) tried from a client that is not loopback, without a token and
//! with one; loopback on a dual-stack socket; the Host header; trusted
//! proxies. Raw HTTP over TCP, so the Host header and the source address
//! are the test's to choose.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use common::background::Background;
use common::Test;

const PLAN: &str = r#"
pipeline "shop" {}
environment production { hosts = ["web-1"] }
stage build { target = production  run "echo built ${version}"  rollback { run "echo unbuilt" } }
gate go { needs = [build]  approve "Ship ${version}?" by ["alice"] }
stage ship { needs = [go]  target = production  run "echo shipped ${version}"  rollback { run "echo unshipped" } }
param version: string = "1.0"
"#;

const TOKEN: &str = "alice-token-0123456789";

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
        })
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.head, self.body))
    }
}

/// One HTTP/1.1 request to `to`, `Connection: close`, read to the end
/// (or the first 64 KiB of a stream).
fn http(to: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut stream = TcpStream::connect_timeout(&to, Duration::from_secs(10)).unwrap_or_else(|e| panic!("{to}: {e}"));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("Host: {to}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap_or_else(|e| panic!("write: {e}"));
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 8192];
    while bytes.len() < 65536 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    Reply { status, head: head.to_string(), body: body.to_string() }
}

/// Each `route(Method::M, "PATH", ACCESS, …)` of the route table.
fn route_table() -> Vec<(String, String, String)> {
    let source = std::fs::read_to_string(common::root().join("src/server/routes.rs"))
        .unwrap_or_else(|e| panic!("routes.rs: {e}"));
    let routes: Vec<(String, String, String)> = source
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("route(Method::")?;
            let (method, rest) = rest.split_once(", \"")?;
            let (path, rest) = rest.split_once("\", ")?;
            let access = rest.split(',').next()?.trim();
            Some((method.to_string(), path.to_string(), access.to_string()))
        })
        .collect();
    assert!(routes.len() >= 17, "the route table was not read: {routes:?}");
    // Only the dashboard's own files go without the read rule; only the webhook checks its own signature.
    for (method, path, access) in &routes {
        match access.as_str() {
            "Asset" => assert!(path.starts_with("/assets/"), "{method} {path} is no asset"),
            "Signed" => assert!(path.starts_with("/hooks/"), "{method} {path} is no webhook"),
            _ => {}
        }
    }
    routes
}

/// No route is added outside the table.
#[test]
fn every_route_of_the_server_is_in_the_table() {
    let mut stack = vec![common::root().join("src/server")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let routes =
                text.matches(".route(").count() + text.matches(".nest(").count() + text.matches(".merge(").count();
            let allowed = usize::from(path.ends_with("routes.rs"));
            assert_eq!(routes, allowed, "{} adds routes outside src/server/routes.rs's table", path.display());
        }
    }
}

/// An address of this machine that is not loopback, if it has one.
fn outside_address() -> Option<IpAddr> {
    let mut found = None;
    // SAFETY: getifaddrs/freeifaddrs as documented; the list is read before it is freed.
    unsafe {
        let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut list) != 0 {
            return None;
        }
        let mut entry = list;
        while !entry.is_null() {
            let address = (*entry).ifa_addr;
            if !address.is_null() && i32::from((*address).sa_family) == libc::AF_INET {
                let v4 = &*(address as *const libc::sockaddr_in);
                let ip = IpAddr::from(u32::from_be(v4.sin_addr.s_addr).to_be_bytes());
                if !ip.is_loopback() {
                    found = Some(ip);
                    break;
                }
            }
            entry = (*entry).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    found
}

fn paused(test: &Test) -> String {
    let ran = test.run_with(&["run", "release.deploy", "--json"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    ran.events().first().and_then(|event| event["run_id"].as_str().map(str::to_string)).unwrap_or_default()
}

fn serve(test: &Test, extra: &[&str]) -> (Background, u16) {
    let mut args = vec!["serve", "release.deploy", "--listen", "[::]:0", "--token-file", "tokens"];
    args.extend_from_slice(extra);
    let server = Background::start(test.path(), &args, &[]);
    let port = server.address().rsplit(':').next().and_then(|port| port.parse().ok()).unwrap_or(0);
    assert!(port > 0, "{}", server.logs());
    (server, port)
}

fn concrete(path: &str, run_id: &str) -> String {
    path.replace("{id}", run_id).replace("{env}", "production")
}

/// Every route of the table from `client`, which the server must not take for loopback.
fn check_every_route(to: SocketAddr, proxy_headers: &[(&str, &str)], run_id: &str, server: &Background) {
    let bearer = format!("Bearer {TOKEN}");
    // `alice:TOKEN` in base64.
    let basic = "Basic YWxpY2U6YWxpY2UtdG9rZW4tMDEyMzQ1Njc4OQ==";
    for (method, path, access) in route_table() {
        let path = concrete(&path, run_id);
        let bare = http(to, &method, &path, proxy_headers, "");
        let with = |authorization: &str| {
            let mut headers = proxy_headers.to_vec();
            headers.push(("Authorization", authorization));
            http(to, &method, &path, &headers, "")
        };
        match access.as_str() {
            "Read" => {
                assert_eq!(bare.status, 401, "{method} {path} read without a token: {} {}", bare.head, server.logs());
                let message = bare.json()["error"]["message"].as_str().unwrap_or_default().to_string();
                assert!(message.contains("a read") && message.contains("needs a token"), "{path}: {message}");
                assert!(bare.header("www-authenticate").is_some(), "{path}: {}", bare.head);
                let token = with(&bearer);
                assert!(token.status != 401 && token.status < 500, "{method} {path} with a token: {}", token.head);
                let password = with(basic);
                assert!(
                    password.status != 401 && password.status < 500,
                    "{method} {path} with Basic: {}",
                    password.head
                );
                let wrong = with("Bearer guess-guess-guess-guess");
                assert_eq!(wrong.status, 401, "{method} {path} with a wrong token");
            }
            "Write" => {
                assert_eq!(bare.status, 401, "{method} {path} write without a token: {}", bare.head);
                assert_eq!(with(basic).status, 401, "{method} {path}: a write takes no Basic authentication");
                assert_eq!(with("Bearer guess-guess-guess-guess").status, 401, "{method} {path}");
            }
            "Signed" => assert_eq!(bare.status, 401, "{method} {path} unsigned: {}", bare.head),
            "Asset" => assert_eq!(bare.status, 200, "{method} {path}: {}", bare.head),
            other => panic!("{method} {path}: unknown access {other}: the test must learn it"),
        }
    }
}

#[test]
fn every_route_applies_its_access_to_clients_that_are_not_loopback() {
    let test = Test::new().plan(PLAN).file("tokens", format!("{TOKEN} alice\n"));
    let run_id = paused(&test);
    let (server, port) = serve(&test, &["--trusted-proxy", "127.0.0.1/32"]);
    // Through a trusted proxy (loopback here), the client X-Forwarded-For names.
    let local = SocketAddr::from(([127, 0, 0, 1], port));
    check_every_route(local, &[("X-Forwarded-For", "203.0.113.9")], &run_id, &server);
    // Straight from another address of this machine, when it has one.
    match outside_address() {
        Some(ip) => check_every_route(SocketAddr::new(ip, port), &[], &run_id, &server),
        None => eprintln!("note: this machine has no address but loopback; the direct variant was not run"),
    }
    // Loopback reads need no token — IPv4 on the dual-stack socket included.
    for (_, path, access) in route_table() {
        if access == "Read" {
            let path = concrete(&path, &run_id);
            assert_eq!(http(local, "GET", &path, &[], "").status, 200, "{path} from 127.0.0.1 via [::]");
            let six = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port));
            assert_eq!(http(six, "GET", &path, &[], "").status, 200, "{path} from ::1");
        }
    }
}

#[test]
fn forwarded_for_counts_only_from_trusted_proxies_and_the_host_must_name_the_server() {
    let test = Test::new().plan(PLAN).file("tokens", format!("{TOKEN} alice\n"));
    paused(&test);
    let (_server, port) = serve(&test, &["--public-url", "https://deploy.example.test/"]);
    let local = SocketAddr::from(([127, 0, 0, 1], port));
    // No --trusted-proxy: X-Forwarded-For is the client's own claim, ignored.
    assert_eq!(http(local, "GET", "/api/status", &[("X-Forwarded-For", "203.0.113.9")], "").status, 200);
    for host in ["evil.example", "evil.example:80", "localhost.evil.example", "deploy.example.test.evil"] {
        let reply = http(local, "GET", "/", &[("Host", host)], "");
        assert_eq!(reply.status, 421, "Host {host}: {}", reply.head);
        assert_eq!(reply.json()["error"]["code"], "wrong_host");
    }
    for host in ["deploy.example.test", "DEPLOY.example.test:443", "localhost", &format!("127.0.0.1:{port}"), "[::1]"] {
        assert_eq!(http(local, "GET", "/api/status", &[("Host", host)], "").status, 200, "Host {host}");
    }
    let bad = test.run_with(&["serve", "release.deploy", "--listen", "127.0.0.1:0", "--trusted-proxy", "10.0.0.0/40"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("--trusted-proxy `10.0.0.0/40`"), "{}", bad.stderr);
    let bad = test.run_with(&["serve", "release.deploy", "--listen", "127.0.0.1:0", "--public-url", "deploy.example"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("--public-url"), "{}", bad.stderr);
}

const SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
];

fn assert_security_headers(what: &str, reply: &Reply) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(reply.header(name).as_deref(), Some(value), "{what}: {name}\n{}", reply.head);
    }
}

#[test]
fn every_response_carries_the_security_headers_and_no_token_comes_from_the_query() {
    let test = Test::new().plan(PLAN).file("tokens", format!("{TOKEN} alice\n"));
    let run_id = paused(&test);
    let (_server, port) = serve(&test, &["--trusted-proxy", "127.0.0.1"]);
    let local = SocketAddr::from(([127, 0, 0, 1], port));
    let remote = [("X-Forwarded-For", "203.0.113.9")];
    for (method, path, _) in route_table() {
        let path = concrete(&path, &run_id);
        // Answered (loopback), refused (remote, no token), whatever the route.
        assert_security_headers(&format!("{method} {path}"), &http(local, &method, &path, &[], ""));
        assert_security_headers(&format!("{method} {path} remote"), &http(local, &method, &path, &remote, ""));
    }
    assert_security_headers("404", &http(local, "GET", "/nothing", &[], ""));
    assert_security_headers("405", &http(local, "DELETE", "/api/status", &[], ""));
    assert_security_headers("421", &http(local, "GET", "/", &[("Host", "evil.example")], ""));
    // The page's own script and stylesheet only: no inline script or style in the pages.
    for path in ["/", "/history", "/plan", &format!("/runs/{run_id}")] {
        let page = http(local, "GET", path, &[], "");
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains("<script>") && !page.body.contains(" style="), "{path}: inline script or style");
    }
    for query in ["token", "access_token", "bearer", "authorization"] {
        let reply = http(local, "GET", &format!("/api/status?{query}={TOKEN}"), &remote, "");
        assert_eq!(reply.status, 401, "?{query}=: {}", reply.head);
        let page = http(local, "GET", &format!("/?{query}={TOKEN}"), &remote, "");
        assert_eq!(page.status, 401, "/?{query}=: {}", page.head);
    }
}
