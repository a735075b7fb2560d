//! `deploy modules why FILE NAME`: who asked for which version of a
//! repository. Every remote import of the plan and of the modules it loads
//! (whose URL contains NAME, or whose name is NAME), grouped by repository
//! and ref, with the commit and tag `deploy.lock` uses for it and whether
//! the version selection raised it (docs/modules.md). Nothing is fetched
//! that the lock does not name; nothing is written.

use std::collections::BTreeMap;
use std::path::Path;

use super::output::print_diagnostics;
use super::ExitCode;
use crate::check::loader::{self, RemoteRequest};
use crate::remote::git::short;
use crate::remote::{Lock, LockedSource};

pub fn why(plan: &Path, name: &str) -> ExitCode {
    if !plan.is_file() {
        return super::failure::fail(format!("{} is not a plan file", plan.display()));
    }
    let lock = match Lock::read_beside(plan) {
        Ok(lock) => lock,
        Err(error) => return super::failure::fail(error),
    };
    let loaded = loader::load(plan);
    let matching: Vec<&RemoteRequest> = loaded
        .remote_imports
        .iter()
        .filter(|request| request.import.url.contains(name) || request.alias == name)
        .collect();
    if matching.is_empty() {
        let mut urls: Vec<&str> = loaded.remote_imports.iter().map(|r| r.import.url.as_str()).collect();
        urls.sort();
        urls.dedup();
        return super::failure::fail(format!(
            "no remote import of {} has `{name}` in its URL or as its name (it imports: {})",
            plan.display(),
            if urls.is_empty() { "none".to_string() } else { urls.join(", ") }
        ));
    }
    // Repository → ref as written → who asked.
    let mut by_url: BTreeMap<&str, BTreeMap<&str, Vec<&RemoteRequest>>> = BTreeMap::new();
    for request in matching {
        let refs = by_url.entry(request.import.url.as_str()).or_default();
        refs.entry(request.import.reference.as_str()).or_default().push(request);
    }
    for (url, refs) in &by_url {
        println!("{}{url}", crate::remote::import::PREFIX);
        for (reference, requests) in refs {
            let key = crate::remote::lock::source_key(url, reference);
            println!("  @{reference} → {}", resolution(lock.sources.get(&key)));
            for request in requests {
                println!("    {} imports {}@{reference} as {}", request.importer, request.import.path, request.alias);
            }
        }
    }
    let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
    if errors.is_empty() {
        return ExitCode::Success;
    }
    // What could not be loaded may import more: said, and not a success.
    print_diagnostics(&errors, &loaded.sources);
    super::failure::fail(format!("{} does not load whole; the list above may be short", plan.display()))
}

/// What the lock uses for a ref: tag and commit, and why when raised.
fn resolution(source: Option<&LockedSource>) -> String {
    let Some(source) = source else {
        return format!("not in {} (run `deploy modules fetch`)", crate::remote::LOCK_FILE);
    };
    let tag = source.tag.as_deref().map(|tag| format!("{tag} ")).unwrap_or_default();
    let why = if source.raised() {
        "  (raised: the highest version of this repository and major version that any import requires)"
    } else {
        ""
    };
    format!("{tag}{}{why}", short(&source.commit))
}
