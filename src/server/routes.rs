//! Every route of the server in one table, each with the access it needs;
//! the router is built from this table only, and one layer
//! ([`super::auth::authorize`]) checks each request against the access of
//! the route it matched. tests/server_auth.rs reads this table and tries
//! every route from a client that is not loopback.

use axum::http::Method;
use axum::routing::{get, post, MethodRouter};

pub use super::access::{Access, RouteAccess};
use super::{actions, api, events, hooks, locks, page, AppState};

/// One route: its method and path, its access, its handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    handler: MethodRouter<AppState>,
}

fn route(method: Method, path: &'static str, access: Access, handler: MethodRouter<AppState>) -> Route {
    Route { method, path, access, handler }
}

/// Every route. Keep one `route(…)` a line: the route test reads them.
pub fn table() -> Vec<Route> {
    use Access::{Asset, Read, Signed, Write};
    vec![
        route(Method::GET, "/api/status", Read, get(api::status)),
        route(Method::GET, "/api/runs", Read, get(api::runs)),
        route(Method::GET, "/api/runs/{id}", Read, get(api::run)),
        route(Method::GET, "/api/runs/{id}/events", Read, get(events::stream)),
        route(Method::POST, "/api/runs/{id}/approve", Write, post(actions::approve)),
        route(Method::POST, "/api/runs/{id}/reject", Write, post(actions::reject)),
        route(Method::POST, "/api/runs/{id}/resume", Write, post(actions::resume)),
        route(Method::POST, "/api/environments/{env}/rollback", Write, post(actions::rollback)),
        route(Method::GET, "/api/environments/{env}/rollback", Read, get(actions::rollback_preview)),
        route(Method::POST, "/api/locks/release", Write, post(locks::release)),
        route(Method::POST, "/hooks/git", Signed, post(hooks::receive)),
        route(Method::GET, "/", Read, get(page::overview::show)),
        route(Method::GET, "/runs/{id}", Read, get(page::run::show)),
        route(Method::GET, "/history", Read, get(page::history::show)),
        route(Method::GET, "/plan", Read, get(page::plan_diff::show)),
        route(Method::GET, "/assets/dashboard.css", Asset, get(page::stylesheet)),
        route(Method::GET, "/assets/dashboard.js", Asset, get(page::script)),
    ]
}

/// The routes of the table, and the access of each.
pub fn build() -> (axum::Router<AppState>, RouteAccess) {
    let mut router = axum::Router::new();
    let mut access = Vec::new();
    for Route { method, path, access: needs, handler } in table() {
        router = router.route(path, handler);
        access.push((path, method, needs));
    }
    (router, RouteAccess::new(access))
}
