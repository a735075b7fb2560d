//! `deploy.lock`, beside the plan: for every repository a remote import
//! names, the URL, the ref as written, the commit it resolved to (and the tag
//! a version range picked) and the sha256 of every module file used. One
//! file, stable order, reviewable in a pull request:
//!
//! ```text
//! # deploy.lock: ...
//! git+https://git.example.com/platform/mods.git@v1.4.2 = 3f2a…(40 hex)
//!   sha256:9b1c…  web/service.deploy
//! git+https://git.example.com/platform/mods.git@^1.4 = 77aa… (v1.10.1)
//!   sha256:…  web/worker.deploy
//! ```
//!
//! `check`, `plan` and `run` only read it; `deploy modules fetch` and
//! `deploy modules update` write it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::import::PREFIX;

/// The lock file's name, beside the plan.
pub const LOCK_FILE: &str = "deploy.lock";

const HEADER: &str = "# deploy.lock: the remote modules of this plan, written by `deploy modules fetch`.
# Commit it: check, plan and run use exactly these commits and refuse a module
# file whose sha256 differs. `deploy modules update PLAN [NAME]` moves refs on.
";

/// One repository at one ref.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedSource {
    pub url: String,
    /// The ref as the imports write it.
    pub reference: String,
    /// The full commit it resolved to.
    pub commit: String,
    /// The tag a version range picked.
    pub tag: Option<String>,
    /// Module path in the repository → `sha256:HEX`.
    pub files: BTreeMap<String, String>,
}

impl LockedSource {
    /// `git+URL@REF`: how the lock names it.
    pub fn key(&self) -> String {
        source_key(&self.url, &self.reference)
    }

    /// Whether it uses a higher version than its own ref names: the
    /// version selection raised it (`super::selection`). A range is raised
    /// when its tag is outside it; an exact version tag when the lock names
    /// another tag.
    pub fn raised(&self) -> bool {
        let Some(tag) = self.tag.as_deref() else { return false };
        match super::version::Range::parse(&self.reference) {
            Some(range) => super::version::tag_version(tag).is_some_and(|version| !range.contains(version)),
            None => super::version::tag_version(&self.reference).is_some() && tag != self.reference,
        }
    }
}

/// `git+URL@REF`.
pub fn source_key(url: &str, reference: &str) -> String {
    format!("{PREFIX}{url}@{reference}")
}

/// What `deploy.lock` holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lock {
    pub sources: BTreeMap<String, LockedSource>,
}

/// Where the lock of the plan at `plan` is.
pub fn lock_path(plan: &Path) -> PathBuf {
    plan.parent().unwrap_or(Path::new("")).join(LOCK_FILE)
}

