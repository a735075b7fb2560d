//! `deploy modules fetch|update|list FILE`: the plan's remote modules and
//! its `deploy.lock` (docs/modules.md). Nothing is written unless every
//! remote import resolved: the lock is replaced whole, and the cache only
//! ever gains complete commits.

use std::path::Path;

use super::output::print_diagnostics;
use super::ExitCode;
use crate::check::loader;
use crate::remote::git::short;
use crate::remote::{Fetching, Lock, LockedSource};

/// `fetch` (`update: None`) keeps the locked commits; `update` (`Some(name)`)
/// resolves again the repositories whose URL contains `name` (all without one).
pub fn fetch(plan: &Path, update: Option<Option<String>>) -> ExitCode {
    if !plan.is_file() {
        return super::failure::fail(format!("{} is not a plan file", plan.display()));
    }
    if crate::remote::offline() {
        return super::failure::fail(
            "fetching remote modules needs the network, and deploy is offline (--offline or DEPLOY_OFFLINE)",
        );
    }
    let old = match Lock::read_beside(plan) {
        Ok(lock) => lock,
        Err(error) => return super::failure::fail(format!("{error}; fix or remove it, then fetch again")),
    };
    let previous = old.clone();
    let mut fetching = match update {
        None => Fetching::keeping(old),
        Some(name) => Fetching::renewing(
            old,
            Box::new(move |source: &LockedSource| name.as_deref().map_or(true, |name| source.url.contains(name))),
        ),
    };
    fetching.prefetch(repositories(plan, &previous));
    let loaded = settle(plan, &mut fetching);
    let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
    if !errors.is_empty() {
        print_diagnostics(&errors, &loaded.sources);
        return super::failure::fail(format!(
            "{} was not written: the plan's imports do not load",
            crate::remote::lock::lock_path(plan).display()
        ));
    }
    let lock = fetching.lock;
    let lock_file = crate::remote::lock::lock_path(plan);
    if lock.sources.is_empty() && !lock_file.exists() {
        eprintln!("{} imports no remote module; {} not written", plan.display(), lock_file.display());
        return ExitCode::Success;
    }
    for source in lock.sources.values() {
        let tag = source.tag.as_deref().map(|tag| format!(" ({tag})")).unwrap_or_default();
        let was = previous.sources.get(&source.key()).filter(|old| old.commit != source.commit);
        let change = match was {
            Some(old) => format!("  (was {})", short(&old.commit)),
            None if !previous.sources.contains_key(&source.key()) => "  (new)".to_string(),
            None => String::new(),
        };
        println!("{} = {}{tag}{change}", source.key(), short(&source.commit));
        for path in source.files.keys() {
            println!("  {path}");
        }
    }
    match crate::remote::write_lock(&lock, plan) {
        Ok(path) => {
            let count = lock.sources.len();
            eprintln!("wrote {} ({count} source{})", path.display(), if count == 1 { "" } else { "s" });
            ExitCode::Success
        }
        Err(error) => super::failure::fail(error),
    }
}

/// The repositories the plan imports directly, and those the lock names
/// (which include what its modules imported last time).
fn repositories(plan: &Path, lock: &Lock) -> Vec<String> {
    let mut urls: Vec<String> = lock.sources.values().map(|source| source.url.clone()).collect();
    let text = loader::read_file(plan).unwrap_or_default();
    if let Ok(ast) = crate::syntax::parse(crate::syntax::span::FileId(0), &text) {
        for item in &ast.items {
            let crate::syntax::ast::Item::Import(import) = item else { continue };
            let path = import.path.as_plain().unwrap_or_default();
            if let Ok(import) = crate::remote::RemoteImport::parse(&path) {
                urls.push(import.url);
            }
        }
    }
    urls
}

/// Loads the plan with `fetching` until every import of a repository and
/// major version uses the highest version any of them required
/// (`crate::remote::selection`): each pass can only raise a version, so
/// this ends; a bound guards it anyway.
fn settle(plan: &Path, fetching: &mut Fetching) -> loader::Loaded {
    let mut loaded = loader::load_with(plan, fetching);
    for _ in 0..32 {
        if !fetching.next_pass() {
            break;
        }
        loaded = loader::load_with(plan, fetching);
    }
    loaded
}

/// `list`: path, URL, ref, commit (and the tag a range picked); `--outdated`
/// asks each repository once for a newer version tag.
pub fn list(plan: &Path, outdated: bool) -> ExitCode {
    let lock = match Lock::read_beside(plan) {
        Ok(lock) => lock,
        Err(error) => return super::failure::fail(error),
    };
    if lock.sources.is_empty() {
        println!("{} names no remote module", crate::remote::lock::lock_path(plan).display());
        return ExitCode::Success;
    }
    let mut fetching = Fetching::keeping(Lock::default());
    let mut unreachable = false;
    for source in lock.sources.values() {
        let version = source.tag.clone().unwrap_or_else(|| source.reference.clone());
        let newer = if outdated {
            match fetching.refs(&source.url) {
                Ok(refs) => {
                    let tags = refs.iter().filter_map(|(name, _)| name.strip_prefix("refs/tags/"));
                    match crate::remote::version::newer(&version, tags) {
                        Some(tag) => format!("  newer: {tag}"),
                        None => "  up to date".to_string(),
                    }
                }
                Err(error) => {
                    unreachable = true;
                    format!("  cannot ask: {error}")
                }
            }
        } else {
            String::new()
        };
        let tag = source.tag.as_deref().map(|tag| format!(" ({tag})")).unwrap_or_default();
        for path in source.files.keys() {
            println!("{path}  {}  {}{tag}  {}{newer}", source.url, source.reference, short(&source.commit));
        }
    }
    if unreachable {
        ExitCode::Usage
    } else {
        ExitCode::Success
    }
}

