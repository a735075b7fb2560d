//! `upload` on this machine: the tree is copied beside the target under a
//! temporary name, then renamed over it, so a reader never sees half a
//! file. Modes and symbolic links are kept.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::UploadSpec;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Copies `spec.source()` to `spec.target()` (relative to `spec.cwd`).
pub fn copy(spec: &UploadSpec) -> Result<(), String> {
    let source = spec.source();
    let target = spec.cwd.join(spec.target());
    fs::symlink_metadata(&source).map_err(|error| format!("cannot read {}: {error}", source.display()))?;
    let staging = staging_path(&target)?;
    let result = copy_tree(&source, &staging).and_then(|()| replace(&staging, &target));
    if result.is_err() {
        let _ = remove(&staging);
    }
    result
}

/// `.NAME.deploy-upload-PID-N` beside `target` (its directory is created).
pub fn staging_path(target: &Path) -> Result<PathBuf, String> {
    let name = target.file_name().ok_or_else(|| format!("{} does not name a file", target.display()))?;
    let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
    let unique = NEXT.fetch_add(1, Ordering::Relaxed);
    Ok(parent.join(format!(".{}.deploy-upload-{}-{unique}", name.to_string_lossy(), std::process::id())))
}

fn copy_tree(source: &Path, target: &Path) -> Result<(), String> {
    let meta = fs::symlink_metadata(source).map_err(|error| format!("cannot read {}: {error}", source.display()))?;
    let fail = |error: std::io::Error| format!("cannot copy {} to {}: {error}", source.display(), target.display());
    if meta.file_type().is_symlink() {
        let link = fs::read_link(source).map_err(fail)?;
        return symlink(link, target).map_err(fail);
    }
    if meta.is_dir() {
        fs::create_dir(target).map_err(fail)?;
        let mut entries: Vec<_> = fs::read_dir(source).map_err(fail)?.filter_map(Result::ok).collect();
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            copy_tree(&entry.path(), &target.join(entry.file_name()))?;
        }
        return fs::set_permissions(target, fs::Permissions::from_mode(meta.permissions().mode())).map_err(fail);
    }
    fs::copy(source, target).map_err(fail)?;
    fs::set_permissions(target, fs::Permissions::from_mode(meta.permissions().mode())).map_err(fail)
}

/// Renames `staging` over `target`; a directory target is moved aside
/// first (a rename cannot replace a non-empty directory) and removed after.
fn replace(staging: &Path, target: &Path) -> Result<(), String> {
    let fail = |error: std::io::Error| format!("cannot move {} into place: {error}", target.display());
    let existing = fs::symlink_metadata(target).ok();
    if existing.as_ref().is_some_and(|meta| meta.is_dir()) {
        let aside = PathBuf::from(format!("{}.old", staging.display()));
        fs::rename(target, &aside).map_err(fail)?;
        if let Err(error) = fs::rename(staging, target) {
            let _ = fs::rename(&aside, target);
            return Err(fail(error));
        }
        return remove(&aside).map_err(fail);
    }
    fs::rename(staging, target).map_err(fail)
}

fn remove(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_a_tree_with_modes_and_replaces_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("dist");
        fs::create_dir_all(src.join("bin")).unwrap();
        fs::write(src.join("bin/run"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(src.join("bin/run"), fs::Permissions::from_mode(0o750)).unwrap();
        fs::write(src.join("README"), "hi").unwrap();
        fs::create_dir_all(dir.path().join("out/app")).unwrap();
        fs::write(dir.path().join("out/app/stale"), "old").unwrap();
        let spec = UploadSpec {
            local: "dist".into(),
            remote: "out/app".into(),
            cwd: dir.path().to_path_buf(),
            become_root: None,
        };
        copy(&spec).unwrap();
        let mode = fs::metadata(dir.path().join("out/app/bin/run")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o750);
        assert!(!dir.path().join("out/app/stale").exists());
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("out")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
        let spec = UploadSpec {
            local: "dist/README".into(),
            remote: "out/".into(),
            cwd: dir.path().to_path_buf(),
            become_root: None,
        };
        copy(&spec).unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("out/README")).unwrap(), "hi");
        let missing =
            UploadSpec { local: "nope".into(), remote: "x".into(), cwd: dir.path().to_path_buf(), become_root: None };
        assert!(copy(&missing).unwrap_err().contains("cannot read"));
    }
}
