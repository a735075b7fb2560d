//! Modules in other git repositories: `import "git+URL//PATH@REF" as web`.
//! [`import`] takes the import apart, [`lock`] reads and writes
//! `deploy.lock`, [`cache`] keeps fetched commits on disk (read-only,
//! shared, safe under concurrent fetches), [`git`] runs the system `git`,
//! [`version`] picks a tag for a range (`@v1`, `@^1.4`).
//!
//! The checker's loader asks a [`RemoteModules`] for each remote import:
//! [`FromLock`] (check, plan, run, the editor) uses exactly the commits the
//! lock names and never resolves a ref; [`Fetching`] (`deploy modules fetch`
//! and `update`) resolves refs with `git ls-remote` and records what it used.

pub mod cache;
pub mod git;
pub mod import;
pub mod lock;
pub mod plans_of_checkout;
pub mod selection;
pub mod version;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

pub use import::RemoteImport;
pub use lock::{Lock, LockedSource, LOCK_FILE};

/// A module file of a remote repository, on disk in the cache.
#[derive(Clone, Debug)]
pub struct RemoteFile {
    /// Where it is on disk.
    pub path: PathBuf,
    /// How messages name it: `git+URL//PATH@REF`.
    pub name: String,
    /// The lock's key of its repository and ref (`git+URL@REF`).
    pub source: String,
    /// Its text, when it was read already (to check its hash), so the
    /// loader need not read it again.
    pub text: Option<String>,
}

/// Why a remote module cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteError {
    /// The lock does not name it: `deploy modules fetch` must run first.
    NotLocked(String),
    /// It cannot be fetched or read, or it is not what the lock says.
    Unavailable(String),
}

/// Where the loader gets remote modules from.
pub trait RemoteModules {
    /// The file `import` names.
    fn module(&mut self, import: &RemoteImport) -> Result<RemoteFile, RemoteError>;
    /// `path`, relative to the repository's root, in the same repository
    /// and commit as `source` (a remote module's relative import).
    fn relative(&mut self, source: &str, path: &str) -> Result<RemoteFile, RemoteError>;
}

/// Writes `lock` beside `plan` (see [`Lock::write_beside`]) and remembers
/// the plan as a user of each commit it names that the cache holds, so a
/// cached module opened on its own finds its imports ([`plans_of_checkout`]).
pub fn write_lock(lock: &Lock, plan: &Path) -> Result<PathBuf, String> {
    let path = lock.write_beside(plan)?;
    for source in lock.sources.values() {
        let checkout = cache::checkout_dir(&source.url, &source.commit);
        if checkout.is_dir() {
            plans_of_checkout::remember(&checkout, plan);
        }
    }
    Ok(path)
}

/// How many repositories are fetched at once.
pub const PARALLEL_FETCHES: usize = 6;