impl Lock {
    /// The lock beside `plan`: empty when there is none; an error naming
    /// the line when it cannot be read.
    pub fn read_beside(plan: &Path) -> Result<Lock, String> {
        let path = lock_path(plan);
        match std::fs::metadata(&path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Lock::default()),
            Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
            Ok(meta) if !meta.is_file() => return Err(format!("{} is not a file", path.display())),
            Ok(meta) if meta.len() > 16 * 1024 * 1024 => {
                return Err(format!("{} is larger than 16 MiB", path.display()))
            }
            Ok(_) => {}
        }
        let text =
            std::fs::read_to_string(&path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        Lock::parse(&text).map_err(|error| format!("{}: {error}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Lock, String> {
        let mut lock = Lock::default();
        let mut current: Option<String> = None;
        for (number, line) in text.lines().enumerate() {
            let number = number + 1;
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if line.starts_with(char::is_whitespace) {
                let key = current.as_ref().ok_or_else(|| format!("line {number}: a file before any source"))?;
                let (hash, path) = trimmed
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| format!("line {number}: expected `sha256:HEX  PATH`"))?;
                let hex = hash.strip_prefix("sha256:").unwrap_or("");
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("line {number}: `{hash}` is not `sha256:` and 64 hex digits"));
                }
                let path = path.trim();
                super::import::check_path(path).map_err(|error| format!("line {number}: {error}"))?;
                if let Some(source) = lock.sources.get_mut(key) {
                    source.files.insert(path.to_string(), hash.to_ascii_lowercase());
                }
                continue;
            }
            let (key, resolved) =
                trimmed.split_once(" = ").ok_or_else(|| format!("line {number}: expected `git+URL@REF = COMMIT`"))?;
            let rest =
                key.strip_prefix(PREFIX).ok_or_else(|| format!("line {number}: a source starts with `{PREFIX}`"))?;
            let at = rest.rfind('@').ok_or_else(|| format!("line {number}: no `@REF` in `{key}`"))?;
            let (url, reference) = (&rest[..at], &rest[at + 1..]);
            let mut words = resolved.split_whitespace();
            let commit = words.next().unwrap_or("");
            if commit.len() != 40 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("line {number}: `{commit}` is not a full commit (40 hex digits)"));
            }
            let tag = match words.next() {
                Some(word) if word.starts_with('(') && word.ends_with(')') && word.len() > 2 => {
                    Some(word[1..word.len() - 1].to_string())
                }
                Some(word) => return Err(format!("line {number}: unexpected `{word}` after the commit")),
                None => None,
            };
            if url.is_empty() || reference.is_empty() {
                return Err(format!("line {number}: `{key}` needs a URL and a ref"));
            }
            let source = LockedSource {
                url: url.to_string(),
                reference: reference.to_string(),
                commit: commit.to_ascii_lowercase(),
                tag,
                files: BTreeMap::new(),
            };
            if lock.sources.insert(key.to_string(), source).is_some() {
                return Err(format!("line {number}: `{key}` is locked twice"));
            }
            current = Some(key.to_string());
        }
        Ok(lock)
    }

    /// The lock's text: sources and files sorted, so a change is one line.
    pub fn render(&self) -> String {
        let mut out = String::from(HEADER);
        for source in self.sources.values() {
            out.push('\n');
            if let (true, Some(tag)) = (source.raised(), &source.tag) {
                out.push_str(&format!(
                    "# `{}` is raised to {tag}, the highest version of the repository required \
                     (`deploy modules why {}`)\n",
                    source.reference, source.url
                ));
            }
            out.push_str(&source.key());
            out.push_str(" = ");
            out.push_str(&source.commit);
            if let Some(tag) = &source.tag {
                out.push_str(&format!(" ({tag})"));
            }
            out.push('\n');
            for (path, hash) in &source.files {
                out.push_str(&format!("  {hash}  {path}\n"));
            }
        }
        out
    }

    /// Writes the lock beside `plan` atomically (a temporary file renamed).
    pub fn write_beside(&self, plan: &Path) -> Result<PathBuf, String> {
        let path = lock_path(plan);
        let temporary = path.with_file_name(format!(".{LOCK_FILE}.{}", std::process::id()));
        std::fs::write(&temporary, self.render()).and_then(|()| std::fs::rename(&temporary, &path)).map_err(
            |error| {
                let _ = std::fs::remove_file(&temporary);
                format!("cannot write {}: {error}", path.display())
            },
        )?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Lock {
        let mut files = BTreeMap::new();
        files.insert("web/service.deploy".to_string(), format!("sha256:{}", "a".repeat(64)));
        let source = LockedSource {
            url: "https://h/mods.git".into(),
            reference: "^1.4".into(),
            commit: "b".repeat(40),
            tag: Some("v1.10.1".into()),
            files,
        };
        Lock { sources: [(source.key(), source)].into_iter().collect() }
    }

    #[test]
    fn a_lock_reads_back_what_it_wrote() {
        let lock = sample();
        let text = lock.render();
        assert!(text.contains(&format!("git+https://h/mods.git@^1.4 = {} (v1.10.1)\n", "b".repeat(40))), "{text}");
        assert_eq!(Lock::parse(&text), Ok(lock));
    }

    #[test]
    fn a_damaged_lock_names_the_line() {
        for (text, wanted) in [
            ("git+https://h/r.git@v1 = abc\n", "line 1: `abc` is not a full commit"),
            ("  sha256:00  a.deploy\n", "line 1: a file before any source"),
            ("https://h/r.git@v1 = x\n", "line 1: a source starts with `git+`"),
            (
                &format!("git+https://h/r.git@v1 = {}\n  sha256:{}  ../x\n", "c".repeat(40), "d".repeat(64)),
                "leaves its repository",
            ),
            (&format!("git+https://h/r.git@v1 = {}\n  md5:x  a\n", "c".repeat(40)), "line 2"),
        ] {
            let error = Lock::parse(text).err().unwrap_or_default();
            assert!(error.contains(wanted), "{text:?}: {error}");
        }
    }
}