/// `diff FILE NAME REF`: the plan as the lock has it against the plan with
/// the repositories whose URL contains `name` at `to`, in the language's
/// terms (stages, steps, gates, rollback blocks), as `deploy plan` shows
/// changes against a deployment. Nothing is written.
pub fn diff(plan: &Path, name: &str, to: &str) -> ExitCode {
    let lock = match Lock::read_beside(plan) {
        Ok(lock) => lock,
        Err(error) => return super::failure::fail(error),
    };
    let moving: Vec<&LockedSource> = lock.sources.values().filter(|source| source.url.contains(name)).collect();
    if moving.is_empty() {
        let urls: Vec<&str> = lock.sources.values().map(|source| source.url.as_str()).collect();
        return super::failure::fail(format!(
            "no repository of {} has `{name}` in its URL (it has: {})",
            crate::remote::lock::lock_path(plan).display(),
            if urls.is_empty() { "none".to_string() } else { urls.join(", ") }
        ));
    }
    let before = crate::check::check_file_with_remote(plan, &mut crate::remote::FromLock::beside(plan));
    let mut moved = Fetching::moving(lock.clone(), name, to);
    settle(plan, &mut moved);
    let after = crate::check::check_file_with_remote(plan, &mut moved);
    for (label, checked) in [("as locked", &before), (to, &after)] {
        if checked.plan.is_none() {
            let errors: Vec<_> = checked.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
            print_diagnostics(&errors, &checked.sources);
            return super::failure::fail(format!("the plan does not check with the modules {label}"));
        }
    }
    let (Some(old), Some(new)) = (&before.plan, &after.plan) else { return ExitCode::Usage };
    for source in &moving {
        let now = moved.lock.sources.get(&source.key());
        let from = format!(
            "{}{}",
            short(&source.commit),
            source.tag.as_deref().map(|t| format!(" ({t})")).unwrap_or_default()
        );
        let to_text = now.map_or_else(String::new, |now| {
            format!("{}{}", short(&now.commit), now.tag.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())
        });
        println!("{}: {from} → {to_text}", source.key());
    }
    let changes = crate::canonical::diff::diff(&crate::canonical::canonical(old), &crate::canonical::canonical(new));
    if changes.is_empty() {
        println!("  no change for this plan");
    } else {
        print!("{}", super::plan_diff::render_semantic(&changes, "  "));
    }
    ExitCode::Success
}

/// `update FILE NAME --to REF`: rewrites the ref of every remote import of
/// the plan whose URL contains `name` to `to` (the plan's own text, as
/// `go get mod@v1.5` edits go.mod), then updates the lock for them. The
/// plan is written back only when the lock could be written too.
pub fn move_imports(plan: &Path, name: &str, to: &str) -> ExitCode {
    if to.is_empty() || to.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"') || to.starts_with('-') {
        return super::failure::fail(format!("`{to}` is not a ref"));
    }
    let text = match crate::check::loader::read_file(plan) {
        Ok(text) => text,
        Err(error) => return super::failure::fail(format!("cannot read {}: {error}", plan.display())),
    };
    let (moved, count) = rewrite_refs(&text, name, to);
    if count == 0 {
        return super::failure::fail(format!("{} has no remote import whose URL contains `{name}`", plan.display()));
    }
    if let Err(error) = std::fs::write(plan, &moved) {
        return super::failure::fail(format!("cannot write {}: {error}", plan.display()));
    }
    let code = fetch(plan, Some(Some(name.to_string())));
    if code != ExitCode::Success {
        // The lock was not written: the plan goes back to what it was.
        let _ = std::fs::write(plan, &text);
        return code;
    }
    eprintln!("moved {count} import{} of `{name}` to {to}", if count == 1 { "" } else { "s" });
    code
}

/// `text` with `@REF` of every `"git+URL//PATH@REF"` whose URL contains `name` set to `to`.
fn rewrite_refs(text: &str, name: &str, to: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut count = 0;
    let mut rest = text;
    while let Some(at) = rest.find("\"git+") {
        let (before, from) = rest.split_at(at + 1);
        out.push_str(before);
        let Some(end) = from.find('"') else {
            out.push_str(from);
            rest = "";
            break;
        };
        let literal = &from[..end];
        match crate::remote::RemoteImport::parse(literal) {
            Ok(import) if import.url.contains(name) => {
                out.push_str(&format!("{}{}//{}@{to}", crate::remote::import::PREFIX, import.url, import.path));
                count += 1;
            }
            _ => out.push_str(literal),
        }
        rest = &from[end..];
    }
    out.push_str(rest);
    (out, count)
}

#[cfg(test)]
mod tests {
    use super::rewrite_refs;

    #[test]
    fn only_the_named_imports_move() {
        let text = "import \"git+https://h/mods.git//a.deploy@v1\" as a\nimport \"git+https://h/other.git//b.deploy@v1\" as b\n";
        let (moved, count) = rewrite_refs(text, "mods", "v2.0.0");
        assert_eq!(count, 1);
        assert!(moved.contains("mods.git//a.deploy@v2.0.0\"") && moved.contains("other.git//b.deploy@v1\""), "{moved}");
    }
}
