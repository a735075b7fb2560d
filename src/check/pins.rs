//! Pinning shared modules: `deploy modules pin` writes `deploy.sum` beside
//! the plan with the sha256 of every non-stdlib module the plan imports
//! (transitively); when that file exists, `deploy check` reports a module
//! whose text changed (E0123) and one that is imported but not pinned
//! (E0124), so that a change in a shared module cannot silently change a plan.
//!
//! `deploy.sum` holds one line per module, `sha256:HEX  MODULE`, sorted;
//! `#` starts a comment. A module is named by where it was found: a path
//! relative to the plan's directory (`./stages/db.deploy`), a path inside a
//! `DEPLOY_PATH` directory (`platform/k8s.deploy`, the same on every machine
//! whatever the checkout's location), or else its absolute path. Stdlib
//! modules are not pinned: they are part of the binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::loader::{Loaded, ModuleOrigin};
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::Item;
use crate::syntax::span::{FileId, Span};

/// The name of the pin file, beside the plan.
pub const SUM_FILE: &str = "deploy.sum";

/// One imported module: how `deploy.sum` names it, its hash, and an import
/// that brought it in (for diagnostics).
#[derive(Clone, Debug)]
pub struct ModulePin {
    pub name: String,
    pub sha256: String,
    pub imported_at: Option<(FileId, Span)>,
}

/// Where `deploy.sum` of the plan at `plan` is.
pub fn sum_path(plan: &Path) -> PathBuf {
    plan.parent().unwrap_or(Path::new("")).join(SUM_FILE)
}

/// Every non-stdlib module of a loaded plan, sorted by name.
pub fn module_pins(loaded: &Loaded, plan: &Path) -> Vec<ModulePin> {
    let plan_dir = canonical_dir(plan);
    let search: Vec<PathBuf> = std::env::var("DEPLOY_PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| std::fs::canonicalize(dir).unwrap_or_else(|_| PathBuf::from(dir)))
        .collect();
    // Where each module was first imported, and whether it was found on DEPLOY_PATH.
    let mut imported_at: BTreeMap<usize, (FileId, Span)> = BTreeMap::new();
    let mut via_search: Vec<usize> = Vec::new();
    for module in &loaded.modules {
        let imports = module.ast.items.iter().filter_map(|item| match item {
            Item::Import(import) => Some((import.span, import.path.as_plain().unwrap_or_default())),
            _ => None,
        });
        for ((_, target), (span, import_path)) in module.imports.iter().zip(imports) {
            if let Some(target) = target {
                imported_at.entry(*target).or_insert((module.file, span));
                let relative = import_path.starts_with("./") || import_path.starts_with("../");
                if !relative && !import_path.starts_with("std/") {
                    via_search.push(*target);
                }
            }
        }
    }
    let mut pins: Vec<ModulePin> = loaded
        .modules
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(index, module)| {
            let ModuleOrigin::File(path) = &module.origin else { return None };
            // Remote modules are pinned by deploy.lock, by commit and hash.
            if crate::remote::cache::checkout_of(path).is_some() {
                return None;
            }
            let text = loaded.sources.get(module.file)?.text.clone();
            Some(ModulePin {
                name: module_name(path, &plan_dir, &search, via_search.contains(&index)),
                sha256: sha256_hex(text.as_bytes()),
                imported_at: imported_at.get(&index).copied(),
            })
        })
        .collect();
    pins.sort_by(|a, b| a.name.cmp(&b.name));
    pins.dedup_by(|a, b| a.name == b.name);
    pins
}

/// The text of `deploy.sum` for these pins.
pub fn render_sum(pins: &[ModulePin]) -> String {
    let mut out =
        String::from("# deploy.sum: sha256 of every module this plan imports, written by `deploy modules pin`.\n");
    for pin in pins {
        out.push_str(&format!("sha256:{}  {}\n", pin.sha256, pin.name));
    }
    out
}

