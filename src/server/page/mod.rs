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
use axum::routing::get;
use axum::Router;

use super::AppState;

const STYLESHEET: &str = include_str!("assets/dashboard.css");
const SCRIPT: &str = include_str!("assets/dashboard.js");

async fn stylesheet() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLESHEET)
}

async fn script() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::show))
        .route("/runs/{id}", get(run::show))
        .route("/history", get(history::show))
        .route("/plan", get(plan_diff::show))
        .route("/assets/dashboard.css", get(stylesheet))
        .route("/assets/dashboard.js", get(script))
}
