//! Read-only copies of the embedded modules on disk, for editors: go to
//! definition into `std/nginx` answers a file any editor can open,
//! `$XDG_CACHE_HOME/deploy/std/VERSION/nginx.deploy` (else under
//! `~/.cache`), written on first use, read-only, and rewritten only when
//! it no longer holds the binary's text. Nothing reads these files back:
//! the modules are still the ones inside the binary.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// The directory of this binary's copies.
pub fn copies_dir() -> PathBuf {
    crate::remote::cache::cache_root().join("std").join(env!("CARGO_PKG_VERSION"))
}

/// The read-only copy of the embedded module `import_path` (`std/nginx`),
/// written if it is missing or stale; `None` for no such module or when
/// the cache cannot be written.
pub fn read_only_copy(import_path: &str) -> Option<PathBuf> {
    let name = import_path.strip_suffix(".deploy").unwrap_or(import_path);
    let text = super::module(name)?;
    let file_name = format!("{}.deploy", name.strip_prefix("std/")?);
    let dir = copies_dir();
    let target = dir.join(&file_name);
    if std::fs::read_to_string(&target).is_ok_and(|written| written == text) {
        return Some(target);
    }
    std::fs::create_dir_all(&dir).ok()?;
    // Written beside it and renamed: a reader never sees half a module.
    let partial = dir.join(format!(".{file_name}.{}", std::process::id()));
    let written = std::fs::write(&partial, text)
        .and_then(|()| std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o444)))
        .and_then(|()| std::fs::rename(&partial, &target));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
        return None;
    }
    Some(target)
}
