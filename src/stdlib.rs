//! The stdlib: `.deploy` modules shipped inside the binary, imported as `std/NAME`.

/// (import path, source) of every embedded module.
pub const MODULES: &[(&str, &str)] = &[];

pub fn module(path: &str) -> Option<&'static str> {
    MODULES.iter().find(|(name, _)| *name == path).map(|(_, text)| *text)
}
