//! The stdlib: `.deploy` modules written in the language itself, shipped
//! inside the binary and imported as `std/NAME`.

/// (import path, source) of every embedded module, in the order `deploy
/// modules` and docs/stdlib.md list them.
pub const MODULES: &[(&str, &str)] = &[
    ("std/http", include_str!("../../stdlib/std/http.deploy")),
    ("std/release", include_str!("../../stdlib/std/release.deploy")),
    ("std/migrate", include_str!("../../stdlib/std/migrate.deploy")),
    ("std/preflight", include_str!("../../stdlib/std/preflight.deploy")),
    ("std/prometheus", include_str!("../../stdlib/std/prometheus.deploy")),
    ("std/notify", include_str!("../../stdlib/std/notify.deploy")),
    ("std/nginx", include_str!("../../stdlib/std/nginx.deploy")),
    ("std/haproxy", include_str!("../../stdlib/std/haproxy.deploy")),
    ("std/git", include_str!("../../stdlib/std/git.deploy")),
    ("std/container", include_str!("../../stdlib/std/container.deploy")),
];

pub fn module(path: &str) -> Option<&'static str> {
    let path = path.strip_suffix(".deploy").unwrap_or(path);
    MODULES.iter().find(|(name, _)| *name == path).map(|(_, text)| *text)
}

pub mod copy;
pub mod docs;
