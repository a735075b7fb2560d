//! The dashboard: HTML pages served next to the API, readable without
//! JavaScript (which adds live updates and actions), their stylesheet and
//! script embedded in the binary.

pub mod graph_svg;
pub mod history;
pub mod html;
pub mod journal;
pub mod node_status;
pub mod overview;
pub mod plan_diff;
pub mod plan_graph;
pub mod run;
pub mod run_actions;

use axum::http::header;

const STYLESHEET: &str = include_str!("assets/dashboard.css");
const SCRIPT: &str = include_str!("assets/dashboard.js");

pub async fn stylesheet() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLESHEET)
}

pub async fn script() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT)
}
