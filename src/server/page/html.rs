//! Building HTML by hand: escaping, the page shell every view shares, and
//! small formatting helpers for times and durations.

use std::fmt::Write;

/// `text` safe inside an element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A path segment safe inside a URL.
pub fn url_part(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The whole document: head, navigation, `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · deploy</title><link rel=\"stylesheet\" href=\"/assets/dashboard.css\">\
         <script src=\"/assets/dashboard.js\" defer></script></head>\
         <body><a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header><nav aria-label=\"Main\"><a href=\"/\">Overview</a> <a href=\"/history\">History</a> \
         <a href=\"/plan\">Plan diff</a></nav></header>\
         <main id=\"main\">{body}</main>\
         </body></html>\n",
        title = escape(title)
    )
}

/// A status as a badge: its word as text, its colour as a class.
pub fn status_badge(status: &str) -> String {
    let word = status_word(status);
    format!("<span class=\"status s-{}\" data-status>{}</span>", word.replace(' ', "-"), escape(word))
}

/// The words the page shows for the store's and the journal's statuses.
pub fn status_word(status: &str) -> &str {
    match status {
        "rolled_back" => "rolled back",
        "rollback_failed" => "rollback failed",
        "not_started" => "pending",
        other => other,
    }
}

/// A time in ms since the epoch, in UTC.
pub fn time(ms: i64) -> String {
    crate::state::format_time(ms)
}

/// `1.2 s`, `3 min 4 s`.
pub fn duration(ms: Option<i64>) -> String {
    match ms {
        None => "—".into(),
        Some(ms) if ms < 1000 => format!("{ms} ms"),
        Some(ms) if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        Some(ms) => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// The field every action form has, with its real label.
pub fn token_field(id: &str) -> String {
    format!(
        "<label for=\"{id}\">Token</label> \
         <input id=\"{id}\" name=\"token\" type=\"password\" autocomplete=\"off\" required data-token>"
    )
}

/// The token field, where answers to actions appear, and the confirmation
/// a rollback shows first. The buttons work with the page's script.
pub fn action_bar(buttons: &str) -> String {
    format!(
        "<section class=\"actions\" aria-labelledby=\"actions-title\"><h2 id=\"actions-title\">Actions</h2>\
         <p class=\"token\">{} <small>the bearer token of the server's --token-file; \
         actions need the page's script</small></p>\
         <p class=\"result\" role=\"status\" aria-live=\"polite\" data-action-result></p>\
         <div class=\"confirm\" role=\"alertdialog\" aria-labelledby=\"confirm-text\" hidden data-confirm>\
         <p id=\"confirm-text\" data-confirm-text></p>\
         <button type=\"button\" data-confirm-yes>Confirm roll back</button> \
         <button type=\"button\" data-confirm-no>Cancel</button></div>{buttons}</section>",
        token_field("token")
    )
}

/// A button that posts `body` (JSON) to `url`; `done` is said when it worked;
/// `live` follows the run's events again afterwards.
pub fn post_button(label: &str, url: &str, body: &str, done: &str, live: bool) -> String {
    format!(
        "<button type=\"button\" disabled data-post=\"{}\" data-body=\"{}\" data-done=\"{}\"{}>{}</button>",
        escape(url),
        escape(body),
        escape(done),
        if live { " data-live=\"1\"" } else { "" },
        escape(label)
    )
}

/// `Roll back` for an environment: shows what will be undone, then posts.
pub fn rollback_button(environment: &str) -> String {
    format!(
        "<button type=\"button\" disabled data-rollback=\"{}\" title=\"Roll back {}\">Roll back</button>",
        escape(environment),
        escape(environment)
    )
}
