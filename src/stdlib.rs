//! The stdlib: `.deploy` modules written in the language itself, shipped
//! inside the binary and imported as `std/NAME`.

/// (import path, source) of every embedded module.
pub const MODULES: &[(&str, &str)] = &[("std/http", include_str!("../stdlib/std/http.deploy"))];

pub fn module(path: &str) -> Option<&'static str> {
    let path = path.strip_suffix(".deploy").unwrap_or(path);
    MODULES.iter().find(|(name, _)| *name == path).map(|(_, text)| *text)
}
