//! The dashboard: HTML pages served next to the API, readable without
//! JavaScript, their stylesheet embedded in the binary.

pub mod graph_svg;
pub mod html;
pub mod node_status;
pub mod overview;
pub mod plan_graph;
pub mod run;

use axum::http::header;
use axum::routing::get;
use axum::Router;

use super::AppState;

const STYLESHEET: &str = include_str!("assets/dashboard.css");

async fn stylesheet() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLESHEET)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::show))
        .route("/runs/{id}", get(run::show))
        .route("/assets/dashboard.css", get(stylesheet))
}
