//! `metrics::query(url, promql)`: one number from a Prometheus-compatible instant query.
//!
//! GET `{url}/api/v1/query?query=<promql>`; a `vector` result with one sample or a `scalar`
//! result gives its value as a float. An empty result or a NaN value ends the script like
//! `no_data("query returned no data: <promql>")`; a Prometheus error is a runtime error.

use super::http::{Body, Client, Options};
use super::{at_call, HostResult};
use crate::script::outcome::Thrown;
use rhai::{FuncRegistration, ImmutableString, Module, NativeCallContext, FLOAT};
use serde_json::Value;
use std::sync::Arc;

pub(crate) fn module(client: Arc<Client>) -> Module {
    let mut module = Module::new();
    FuncRegistration::new("query").with_volatility(true).set_into_module(
        &mut module,
        move |ctx: NativeCallContext, url: ImmutableString, promql: ImmutableString| -> HostResult<FLOAT> {
            query(&client, &url, &promql).map_err(|e| at_call(&ctx, e))
        },
    );
    module
}

/// What a query gave.
#[derive(Debug, PartialEq)]
enum Sample {
    Value(f64),
    NoData,
}

fn query(client: &Client, url: &str, promql: &str) -> HostResult<FLOAT> {
    let full = query_url(url, promql);
    let response = client.fetch("metrics::query", "GET", &full, Body::None, &Options::default())?;
    match interpret(response.status, &response.body)? {
        Sample::Value(v) => Ok(v),
        Sample::NoData => Err(Thrown::NoData.error(format!("query returned no data: {promql}"))),
    }
}

/// `{url}/api/v1/query?query=<urlencoded promql>`.
fn query_url(url: &str, promql: &str) -> String {
    format!("{}/api/v1/query?query={}", url.trim_end_matches('/'), url_encode(promql))
}

/// Percent-encode everything but the unreserved characters of RFC 3986.
fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The number in a Prometheus query response.
fn interpret(status: u16, body: &str) -> Result<Sample, String> {
    let json: Value = match serde_json::from_str(body) {
        Ok(json) => json,
        Err(e) => {
            let excerpt: String = body.chars().take(200).collect();
            return Err(if (200..300).contains(&status) {
                format!("metrics::query: the response is not JSON ({e}): {excerpt}")
            } else {
                format!("metrics::query: HTTP {status}: {excerpt}")
            });
        }
    };
    match json.get("status").and_then(Value::as_str) {
        Some("success") => {}
        Some("error") => {
            let message = json.get("error").and_then(Value::as_str).unwrap_or("unknown error");
            return Err(match json.get("errorType").and_then(Value::as_str) {
                Some(kind) => format!("metrics::query: Prometheus error ({kind}): {message}"),
                None => format!("metrics::query: Prometheus error: {message}"),
            });
        }
        _ => return Err(format!("metrics::query: HTTP {status}: not a Prometheus query response")),
    }
    let data = json.get("data").ok_or("metrics::query: the response has no `data`")?;
    let result = data.get("result").ok_or("metrics::query: the response has no `data.result`")?;
    match data.get("resultType").and_then(Value::as_str) {
        Some("vector") => {
            let series = result.as_array().ok_or("metrics::query: `data.result` is not a list")?;
            match series.as_slice() {
                [] => Ok(Sample::NoData),
                [one] => sample_value(one.get("value").unwrap_or(&Value::Null)),
                many => Err(format!(
                    "metrics::query: the query returned {} series; aggregate it to one (e.g. `sum(...)`)",
                    many.len()
                )),
            }
        }
        Some("scalar") => sample_value(result),
        Some(other) => {
            Err(format!("metrics::query: unsupported result type `{other}` (expected an instant vector or a scalar)"))
        }
        None => Err("metrics::query: the response has no `data.resultType`".to_string()),
    }
}

