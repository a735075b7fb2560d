//! The module cache, shared by every plan of the user:
//! `$XDG_CACHE_HOME/deploy/` (else `~/.cache/deploy/`) holds a bare mirror
//! of each repository (`git/KEY.git`) and, for each commit a lock names, its
//! files (`modules/KEY/COMMIT/`, read-only). KEY is made from the URL. A
//! commit's directory appears whole or not at all (unpacked beside it and
//! renamed), and fetches of one repository take turns (a lock file), so two
//! `deploy` processes can fill the cache at once.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::git;

/// Where the cache is.
pub fn cache_root() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").filter(|home| !home.is_empty()).map(|home| PathBuf::from(home).join(".cache"))
        })
        .unwrap_or_else(|| std::env::temp_dir().join(format!("deploy-cache-{}", unsafe_uid())));
    base.join("deploy")
}

fn unsafe_uid() -> u32 {
    // SAFETY: getuid cannot fail and has no preconditions.
    unsafe { libc::getuid() }
}

/// The directory of unpacked commits.
pub fn modules_root() -> PathBuf {
    cache_root().join("modules")
}

/// A short, readable, collision-free name for a repository URL.
pub fn repository_key(url: &str) -> String {
    let digest = hex(&Sha256::digest(url.as_bytes()));
    let tail = url.trim_end_matches('/').rsplit(['/', ':']).next().unwrap_or("");
    let tail: String = tail
        .trim_end_matches(".git")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(40)
        .collect();
    format!("{}-{}", tail.trim_start_matches('.'), &digest[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `sha256:HEX` of a file's bytes.
pub fn file_hash(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    Ok(bytes_hash(&bytes))
}

/// `sha256:HEX` of `bytes`.
pub fn bytes_hash(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// The directory the files of `commit` of `url` are unpacked in (it may not exist yet).
pub fn checkout_dir(url: &str, commit: &str) -> PathBuf {
    modules_root().join(repository_key(url)).join(commit)
}

/// The checkout directory a cached file belongs to, if it is one.
pub fn checkout_of(path: &Path) -> Option<PathBuf> {
    let root = modules_root();
    let relative = path.strip_prefix(&root).ok()?;
    let mut parts = relative.components();
    let key = parts.next()?;
    let commit = parts.next()?;
    Some(root.join(key).join(commit))
}

/// The files of `commit` of `url`, fetched and unpacked unless the cache
/// has them; `offline`: never fetch (a miss is an error).
pub fn checkout(url: &str, commit: &str, offline: bool) -> Result<PathBuf, String> {
    let dir = checkout_dir(url, commit);
    if dir.is_dir() {
        return Ok(dir);
    }
    if offline {
        return Err(format!(
            "commit {commit} of {url} is not in the module cache ({}) and deploy is offline",
            cache_root().display()
        ));
    }
    let key = repository_key(url);
    let git_dir = cache_root().join("git");
    std::fs::create_dir_all(&git_dir).map_err(|error| format!("cannot create {}: {error}", git_dir.display()))?;
    let _turn = Turn::take(&git_dir.join(format!("{key}.lock")))?;
    if dir.is_dir() {
        return Ok(dir);
    }
    let mirror = git_dir.join(format!("{key}.git"));
    git::fetch_commit(&mirror, url, commit)?;
    let parent = dir.parent().map(Path::to_path_buf).unwrap_or_else(modules_root);
    std::fs::create_dir_all(&parent).map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
    let unpacking = parent.join(format!(".unpacking-{commit}-{}", std::process::id()));
    discard(&unpacking);
    std::fs::create_dir_all(&unpacking).map_err(|error| format!("cannot create {}: {error}", unpacking.display()))?;
    let unpacked = git::extract(&mirror, commit, &unpacking).and_then(|()| read_only(&unpacking));
    if let Err(error) = unpacked {
        discard(&unpacking);
        return Err(error);
    }
    if std::fs::rename(&unpacking, &dir).is_err() {
        // Another process finished first: its copy is the same commit.
        discard(&unpacking);
        if !dir.is_dir() {
            return Err(format!("cannot place {} in the module cache", dir.display()));
        }
    }
    Ok(dir)
}

/// A cold repository's bare mirror, cloned whole (one `git fetch` of its
/// branches and tags), so the commits a plan uses of it are then unpacked
/// without asking the server again. A repository already mirrored is left
/// as it is (a commit it lacks is fetched by [`checkout`]).
pub fn mirror(url: &str) -> Result<(), String> {
    let git_dir = cache_root().join("git");
    let mirror = git_dir.join(format!("{}.git", repository_key(url)));
    if mirror.join("HEAD").is_file() {
        return Ok(());
    }
    std::fs::create_dir_all(&git_dir).map_err(|error| format!("cannot create {}: {error}", git_dir.display()))?;
    let _turn = Turn::take(&git_dir.join(format!("{}.lock", repository_key(url))))?;
    if mirror.join("HEAD").is_file() {
        return Ok(());
    }
    let fetched = git::fetch_all(&mirror, url);
    if fetched.is_err() {
        // Nothing half-made: the next fetch starts again.
        discard(&mirror);
    }
    fetched
}

/// The commits of each repository (`(url, commits)`) that the cache lacks,
/// fetched and unpacked, several repositories at once (each repository's
/// commits in turn, so it is fetched once). Errors are left for the
/// sequential [`checkout`] that follows to report where they matter.
pub fn fill(wanted: Vec<(String, Vec<String>)>) {
    let missing: Vec<(String, Vec<String>)> = wanted
        .into_iter()
        .map(|(url, commits)| {
            let commits: Vec<String> = commits.into_iter().filter(|c| !checkout_dir(&url, c).is_dir()).collect();
            (url, commits)
        })
        .filter(|(_, commits)| !commits.is_empty())
        .collect();
    if missing.len() < 2 {
        return;
    }
    super::parallel(missing, |(url, commits)| {
        for commit in commits {
            let _ = checkout(&url, &commit, false);
        }
    });
}

/// Removes a directory of the cache (made writable first); quietly, as it may not exist.
pub fn discard(dir: &Path) {
    fn writable(path: &Path) {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if meta.is_dir() {
                let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
                if let Ok(entries) = std::fs::read_dir(path) {
                    for entry in entries.flatten() {
                        writable(&entry.path());
                    }
                }
            }
        }
    }
    writable(dir);
    let _ = std::fs::remove_dir_all(dir);
}

/// Files 0444, directories 0555: nothing edits the cache by accident.
fn read_only(dir: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|error| format!("cannot read {}: {error}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.is_dir() {
            read_only(&path)?;
        } else if meta.is_file() {
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444));
        }
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555))
        .map_err(|error| format!("cannot protect {}: {error}", dir.display()))
}

/// An exclusive `flock` on a file, released when dropped.
struct Turn(File);

impl Turn {
    fn take(path: &Path) -> Result<Turn, String> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
        use std::os::fd::AsRawFd;
        // SAFETY: the descriptor is open for the life of `file`.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if locked != 0 {
            return Err(format!("cannot lock {}: {}", path.display(), std::io::Error::last_os_error()));
        }
        Ok(Turn(file))
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as in `take`.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_keys_are_readable_and_distinct() {
        let a = repository_key("https://git.example.com/platform/deploy-modules.git");
        let b = repository_key("https://mirror.example.com/platform/deploy-modules.git");
        assert!(a.starts_with("deploy-modules-"), "{a}");
        assert_ne!(a, b);
        assert!(repository_key("file:///srv/../..").chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
    }
}
