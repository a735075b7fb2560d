//! `semver::compare(a, b)`: semantic version precedence.

use super::at_call;
use rhai::{EvalAltResult, FuncRegistration, ImmutableString, Module, NativeCallContext, INT};
use std::cmp::Ordering;

pub(crate) fn module() -> Module {
    let mut module = Module::new();
    FuncRegistration::new("compare")
        .set_into_module(&mut module, |ctx: NativeCallContext, a: ImmutableString, b: ImmutableString| {
            compare(&a, &b).map_err(|e| at_call(&ctx, e))
        });
    module
}

/// `semver::compare(a, b)`: -1 when a < b, 0 when equal, 1 when a > b.
///
/// Versions are `MAJOR.MINOR.PATCH` with an optional leading `v`, an optional pre-release
/// (`-rc.1`, which sorts before the release) and optional build metadata (`+build.5`, ignored).
fn compare(a: &str, b: &str) -> Result<INT, Box<EvalAltResult>> {
    let left = Version::parse(a).map_err(|e| format!("semver::compare: {e}"))?;
    let right = Version::parse(b).map_err(|e| format!("semver::compare: {e}"))?;
    Ok(match left.cmp(&right) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    })
}

#[derive(Debug, PartialEq, Eq)]
struct Version<'a> {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<Identifier<'a>>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Identifier<'a> {
    // Declared first: numeric identifiers sort before alphanumeric ones.
    Numeric(u64),
    Alpha(&'a str),
}

impl<'a> Version<'a> {
    fn parse(text: &'a str) -> Result<Version<'a>, String> {
        let invalid = |why: &str| format!("invalid version {text:?}: {why}");
        let trimmed = text.trim();
        let rest = trimmed.strip_prefix('v').or_else(|| trimmed.strip_prefix('V')).unwrap_or(trimmed);
        let rest = match rest.split_once('+') {
            Some((version, build)) => {
                if build.is_empty() || !build.split('.').all(valid_identifier) {
                    return Err(invalid("malformed build metadata"));
                }
                version
            }
            None => rest,
        };
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (rest, None),
        };
        let mut numbers = core.split('.');
        let mut number = |name: &str| -> Result<u64, String> {
            let part = numbers.next().ok_or_else(|| invalid(&format!("missing {name} number")))?;
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(&format!("{name} must be a number")));
            }
            part.parse().map_err(|_| invalid(&format!("{name} is too large")))
        };
        let major = number("major")?;
        let minor = number("minor")?;
        let patch = number("patch")?;
        if numbers.next().is_some() {
            return Err(invalid("expected MAJOR.MINOR.PATCH"));
        }
        let pre = match pre {
            None => Vec::new(),
            Some(pre) => pre
                .split('.')
                .map(|id| {
                    if !valid_identifier(id) {
                        Err(invalid("malformed pre-release"))
                    } else if id.bytes().all(|b| b.is_ascii_digit()) {
                        id.parse().map(Identifier::Numeric).map_err(|_| invalid("pre-release number too large"))
                    } else {
                        Ok(Identifier::Alpha(id))
                    }
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Version { major, minor, patch, pre })
    }
}

fn valid_identifier(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Ord for Version<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch)).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                // A pre-release sorts before its release.
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                // Identifier by identifier; a shorter prefix sorts first.
                (false, false) => self.pre.cmp(&other.pre),
            }
        })
    }
}

impl PartialOrd for Version<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{compile, null_sink, Sandbox, ScriptLimits, ScriptOutcome, ScriptVariables};

    fn cmp(a: &str, b: &str) -> Result<INT, String> {
        compare(a, b).map_err(|e| e.to_string())
    }

    #[test]
    fn precedence() {
        assert_eq!(cmp("1.2.3", "1.2.3"), Ok(0));
        assert_eq!(cmp("v1.2.3", "1.2.3"), Ok(0));
        assert_eq!(cmp("1.2.3", "1.10.0"), Ok(-1));
        assert_eq!(cmp("2.0.0", "1.99.99"), Ok(1));
        assert_eq!(cmp("1.0.0-rc.1", "1.0.0"), Ok(-1));
        assert_eq!(cmp("1.0.0", "1.0.0-rc.1"), Ok(1));
        assert_eq!(cmp("1.0.0+build.1", "1.0.0+build.2"), Ok(0));
        // The semver.org example chain.
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for pair in chain.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Ok(-1), "{} < {}", pair[0], pair[1]);
            assert_eq!(cmp(pair[1], pair[0]), Ok(1), "{} > {}", pair[1], pair[0]);
        }
    }

    #[test]
    fn invalid_versions() {
        for bad in ["", "1", "1.2", "1.2.3.4", "a.b.c", "1.2.x", "1.2.3-", "1.2.3-a..b", "1.2.3+", "v", "1.-2.3"] {
            let err = cmp(bad, "1.0.0");
            assert!(err.is_err(), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn from_a_script() {
        let sb = Sandbox::new(ScriptLimits::default(), null_sink());
        let mut ctx = ScriptVariables::new();
        ctx.set_str("version", "v2.1.0");
        ctx.set_str("previous_version", "2.0.9");
        let ast = compile("semver::compare(version, previous_version) > 0").expect("compiles");
        assert_eq!(sb.check(&ast, &ctx), ScriptOutcome::Pass);
        let ast = compile("semver::compare(version, \"nope\") > 0").expect("compiles");
        match sb.check(&ast, &ctx) {
            ScriptOutcome::Error(e) => assert!(e.message.contains("invalid version \"nope\""), "{}", e.message),
            other => panic!("{other:?}"),
        }
    }
}
