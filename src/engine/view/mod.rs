//! The consumers of the event stream that the user sees: a live terminal
//! view, plain lines for logs, `--json` events, and the final summary.

pub mod json;
pub mod live;
pub mod plain;
pub mod summary;

pub use json::JsonView;
pub use live::LiveView;
pub use plain::PlainView;

/// Seconds with two decimals below a minute, `1m05s` above.
pub fn format_ms(ms: u64) -> String {
    if ms < 60_000 {
        format!("{:.2}s", ms as f64 / 1000.0)
    } else {
        let seconds = ms / 1000;
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    }
}

/// `[node]` or `[node host]`.
pub fn prefix(node: &str, host: Option<&str>) -> String {
    match host {
        Some(host) => format!("[{node} {host}]"),
        None => format!("[{node}]"),
    }
}
