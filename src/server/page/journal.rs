//! A run's journal on its page: every recorded event in order, actions
//! taken on the run (who approved, rejected, resumed, rolled back) among them.

use std::fmt::Write;

use serde_json::Value;

use super::html::escape;

/// The fields of an event other than the common ones, as `key=value`.
pub fn summary(event: &Value) -> String {
    let Some(object) = event.as_object() else { return String::new() };
    object
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "schema" | "seq" | "time" | "type"))
        .map(|(key, value)| match value {
            Value::String(text) => format!("{key}={text}"),
            other => format!("{key}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn render(body: &mut String, journal: &[Value]) {
    body.push_str(
        "<h2>Journal</h2><details class=\"journal\"><summary>Every event of the run</summary>\
         <div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">#</th><th scope=\"col\">Time</th>\
         <th scope=\"col\">Event</th><th scope=\"col\">Details</th></tr></thead><tbody data-journal>",
    );
    for event in journal {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            event.get("seq").and_then(Value::as_u64).unwrap_or(0),
            escape(event.get("time").and_then(Value::as_str).unwrap_or("")),
            escape(event.get("type").and_then(Value::as_str).unwrap_or("")),
            escape(&summary(event)),
        );
    }
    body.push_str("</tbody></table></div></details>");
}
