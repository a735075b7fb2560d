//! Version ranges over a repository's tags: `@v1` (the highest `v1.x.y`),
//! `@v1.4` (the highest `v1.4.y`), `@^1.4` (at least 1.4.0, below 2.0.0),
//! `@~1.4` (at least 1.4.0, below 1.5.0). Tags are `vMAJOR.MINOR.PATCH` or
//! `MAJOR.MINOR.PATCH`; a pre-release tag (`v2.0.0-rc.1`) is never picked by
//! a range. A full version (`v1.4.2`) is an exact tag, not a range.

/// `MAJOR.MINOR.PATCH`.
pub type Version = (u64, u64, u64);

/// The version a tag names, if it is `v1.2.3` or `1.2.3`.
pub fn tag_version(tag: &str) -> Option<Version> {
    let digits = tag.strip_prefix('v').unwrap_or(tag);
    let mut parts = digits.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((major, minor, patch))
}

/// A range of versions, as a ref may name one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    lowest: Version,
    /// Exclusive.
    below: Version,
}

impl Range {
    /// The range a ref names, or `None` when it is a plain ref (a tag, a
    /// branch, a commit).
    pub fn parse(reference: &str) -> Option<Range> {
        let (caret, tilde, rest) = match reference.chars().next()? {
            '^' => (true, false, &reference[1..]),
            '~' => (false, true, &reference[1..]),
            _ => (false, false, reference),
        };
        let digits = rest.strip_prefix('v').unwrap_or(rest);
        if !(caret || tilde || rest.starts_with('v')) {
            return None;
        }
        let numbers: Vec<u64> = digits.split('.').map(|part| part.parse().ok()).collect::<Option<_>>()?;
        let at = |index: usize| numbers.get(index).copied().unwrap_or(0);
        let lowest = (at(0), at(1), at(2));
        let below = match (caret, tilde, numbers.len()) {
            // `^0.3` stays below 0.4, as Cargo's caret does.
            (true, _, _) if lowest.0 == 0 => (0, lowest.1 + 1, 0),
            (true, _, _) => (lowest.0 + 1, 0, 0),
            (_, true, 1) => (lowest.0 + 1, 0, 0),
            (_, true, _) => (lowest.0, lowest.1 + 1, 0),
            // `v1` and `v1.4`: every version that starts so.
            (false, false, 1) => (lowest.0 + 1, 0, 0),
            (false, false, 2) => (lowest.0, lowest.1 + 1, 0),
            // `v1.4.2` is an exact tag.
            _ => return None,
        };
        Some(Range { lowest, below })
    }

    pub fn contains(&self, version: Version) -> bool {
        version >= self.lowest && version < self.below
    }

    /// The tag of the highest version in the range, of `tags`.
    pub fn highest<'a>(&self, tags: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
        tags.into_iter()
            .filter_map(|tag| tag_version(tag).filter(|version| self.contains(*version)).map(|version| (version, tag)))
            .max()
            .map(|(_, tag)| tag)
    }
}

/// The highest version tag of `tags` above `current` (for `--outdated`).
pub fn newer<'a>(current: &str, tags: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let current = tag_version(current)?;
    tags.into_iter()
        .filter_map(|tag| tag_version(tag).filter(|version| *version > current).map(|version| (version, tag)))
        .max()
        .map(|(_, tag)| tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAGS: &[&str] =
        &["v1.0.0", "v1.4.0", "v1.4.2", "v1.10.1", "v2.0.0", "v2.1.0-rc.1", "nightly", "0.3.1", "0.4.0"];

    #[test]
    fn ranges_pick_the_highest_tag_inside() {
        let pick = |reference: &str| Range::parse(reference).and_then(|range| range.highest(TAGS.iter().copied()));
        assert_eq!(pick("v1"), Some("v1.10.1"));
        assert_eq!(pick("v1.4"), Some("v1.4.2"));
        assert_eq!(pick("^1.4"), Some("v1.10.1"));
        assert_eq!(pick("~1.4"), Some("v1.4.2"));
        assert_eq!(pick("v2"), Some("v2.0.0"), "a pre-release is never picked");
        assert_eq!(pick("^0.3"), Some("0.3.1"));
        assert_eq!(pick("v3"), None);
        assert_eq!(Range::parse("v1.4.2"), None, "a full version is an exact tag");
        assert_eq!(Range::parse("main"), None);
        assert_eq!(Range::parse("0123abc"), None);
    }

    #[test]
    fn newer_finds_a_higher_version() {
        assert_eq!(newer("v1.4.2", TAGS.iter().copied()), Some("v2.0.0"));
        assert_eq!(newer("v2.0.0", TAGS.iter().copied()), None);
        assert_eq!(newer("main", TAGS.iter().copied()), None);
    }
}