/// Parses `deploy.sum`: module name → hash, or the 1-based line that is wrong.
pub fn parse_sum(text: &str) -> Result<BTreeMap<String, String>, (usize, String)> {
    let mut pins = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = line.split_once(char::is_whitespace).and_then(|(hash, name)| {
            let hash = hash.strip_prefix("sha256:")?;
            let valid = hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit());
            valid.then(|| (name.trim().to_string(), hash.to_ascii_lowercase()))
        });
        match parsed {
            Some((name, hash)) if !name.is_empty() => {
                pins.insert(name, hash);
            }
            _ => return Err((index + 1, line.to_string())),
        }
    }
    Ok(pins)
}

/// The pin diagnostics of a loaded plan: none when it has no `deploy.sum`.
pub fn check(loaded: &Loaded, plan: &Path) -> Vec<Diagnostic> {
    let sum = sum_path(plan);
    let Ok(text) = crate::check::loader::read_to_string_limited(&sum) else { return Vec::new() };
    let pinned = match parse_sum(&text) {
        Ok(pinned) => pinned,
        Err((line, content)) => {
            return vec![Diagnostic::new(
                Code::UnreadableFile,
                format!("cannot read {}: line {line} is not `sha256:HEX  MODULE`: {content}", sum.display()),
            )
            .with_help("rewrite it with `deploy modules pin PLAN`")];
        }
    };
    let plan_name = plan.display().to_string();
    let mut diagnostics = Vec::new();
    for pin in module_pins(loaded, plan) {
        let diagnostic = match pinned.get(&pin.name) {
            Some(hash) if *hash == pin.sha256 => continue,
            Some(hash) => Diagnostic::new(Code::PinnedModuleChanged, format!("module `{}` changed since it was pinned", pin.name))
                .with_help(format!(
                    "{SUM_FILE} pins sha256:{}…, the module now is sha256:{}…; review the change, then run `deploy modules pin {plan_name}`",
                    &hash[..12.min(hash.len())],
                    &pin.sha256[..12]
                )),
            None => Diagnostic::new(Code::ModuleNotPinned, format!("module `{}` is not pinned in {SUM_FILE}", pin.name))
                .with_help(format!("review it, then run `deploy modules pin {plan_name}` to pin it")),
        };
        diagnostics.push(match pin.imported_at {
            Some((file, span)) => {
                let label =
                    if diagnostic.code == Code::PinnedModuleChanged { "changed since pinned" } else { "not pinned" };
                diagnostic.at(file, span, label)
            }
            None => diagnostic,
        });
    }
    diagnostics
}

/// A module found on DEPLOY_PATH is named inside its directory first; any
/// other relative to the plan first.
fn module_name(path: &Path, plan_dir: &Path, search: &[PathBuf], via_search: bool) -> String {
    let slashed =
        |relative: &Path| relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
    let in_search = || search.iter().find_map(|dir| path.strip_prefix(dir).ok()).map(slashed);
    let in_plan_dir = || path.strip_prefix(plan_dir).ok().map(|relative| format!("./{}", slashed(relative)));
    let name = if via_search { in_search().or_else(in_plan_dir) } else { in_plan_dir().or_else(in_search) };
    name.unwrap_or_else(|| path.display().to_string())
}

fn canonical_dir(plan: &Path) -> PathBuf {
    let dir = match plan.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_files_round_trip_and_reject_garbage() {
        let pin = ModulePin { name: "./a.deploy".into(), sha256: sha256_hex(b"x"), imported_at: None };
        let parsed = parse_sum(&render_sum(std::slice::from_ref(&pin))).unwrap_or_default();
        assert_eq!(parsed.get("./a.deploy"), Some(&pin.sha256));
        assert_eq!(parse_sum("sha256:abc  x\n").map_err(|(line, _)| line), Err(1));
        assert_eq!(parse_sum("# c\n\nmd5:00  x\n").map_err(|(line, _)| line), Err(3));
    }
}
