//! Which plans use a cached commit: a cached module's own remote imports
//! resolve to the versions the *plan's* lock chose (the version selection
//! is the plan's), but a file opened from the cache has no lock beside it.
//! Every time a plan's lock leads into a checkout, the plan is remembered
//! in `modules/KEY/COMMIT.plans` (beside the read-only checkout, newest
//! first, at most [`KEPT`]); a cached file then resolves its imports with
//! the lock of the newest plan still using that commit of its repository.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::cache;
use super::lock::{lock_path, Lock};

/// How many plans a checkout remembers.
const KEPT: usize = 16;

fn list_of(checkout: &Path) -> PathBuf {
    let mut name = checkout.as_os_str().to_os_string();
    name.push(".plans");
    PathBuf::from(name)
}

fn read_list(checkout: &Path) -> Vec<PathBuf> {
    std::fs::read_to_string(list_of(checkout))
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// Remembers that `plan` uses `checkout`, unless it is already the newest
/// entry. A lost race between two processes loses one entry, never the
/// file: it is replaced whole (written beside it and renamed). Once per
/// pair and process: the editor checks the plan on every keystroke.
pub fn remember(checkout: &Path, plan: &Path) {
    static DONE: Mutex<Option<HashSet<(PathBuf, PathBuf)>>> = Mutex::new(None);
    if let Ok(mut done) = DONE.lock() {
        if !done.get_or_insert_with(HashSet::new).insert((checkout.to_path_buf(), plan.to_path_buf())) {
            return;
        }
    }
    let plan = std::fs::canonicalize(plan).unwrap_or_else(|_| plan.to_path_buf());
    if cache::checkout_of(&plan).is_some() {
        return;
    }
    let mut plans = read_list(checkout);
    if plans.first() == Some(&plan) {
        return;
    }
    plans.retain(|known| *known != plan);
    plans.insert(0, plan);
    plans.truncate(KEPT);
    let text: String = plans.iter().map(|p| format!("{}\n", p.display())).collect();
    let list = list_of(checkout);
    let temporary = list.with_extension(format!("plans.{}", std::process::id()));
    if std::fs::write(&temporary, text).is_ok() && std::fs::rename(&temporary, &list).is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
}

/// For a file inside the cache: the newest remembered plan whose lock
/// still names the file's repository at the file's commit, and that lock.
pub fn governing_plan(file: &Path) -> Option<(PathBuf, Lock)> {
    let checkout = cache::checkout_of(file)?;
    let commit = checkout.file_name()?.to_str()?.to_string();
    let key = checkout.parent()?.file_name()?.to_str()?.to_string();
    read_list(&checkout).into_iter().find_map(|plan| {
        if !lock_path(&plan).is_file() {
            return None;
        }
        let lock = Lock::read_beside(&plan).ok()?;
        let uses = lock.sources.values().any(|s| s.commit == commit && cache::repository_key(&s.url) == key);
        uses.then_some((plan, lock))
    })
}
