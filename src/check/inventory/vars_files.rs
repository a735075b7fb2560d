//! `group_vars/` and `host_vars/` beside the inventory, as Ansible lays
//! them out: `group_vars/web.yml` (or `web.yaml`, `web.json`, `web` with
//! no extension), or a directory `group_vars/web/` whose files are read in
//! name order, later files winning.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{yaml, Var};

const EXTENSIONS: &[&str] = &["", ".yml", ".yaml", ".json"];

/// The variable files of one inventory directory, each read once.
pub struct VarsFiles {
    dir: PathBuf,
    read: RefCell<BTreeMap<PathBuf, Vec<Var>>>,
}

impl VarsFiles {
    pub fn new(dir: &Path) -> VarsFiles {
        VarsFiles { dir: dir.to_path_buf(), read: RefCell::new(BTreeMap::new()) }
    }

    /// `group_vars/GROUP*`.
    pub fn group(&self, group: &str) -> Result<Vec<Var>, String> {
        self.vars(&self.dir.join("group_vars"), group)
    }

    /// `host_vars/HOST*`.
    pub fn host(&self, host: &str) -> Result<Vec<Var>, String> {
        self.vars(&self.dir.join("host_vars"), host)
    }

    fn vars(&self, folder: &Path, name: &str) -> Result<Vec<Var>, String> {
        if !folder.is_dir() || name.contains('/') || name.starts_with('.') {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for extension in EXTENSIONS {
            let path = folder.join(format!("{name}{extension}"));
            if path.is_file() {
                out.extend(self.file(&path)?);
            } else if extension.is_empty() && path.is_dir() {
                let mut inside: Vec<PathBuf> = std::fs::read_dir(&path)
                    .map_err(|error| format!("cannot read {}: {error}", path.display()))?
                    .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                    .filter(|p| {
                        p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml" | "json"))
                    })
                    .collect();
                inside.sort();
                for file in inside {
                    out.extend(self.file(&file)?);
                }
            }
        }
        Ok(out)
    }

    fn file(&self, path: &Path) -> Result<Vec<Var>, String> {
        if let Some(known) = self.read.borrow().get(path) {
            return Ok(known.clone());
        }
        let text = crate::check::loader::read_to_string_limited(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let vars = yaml::vars_file(&text).map_err(|problem| format!("{}: {problem}", path.display()))?;
        self.read.borrow_mut().insert(path.to_path_buf(), vars.clone());
        Ok(vars)
    }
}
