//! What each route of the server needs, apart from the routes themselves:
//! the table ([`super::routes`]) says it, the layer ([`super::auth`])
//! enforces it; neither needs the other's imports.

use axum::http::Method;

/// What a request to a route needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Loopback, `--open-reads`, or a token.
    Read,
    /// A bearer token, whose identity the handler gets.
    Write,
    /// The webhook: the handler checks the signature of the body.
    Signed,
    /// The dashboard's own stylesheet and script, which hold no state.
    Asset,
}

/// The access of each (path, method) of the table, for the layer.
pub struct RouteAccess(Vec<(&'static str, Method, Access)>);

impl RouteAccess {
    pub fn new(routes: Vec<(&'static str, Method, Access)>) -> RouteAccess {
        RouteAccess(routes)
    }

    pub fn access(&self, path: &str, method: &Method) -> Option<Access> {
        self.0.iter().find(|(known, known_method, _)| *known == path && known_method == method).map(|(_, _, a)| *a)
    }
}