/// `work` on every item, at most [`PARALLEL_FETCHES`] at once; the results
/// in the items' order.
pub fn parallel<T: Send, R: Send>(items: Vec<T>, work: impl Fn(T) -> R + Sync) -> Vec<R> {
    let count = items.len();
    let queue = std::sync::Mutex::new(items.into_iter().enumerate());
    let results = std::sync::Mutex::new(Vec::with_capacity(count));
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_FETCHES.min(count) {
            scope.spawn(|| loop {
                let next = queue.lock().map(|mut queue| queue.next()).ok().flatten();
                let Some((index, item)) = next else { break };
                let result = work(item);
                if let Ok(mut results) = results.lock() {
                    results.push((index, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Whether deploy may use the network to fill the cache (`DEPLOY_OFFLINE=1` or `--offline`: no).
pub fn offline() -> bool {
    std::env::var("DEPLOY_OFFLINE").is_ok_and(|value| !value.is_empty() && value != "0")
}

/// `path` of `source`'s checkout: the file, refused when it is missing or
/// (through a link) outside the checkout.
fn file_in(checkout: &Path, path: &str, source: &LockedSource) -> Result<PathBuf, RemoteError> {
    let root = std::fs::canonicalize(checkout).unwrap_or_default();
    file_in_root(checkout, &root, path, source)
}

/// [`file_in`], with the checkout's canonical path (`root`) known.
fn file_in_root(checkout: &Path, root: &Path, path: &str, source: &LockedSource) -> Result<PathBuf, RemoteError> {
    import::check_path(path).map_err(RemoteError::Unavailable)?;
    let file = checkout.join(path);
    let inside = !root.as_os_str().is_empty() && std::fs::canonicalize(&file).is_ok_and(|file| file.starts_with(root));
    if !file.is_file() || !inside {
        return Err(RemoteError::Unavailable(format!(
            "{} has no file `{path}` at commit {}",
            source.url, source.commit
        )));
    }
    Ok(file)
}

/// A file's `sha256:HEX` and its bytes, read once.
fn hashed(file: &Path) -> Result<(String, Vec<u8>), RemoteError> {
    let bytes = std::fs::read(file)
        .map_err(|error| RemoteError::Unavailable(format!("cannot read {}: {error}", file.display())))?;
    Ok((cache::bytes_hash(&bytes), bytes))
}

fn display(source: &LockedSource, path: &str) -> String {
    format!("{}{}//{path}@{}", import::PREFIX, source.url, source.reference)
}

/// What check, plan, run and the editor use: the lock's commits, the cache
/// (filled at the locked commit when a commit is missing, unless offline),
/// and the lock's hashes.
pub struct FromLock {
    lock: Result<Lock, String>,
    offline: bool,
    plan: PathBuf,
    /// Each checkout directory's canonical path, found once.
    roots: std::cell::RefCell<HashMap<PathBuf, PathBuf>>,
}

impl FromLock {
    /// The lock beside `plan`. For a module file inside the cache (opened
    /// in an editor, or `deploy check` on it), which has no lock beside it:
    /// the lock of the newest plan that uses its commit
    /// ([`plans_of_checkout`]), so its own remote imports resolve to the
    /// versions that plan runs it with.
    pub fn beside(plan: &Path) -> FromLock {
        let (plan, lock) = match plans_of_checkout::governing_plan(plan) {
            Some((governing, lock)) => (governing, Ok(lock)),
            None => (plan.to_path_buf(), Lock::read_beside(plan)),
        };
        let from_lock = FromLock { lock, offline: offline(), plan, roots: Default::default() };
        if let (Ok(lock), false) = (&from_lock.lock, from_lock.offline) {
            // A cold cache: the repositories are fetched at once, not one by one as imports are met.
            let mut wanted: Vec<(String, Vec<String>)> = Vec::new();
            for source in lock.sources.values() {
                match wanted.iter_mut().find(|(url, _)| *url == source.url) {
                    Some((_, commits)) => commits.push(source.commit.clone()),
                    None => wanted.push((source.url.clone(), vec![source.commit.clone()])),
                }
            }
            cache::fill(wanted);
        }
        from_lock
    }

    fn fetch_hint(&self) -> String {
        format!("run `deploy modules fetch {}`", self.plan.display())
    }

    fn locked(&self, source_key: &str, path: &str) -> Result<RemoteFile, RemoteError> {
        let lock = self.lock.as_ref().map_err(|error| RemoteError::Unavailable(error.clone()))?;
        let Some(source) = lock.sources.get(source_key) else {
            return Err(RemoteError::NotLocked(format!("{} names no commit for it; {}", LOCK_FILE, self.fetch_hint())));
        };
        let Some(wanted) = source.files.get(path) else {
            return Err(RemoteError::NotLocked(format!(
                "{} has no hash of `{path}` of {}; {}",
                LOCK_FILE,
                source.key(),
                self.fetch_hint()
            )));
        };
        let unavailable = |error: String| {
            let hint = if self.offline { format!("; {} while online", self.fetch_hint()) } else { String::new() };
            RemoteError::Unavailable(format!("{error}{hint}"))
        };
        let mut checkout = cache::checkout(&source.url, &source.commit, self.offline).map_err(unavailable)?;
        let mut file = self.file(&checkout, path, source)?;
        let (mut actual, mut bytes) = hashed(&file)?;
        if actual != *wanted && !self.offline {
            // A cached file that changed is thrown away and fetched again.
            cache::discard(&checkout);
            self.roots.borrow_mut().remove(&checkout);
            checkout = cache::checkout(&source.url, &source.commit, false).map_err(unavailable)?;
            file = self.file(&checkout, path, source)?;
            (actual, bytes) = hashed(&file)?;
        }
        if actual != *wanted {
            return Err(RemoteError::Unavailable(format!(
                "`{path}` of {} at commit {} has {actual}, but {} says {wanted}",
                source.url, source.commit, LOCK_FILE
            )));
        }
        plans_of_checkout::remember(&checkout, &self.plan);
        let text = String::from_utf8(bytes).ok();
        Ok(RemoteFile { path: file, name: display(source, path), source: source_key.to_string(), text })
    }

    /// [`file_in`], finding each checkout's canonical path once.
    fn file(&self, checkout: &Path, path: &str, source: &LockedSource) -> Result<PathBuf, RemoteError> {
        let root = self
            .roots
            .borrow_mut()
            .entry(checkout.to_path_buf())
            .or_insert_with(|| std::fs::canonicalize(checkout).unwrap_or_default())
            .clone();
        file_in_root(checkout, &root, path, source)
    }
}

impl RemoteModules for FromLock {
    fn module(&mut self, import: &RemoteImport) -> Result<RemoteFile, RemoteError> {
        self.locked(&import.source(), &import.path)
    }

    fn relative(&mut self, source: &str, path: &str) -> Result<RemoteFile, RemoteError> {
        self.locked(source, path)
    }
}

/// What `deploy modules fetch` and `update` use: refs resolved with `git
/// ls-remote` (each repository asked once), commits fetched into the cache,
/// and a new lock of exactly what the plan uses.
pub struct Fetching {
    old: Lock,
    /// `(name, REF)`: the sources whose URL contains `name` resolve REF
    /// instead of the ref their import writes (`deploy modules diff`).
    moved_to: Option<(String, String)>,
    /// Sources to resolve again although the old lock names them (`update`).
    renew: Box<dyn Fn(&LockedSource) -> bool>,
    /// What the plan uses, as the new lock.
    pub lock: Lock,
    refs: HashMap<String, Vec<(String, String)>>,
    /// Sources whose tag now points elsewhere than the old lock says.
    pub moved: BTreeSet<String>,
    /// Per repository and major version, the highest version any import
    /// required so far (kept from one pass to the next): see [`selection`].
    floors: selection::Floors,
}

impl Fetching {
    /// Keeps every commit of `old` that the plan still uses (moved tags are errors).
    pub fn keeping(old: Lock) -> Fetching {
        Fetching::renewing(old, Box::new(|_| false))
    }

    /// Resolves the sources `renew` picks again; keeps the others.
    pub fn renewing(old: Lock, renew: Box<dyn Fn(&LockedSource) -> bool>) -> Fetching {
        Fetching {
            old,
            renew,
            moved_to: None,
            lock: Lock::default(),
            refs: HashMap::new(),
            moved: BTreeSet::new(),
            floors: Default::default(),
        }
    }

    /// What the plan would use if the repositories whose URL contains `name`
    /// were at `to` (resolved now); the others as `old` locks them. For a
    /// preview: its lock is not meant to be written.
    pub fn moving(old: Lock, name: &str, to: &str) -> Fetching {
        let mut fetching = Fetching::keeping(old);
        fetching.moved_to = Some((name.to_string(), to.to_string()));
        fetching
    }

    /// Before a cold fetch: asks every repository of `urls` for its refs
    /// and clones the ones the cache has no mirror of, several at once, so
    /// the load that follows (which meets imports one by one) finds them
    /// ready. Each repository is asked once; a failure is left for the load
    /// to report.
    pub fn prefetch(&mut self, urls: Vec<String>) {
        let mut urls: Vec<String> = urls.into_iter().filter(|url| !self.refs.contains_key(url)).collect();
        urls.sort();
        urls.dedup();
        if urls.is_empty() {
            return;
        }
        let listed = parallel(urls.clone(), |url| {
            let refs = git::remote_refs(&url);
            if refs.is_ok() {
                let _ = cache::mirror(&url);
            }
            refs
        });
        for (url, refs) in urls.into_iter().zip(listed) {
            if let Ok(refs) = refs {
                self.refs.insert(url, refs);
            }
        }
    }

    /// The tags and branches of `url`, listed once.
    pub fn refs(&mut self, url: &str) -> Result<&Vec<(String, String)>, String> {
        if !self.refs.contains_key(url) {
            let listed = git::remote_refs(url)?;
            self.refs.insert(url.to_string(), listed);
        }
        Ok(self.refs.get(url).map_or(&EMPTY, |refs| refs))
    }

    /// The commit (and the tag a range picked) `reference` of `url` is now.
    fn resolve(&mut self, url: &str, reference: &str) -> Result<(String, Option<String>), String> {
        if git::is_commit(reference) {
            return Ok((reference.to_ascii_lowercase(), None));
        }
        let refs = self.refs(url)?.clone();
        let tags = || refs.iter().filter_map(|(name, _)| name.strip_prefix("refs/tags/"));
        let commit_of = |name: &str| refs.iter().find(|(n, _)| n == name).map(|(_, commit)| commit.clone());
        if let Some(range) = version::Range::parse(reference) {
            if commit_of(&format!("refs/tags/{reference}")).is_none() {
                let tag = range.highest(tags()).ok_or_else(|| {
                    let mut known: Vec<&str> = tags().collect();
                    known.sort();
                    format!("no tag of {url} is in the range `{reference}` (tags: {})", list_or_none(&known))
                })?;
                let commit = commit_of(&format!("refs/tags/{tag}")).unwrap_or_default();
                return Ok((commit, Some(tag.to_string())));
            }
        }
        if let Some(commit) = commit_of(&format!("refs/tags/{reference}")) {
            return Ok((commit, None));
        }
        if let Some(commit) = commit_of(&format!("refs/heads/{reference}")) {
            return Ok((commit, None));
        }
        let mut known: Vec<&str> = refs
            .iter()
            .filter_map(|(name, _)| name.strip_prefix("refs/tags/").or_else(|| name.strip_prefix("refs/heads/")))
            .collect();
        known.sort();
        Err(format!("{url} has no tag or branch `{reference}` (it has: {})", list_or_none(&known)))
    }

    /// The source `key` of the new lock, resolving and fetching it the first time.
    fn source(&mut self, url: &str, reference: &str) -> Result<LockedSource, RemoteError> {
        let key = lock::source_key(url, reference);
        if let Some(source) = self.lock.sources.get(&key) {
            return Ok(source.clone());
        }
        let target = self.moved_to.as_ref().filter(|(name, _)| url.contains(name.as_str())).map(|(_, to)| to.clone());
        let kept = self.old.sources.get(&key).filter(|old| target.is_none() && !(self.renew)(old)).cloned();
        let (commit, tag) = match (target, kept) {
            // `deploy modules diff`: what the ref it compares with names now.
            (Some(to), _) => {
                let (commit, tag) = self.resolve(url, &to).map_err(RemoteError::Unavailable)?;
                (commit, tag.or(Some(to)).filter(|tag| !git::is_commit(tag)))
            }
            (None, Some(old)) => {
                // A tag is not supposed to move: say so when it did (the tag
                // the lock names: the ref itself, or what a range or the
                // version selection picked).
                let tag = old.tag.clone().unwrap_or_else(|| reference.to_string());
                if !git::is_commit(reference) && (old.tag.is_some() || version::Range::parse(reference).is_none()) {
                    let now = self.refs(url).map_err(RemoteError::Unavailable)?.clone();
                    let tagged = now.iter().find(|(name, _)| *name == format!("refs/tags/{tag}"));
                    if let Some((_, commit)) = tagged {
                        if *commit != old.commit {
                            self.moved.insert(key.clone());
                            return Err(RemoteError::Unavailable(format!(
                                "the tag `{tag}` of {url} now points to {commit}, but {LOCK_FILE} says {} \
                                 (someone moved the tag); if that is intended, run `deploy modules update`",
                                old.commit
                            )));
                        }
                    }
                }
                (old.commit, old.tag)
            }
            (None, None) => self.resolve(url, reference).map_err(RemoteError::Unavailable)?,
        };
        let (commit, tag) = self.floors.select(url, reference, commit, tag);
        cache::checkout(url, &commit, false).map_err(RemoteError::Unavailable)?;
        let source = LockedSource {
            url: url.to_string(),
            reference: reference.to_string(),
            commit,
            tag,
            files: Default::default(),
        };
        self.lock.sources.insert(key, source.clone());
        Ok(source)
    }

    /// After a load: whether an import loaded later required a higher
    /// version of a repository than a source resolved earlier used. Then the
    /// new lock is dropped (the floors stay) and the plan must be loaded
    /// again, so every import of that repository and major version uses the
    /// highest required. Floors only rise, so the passes end.
    pub fn next_pass(&mut self) -> bool {
        let stale = self.lock.sources.values().any(|source| self.floors.raises(source));
        if stale {
            self.lock = Lock::default();
            self.moved.clear();
        }
        stale
    }

    fn record(&mut self, source: &LockedSource, path: &str) -> Result<RemoteFile, RemoteError> {
        let checkout = cache::checkout_dir(&source.url, &source.commit);
        let file = file_in(&checkout, path, source)?;
        let hash = cache::file_hash(&file).map_err(RemoteError::Unavailable)?;
        let key = source.key();
        if let Some(entry) = self.lock.sources.get_mut(&key) {
            entry.files.insert(path.to_string(), hash);
        }
        Ok(RemoteFile { path: file, name: display(source, path), source: key, text: None })
    }
}

static EMPTY: Vec<(String, String)> = Vec::new();

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

impl RemoteModules for Fetching {
    fn module(&mut self, import: &RemoteImport) -> Result<RemoteFile, RemoteError> {
        let source = self.source(&import.url, &import.reference)?;
        self.record(&source, &import.path)
    }

    fn relative(&mut self, source: &str, path: &str) -> Result<RemoteFile, RemoteError> {
        let Some(locked) = self.lock.sources.get(source).cloned() else {
            return Err(RemoteError::Unavailable(format!("{source} was not fetched")));
        };
        self.record(&locked, path)
    }
}
