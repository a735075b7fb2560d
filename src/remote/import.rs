//! A remote import as written: `git+URL//PATH@REF`. The URL is what git
//! clones (`https://…`, `ssh://…`, `file://…`, with the `git+` prefix
//! removed), PATH the module's file inside the repository, REF a tag, a
//! branch, a full commit, or a version range over the tags (`v1`, `^1.4`,
//! `~1.4`).

use std::fmt;

/// The prefix that marks an import as a module in another git repository.
pub const PREFIX: &str = "git+";

/// `git+URL//PATH@REF`, taken apart.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RemoteImport {
    /// What git fetches: the text after `git+` up to `//`.
    pub url: String,
    /// The module file inside the repository (no leading `/`, no `..`).
    pub path: String,
    /// The ref as written after `@`.
    pub reference: String,
}

impl RemoteImport {
    /// Whether an import path names a remote module (else it is `std/`, `./` or `DEPLOY_PATH`).
    pub fn is_remote(import_path: &str) -> bool {
        import_path.starts_with(PREFIX)
    }

    /// Takes `git+URL//PATH@REF` apart, or says what is wrong with it.
    pub fn parse(import_path: &str) -> Result<RemoteImport, String> {
        let form = "write `git+URL//PATH@REF`, e.g. `git+https://git.example.com/platform/modules.git//web/service.deploy@v1.4.2`";
        let rest = import_path.strip_prefix(PREFIX).ok_or_else(|| format!("a remote import starts with `{PREFIX}`"))?;
        let scheme_end = rest.find("://").ok_or_else(|| format!("no `://` in the URL; {form}"))?;
        let scheme = &rest[..scheme_end];
        if !matches!(scheme, "https" | "http" | "ssh" | "file" | "git") {
            return Err(format!("`{scheme}` is not a git URL scheme (https, http, ssh, git or file)"));
        }
        let after_scheme = scheme_end + 3;
        let split = rest[after_scheme..]
            .find("//")
            .map(|at| after_scheme + at)
            .ok_or_else(|| format!("no `//` between the repository and the module's path; {form}"))?;
        let url = &rest[..split];
        let path_and_ref = &rest[split + 2..];
        let at = path_and_ref.rfind('@').ok_or_else(|| format!("no `@REF` (a tag, a branch or a commit); {form}"))?;
        let (path, reference) = (&path_and_ref[..at], &path_and_ref[at + 1..]);
        if url.len() <= after_scheme || (scheme != "file" && url[after_scheme..].is_empty()) {
            return Err(format!("the repository URL is empty; {form}"));
        }
        if path.is_empty() {
            return Err(format!("the module's path inside the repository is empty; {form}"));
        }
        if reference.is_empty() {
            return Err(format!("the ref after `@` is empty; {form}"));
        }
        if reference.chars().any(|c| c.is_whitespace() || c.is_control()) || reference.starts_with('-') {
            return Err(format!("`{reference}` is not a ref"));
        }
        check_path(path)?;
        Ok(RemoteImport { url: url.to_string(), path: path.to_string(), reference: reference.to_string() })
    }

    /// The repository and ref, without the path: what the lock keys a resolution by.
    pub fn source(&self) -> String {
        format!("{PREFIX}{}@{}", self.url, self.reference)
    }
}

/// A module path must stay inside its repository: relative, no `..`, no
/// empty or `.` components.
pub fn check_path(path: &str) -> Result<(), String> {
    if path.starts_with('/') {
        return Err(format!("`{path}` is absolute; the path after `//` is inside the repository"));
    }
    for part in path.split('/') {
        match part {
            ".." => return Err(format!("`{path}` leaves its repository (`..`)")),
            "" | "." => return Err(format!("`{path}` has an empty or `.` component")),
            _ if part.chars().any(|c| c.is_control() || c == '\\') => {
                return Err(format!("`{path}` holds a character a module path cannot"))
            }
            _ => {}
        }
    }
    Ok(())
}

impl fmt::Display for RemoteImport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}//{}@{}", self.url, self.path, self.reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_parts_are_found() {
        let import = RemoteImport::parse("git+https://git.example.com/platform/mods.git//web/service.deploy@v1.4.2")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(import.url, "https://git.example.com/platform/mods.git");
        assert_eq!(import.path, "web/service.deploy");
        assert_eq!(import.reference, "v1.4.2");
        let ssh = RemoteImport::parse("git+ssh://git@host:2222/org/repo.git//a.deploy@main")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((ssh.url.as_str(), ssh.path.as_str()), ("ssh://git@host:2222/org/repo.git", "a.deploy"));
        let file =
            RemoteImport::parse("git+file:///srv/git/mods.git//x/y.deploy@^1.4").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((file.url.as_str(), file.reference.as_str()), ("file:///srv/git/mods.git", "^1.4"));
        assert_eq!(file.to_string(), "git+file:///srv/git/mods.git//x/y.deploy@^1.4");
    }

    #[test]
    fn wrong_forms_say_what_is_missing() {
        for (text, wanted) in [
            ("git+https://h/r.git@v1", "no `//`"),
            ("git+https://h/r.git//a.deploy", "no `@REF`"),
            ("git+https://h/r.git//a.deploy@", "empty"),
            ("git+https://h/r.git//../x.deploy@v1", "leaves its repository"),
            ("git+https://h/r.git//a/../../x@v1", "leaves its repository"),
            ("git+ftp://h/r.git//a@v1", "not a git URL scheme"),
            ("git+h/r.git//a@v1", "no `://`"),
            ("git+https://h/r.git//a@-x", "not a ref"),
        ] {
            let error = RemoteImport::parse(text).err().unwrap_or_default();
            assert!(error.contains(wanted), "{text}: {error}");
        }
    }
}
