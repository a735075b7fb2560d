//! One version per repository and major version: when imports of one
//! repository ask for different versions (`@v1.4.2` here, `@^1.4` in a
//! module it imports), every one of them gets the highest version required,
//! as Go's minimal version selection does. A ref asks for a version when it
//! is a version tag (`v1.4.2`) or a range (`@v1`, `@^1.4`: the tag it picks);
//! a branch or a commit is not a version and stays as written. Different
//! major versions are different modules and are not unified: `@v1` and
//! `@v2` of one repository are used side by side.

use std::collections::HashMap;

use super::lock::LockedSource;
use super::version::{tag_version, Version};

/// The tag and version a ref resolved to, if it names a version: the tag a
/// range (or the selection) picked, else the ref itself when it is a
/// version tag.
pub fn version_of(reference: &str, tag: Option<&str>) -> Option<(Version, String)> {
    let name = tag.unwrap_or(reference);
    tag_version(name).map(|version| (version, name.to_string()))
}

/// The highest version required so far, per repository URL and major version.
#[derive(Debug, Default)]
pub struct Floors {
    highest: HashMap<(String, u64), Floor>,
}

#[derive(Clone, Debug)]
struct Floor {
    version: Version,
    commit: String,
    tag: String,
}

impl Floors {
    /// `reference` of `url` resolved to `commit` (and `tag`): what to use.
    /// A version below the highest required so far (same repository and
    /// major version) gets that; a higher one becomes the highest.
    pub fn select(
        &mut self,
        url: &str,
        reference: &str,
        commit: String,
        tag: Option<String>,
    ) -> (String, Option<String>) {
        let Some((version, name)) = version_of(reference, tag.as_deref()) else { return (commit, tag) };
        let key = (url.to_string(), version.0);
        match self.highest.get(&key) {
            Some(floor) if floor.version > version => {
                let tag = Some(floor.tag.clone());
                (floor.commit.clone(), tag)
            }
            Some(floor) if floor.version == version => (commit, tag),
            _ => {
                self.highest.insert(key, Floor { version, commit: commit.clone(), tag: name });
                (commit, tag)
            }
        }
    }

    /// Whether `source` uses a lower version than the highest now required
    /// of its repository and major version.
    pub fn raises(&self, source: &LockedSource) -> bool {
        let Some((version, _)) = version_of(&source.reference, source.tag.as_deref()) else { return false };
        self.highest.get(&(source.url.clone(), version.0)).is_some_and(|floor| floor.version > version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(reference: &str, tag: Option<&str>) -> LockedSource {
        LockedSource {
            url: "u".into(),
            reference: reference.into(),
            commit: "c".repeat(40),
            tag: tag.map(str::to_string),
            files: Default::default(),
        }
    }

    #[test]
    fn the_highest_version_of_a_major_wins_and_other_majors_stay() {
        let mut floors = Floors::default();
        let a = floors.select("u", "v1.0.0", "a".into(), None);
        assert_eq!(a, ("a".to_string(), None), "the first one is its own");
        let b = floors.select("u", "^1.0", "b".into(), Some("v1.1.0".into()));
        assert_eq!(b, ("b".to_string(), Some("v1.1.0".into())));
        let again = floors.select("u", "v1.0.0", "a".into(), None);
        assert_eq!(again, ("b".to_string(), Some("v1.1.0".into())), "raised to the highest required");
        assert!(floors.raises(&source("v1.0.0", None)));
        assert!(!floors.raises(&source("v1.0.0", Some("v1.1.0"))));
        let two = floors.select("u", "v2.0.0", "d".into(), None);
        assert_eq!(two, ("d".to_string(), None), "another major version is another module");
        let other = floors.select("other", "v1.0.0", "e".into(), None);
        assert_eq!(other, ("e".to_string(), None), "another repository");
        let branch = floors.select("u", "main", "f".into(), None);
        assert_eq!(branch, ("f".to_string(), None), "a branch is not a version");
    }

    #[test]
    fn raised_entries_are_told_apart() {
        assert!(source("v1.0.0", Some("v1.1.0")).raised());
        assert!(source("~1.0", Some("v1.1.0")).raised());
        assert!(!source("^1.0", Some("v1.1.0")).raised());
        assert!(!source("v1.0.0", None).raised());
        assert!(!source("main", None).raised());
    }
}