/// `[1700000000.1, "0.05"]` → 0.05; "NaN" → no data.
fn sample_value(pair: &Value) -> Result<Sample, String> {
    let text = pair
        .as_array()
        .and_then(|p| p.get(1))
        .and_then(Value::as_str)
        .ok_or("metrics::query: malformed sample (expected [timestamp, \"value\"])")?;
    let value: f64 =
        text.trim().parse().map_err(|_| format!("metrics::query: the sample value {text:?} is not a number"))?;
    Ok(if value.is_nan() { Sample::NoData } else { Sample::Value(value) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::testutil::{Reply, TestServer};
    use crate::script::{compile, null_sink, Sandbox, ScriptLimits, ScriptOutcome, ScriptVariables};

    const VECTOR: &str =
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.1,"0.05"]}]}}"#;
    const EMPTY: &str = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    const SCALAR: &str = r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000.1,"1"]}}"#;
    const NAN: &str =
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.1,"NaN"]}]}}"#;
    const ERROR: &str = r#"{"status":"error","errorType":"bad_data","error":"parse error at char 5: unexpected"}"#;
    const TWO: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}}"#;

    fn prometheus() -> TestServer {
        TestServer::start(|req| {
            let query = req.query_param("query").unwrap_or_default();
            if req.path.split('?').next() != Some("/api/v1/query") {
                return Reply::new(404, "not found");
            }
            match query.as_str() {
                "rate(errors[5m])" => Reply::new(200, VECTOR),
                "absent_metric" => Reply::new(200, EMPTY),
                "scalar(1)" => Reply::new(200, SCALAR),
                "nan" => Reply::new(200, NAN),
                "two" => Reply::new(200, TWO),
                "bad(" => Reply::new(400, ERROR),
                _ => Reply::new(500, "oops"),
            }
        })
    }

    fn check(server: &TestServer, source: &str) -> ScriptOutcome {
        let sb = Sandbox::new(ScriptLimits::default(), null_sink());
        let mut ctx = ScriptVariables::new();
        ctx.set_str("prom", &server.url);
        sb.check(&compile(source).expect("compiles"), &ctx)
    }

    fn error_message(outcome: ScriptOutcome) -> String {
        match outcome {
            ScriptOutcome::Error(e) => e.message,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn queries_against_a_server() {
        let srv = prometheus();
        assert_eq!(check(&srv, "metrics::query(prom, \"rate(errors[5m])\") == 0.05"), ScriptOutcome::Pass);
        assert_eq!(check(&srv, "metrics::query(prom + \"/\", \"scalar(1)\") == 1.0"), ScriptOutcome::Pass);
        assert_eq!(
            check(&srv, "metrics::query(prom, \"absent_metric\") < 1.0"),
            ScriptOutcome::NoData("query returned no data: absent_metric".into())
        );
        assert_eq!(
            check(&srv, "metrics::query(prom, \"nan\") < 1.0"),
            ScriptOutcome::NoData("query returned no data: nan".into())
        );
        let message = error_message(check(&srv, "metrics::query(prom, \"bad(\") < 1.0"));
        assert_eq!(message, "metrics::query: Prometheus error (bad_data): parse error at char 5: unexpected");
        let message = error_message(check(&srv, "metrics::query(prom, \"two\") < 1.0"));
        assert!(message.contains("2 series"), "{message}");
        let message = error_message(check(&srv, "metrics::query(prom, \"other\") < 1.0"));
        assert_eq!(message, "metrics::query: HTTP 500: oops");
    }

    #[test]
    fn url_encoding() {
        assert_eq!(
            query_url("http://p:9090/", "sum(rate(x{job=\"a b\"}[5m]))"),
            "http://p:9090/api/v1/query?query=sum%28rate%28x%7Bjob%3D%22a%20b%22%7D%5B5m%5D%29%29"
        );
        assert_eq!(url_encode("é+&"), "%C3%A9%2B%26");
    }

    #[test]
    fn interpreting() {
        assert_eq!(interpret(200, VECTOR), Ok(Sample::Value(0.05)));
        assert_eq!(interpret(200, SCALAR), Ok(Sample::Value(1.0)));
        assert_eq!(interpret(200, EMPTY), Ok(Sample::NoData));
        assert_eq!(interpret(200, NAN), Ok(Sample::NoData));
        assert!(interpret(400, ERROR).is_err());
        assert!(interpret(200, r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#).is_err());
        assert!(interpret(200, "{}").is_err());
        assert!(interpret(200, "nope").is_err());
        assert_eq!(
            interpret(200, r#"{"status":"success","data":{"resultType":"scalar","result":[1,"+Inf"]}}"#),
            Ok(Sample::Value(f64::INFINITY))
        );
    }
}
