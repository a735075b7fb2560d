//! Which key exchange the ControlMaster asks for first. OpenSSH 9.x offers
//! the post-quantum hybrid `sntrup761x25519-sha512` first; its key
//! generation costs the client about 90 ms of CPU per handshake (measured
//! on OpenSSH 9.2), against about 2 ms for `curve25519-sha256`, and a run
//! opens one connection per host. When the client configuration leaves
//! `KexAlgorithms` at OpenSSH's built-in default, the same algorithms are
//! offered with `curve25519-sha256` moved first. A list the user (or the
//! system's crypto policy) set is passed on untouched.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;

use tokio::sync::OnceCell;

/// Moved to the front of an unchanged default list, in this order.
const PREFERRED: [&str; 2] = ["curve25519-sha256", "curve25519-sha256@libssh.org"];

/// `DEPLOY_SSH_KEX=default` keeps OpenSSH's own order.
const OPT_OUT: &str = "DEPLOY_SSH_KEX";

/// OpenSSH's built-in list: what `ssh -G` says with no configuration file.
static BUILT_IN: OnceCell<Option<String>> = OnceCell::const_new();

/// The `KexAlgorithms` value to pass for `destination` (reached with the
/// client `options`), or `None` to leave the configured one.
pub(crate) async fn preferred(options: &[OsString], destination: &str, scanned: &ConfigScan) -> Option<String> {
    if std::env::var(OPT_OUT).is_ok_and(|value| value == "default") {
        return None;
    }
    let built_in = BUILT_IN
        .get_or_init(|| async {
            let probe = [OsString::from("-F"), OsString::from("/dev/null")];
            effective_kex(&probe, "deploy-kex-probe").await
        })
        .await
        .as_deref()?;
    // No configuration in play can change the list for any host: every
    // host has OpenSSH's default, and no `ssh -G` per host is needed
    // (each costs the client about 4 ms of CPU).
    if !configuration_may_set_kex(options, Some(scanned)) {
        return reordered(built_in);
    }
    let effective = effective_kex(options, destination).await?;
    if effective != built_in {
        return None;
    }
    reordered(&effective)
}

/// Whether the client configuration that `options` put in play may set
/// `KexAlgorithms` for some host: an `-o` names it, a configuration file
/// (the `-F` file, else `~/.ssh/config` and `/etc/ssh/ssh_config`, with
/// what they `Include`) names it, or a file cannot be read to tell.
fn configuration_may_set_kex(options: &[OsString], scanned: Option<&ConfigScan>) -> bool {
    if options.iter().any(|option| option.to_string_lossy().to_ascii_lowercase().contains("kexalgorithms")) {
        return true;
    }
    let explicit = options.windows(2).find(|pair| pair[0] == "-F").map(|pair| std::path::PathBuf::from(&pair[1]));
    match scanned {
        Some(scanned) => scanned.may_set(explicit),
        None => files_may_set_kex(explicit),
    }
}

/// What a run found in the configuration files, by `-F` file (`None`: the
/// user's and the system's): every host of an environment has the same, and
/// a generated config of N hosts read once per host is N² lines.
#[derive(Default)]
pub(crate) struct ConfigScan(std::sync::Mutex<Vec<(Option<std::path::PathBuf>, bool)>>);

impl ConfigScan {
    fn may_set(&self, explicit: Option<std::path::PathBuf>) -> bool {
        let mut known = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, may)) = known.iter().find(|(file, _)| *file == explicit) {
            return *may;
        }
        let may = files_may_set_kex(explicit.clone());
        known.push((explicit, may));
        may
    }
}

/// [`configuration_may_set_kex`] for the `-F` file `explicit`, else the
/// user's and the system's configuration.
fn files_may_set_kex(explicit: Option<std::path::PathBuf>) -> bool {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let user_dir = home.as_ref().map(|home| home.join(".ssh"));
    let files: Vec<(std::path::PathBuf, Option<std::path::PathBuf>)> = match explicit {
        Some(file) => vec![(file, user_dir.clone())],
        None => {
            let mut files = Vec::new();
            if let Some(dir) = &user_dir {
                files.push((dir.join("config"), user_dir.clone()));
            }
            files.push(("/etc/ssh/ssh_config".into(), Some("/etc/ssh".into())));
            files
        }
    };
    files.iter().any(|(file, base)| file_may_set_kex(file, base.as_deref(), home.as_deref(), 0))
}

/// [`configuration_may_set_kex`] for one file; `Include`s with a relative
/// path are found in `base` (`~/.ssh` or `/etc/ssh`, as ssh does).
fn file_may_set_kex(file: &Path, base: Option<&Path>, home: Option<&Path>, depth: usize) -> bool {
    if depth > 8 {
        return true;
    }
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return false,
        Err(_) => return true,
    };
    for line in text.lines() {
        let line = line.trim();
        let split = line.find(|c: char| c.is_whitespace() || c == '=').unwrap_or(line.len());
        let (key, rest) = line.split_at(split);
        if key.eq_ignore_ascii_case("kexalgorithms") {
            return true;
        }
        if !key.eq_ignore_ascii_case("include") {
            continue;
        }
        for pattern in rest.trim_start_matches(|c: char| c.is_whitespace() || c == '=').split_whitespace() {
            let pattern = pattern.trim_matches('"');
            let path = match (pattern.strip_prefix("~/"), home, base) {
                (Some(rest), Some(home), _) => home.join(rest),
                (None, _, _) if pattern.starts_with('/') => std::path::PathBuf::from(pattern),
                (None, _, Some(base)) => base.join(pattern),
                _ => return true,
            };
            let Some(paths) = matching(&path) else { return true };
            if paths.iter().any(|path| file_may_set_kex(path, base, home, depth + 1)) {
                return true;
            }
        }
    }
    false
}

/// The files `pattern` names: itself, or, with `*` or `?` in its last
/// part only, the entries of its directory that match. `None` when a
/// wildcard is elsewhere (not looked into: the caller probes instead).
fn matching(pattern: &Path) -> Option<Vec<std::path::PathBuf>> {
    let name = pattern.file_name()?.to_string_lossy().to_string();
    let dir = pattern.parent()?;
    if dir.to_string_lossy().contains(['*', '?']) {
        return None;
    }
    if !name.contains(['*', '?']) {
        return Some(vec![pattern.to_path_buf()]);
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return Some(Vec::new()) };
    let mut paths: Vec<std::path::PathBuf> = entries
        .flatten()
        .filter(|entry| wildcard(&name, &entry.file_name().to_string_lossy()))
        .map(|entry| entry.path())
        .collect();
    paths.sort();
    Some(paths)
}

/// `*` and `?` as ssh_config globs them.
fn wildcard(pattern: &str, name: &str) -> bool {
    let (pattern, name): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut p, mut n, mut star, mut mark) = (0, 0, None, 0);
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = n;
            p += 1;
        } else if let Some(at) = star {
            p = at + 1;
            mark += 1;
            n = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// The `kexalgorithms` line of `ssh -G` (the configuration as `ssh` would
/// apply it to `destination`, without connecting).
async fn effective_kex(options: &[OsString], destination: &str) -> Option<String> {
    let output = tokio::process::Command::new("ssh")
        .arg("-G")
        .args(options)
        .arg("--")
        .arg(destination)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .ok()?;
    if !output.status.success() {
        return None;
    }
    kex_line(&String::from_utf8_lossy(&output.stdout))
}

fn kex_line(config: &str) -> Option<String> {
    config.lines().find_map(|line| line.strip_prefix("kexalgorithms ").map(|list| list.trim().to_string()))
}

/// `list` with the [`PREFERRED`] algorithms it holds moved first; `None`
/// when it holds none of them.
fn reordered(list: &str) -> Option<String> {
    let names: Vec<&str> = list.split(',').filter(|name| !name.is_empty()).collect();
    let mut first: Vec<&str> = PREFERRED.iter().copied().filter(|name| names.contains(name)).collect();
    if first.is_empty() {
        return None;
    }
    first.extend(names.iter().copied().filter(|name| !PREFERRED.contains(name)));
    Some(first.join(","))
}

#[cfg(test)]
mod tests {
    use super::{configuration_may_set_kex, kex_line, reordered, wildcard, ConfigScan};
    use std::ffi::OsString;

    #[test]
    fn a_configuration_that_names_no_key_exchange_needs_no_probe_per_host() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        let included = dir.path().join("conf.d");
        std::fs::create_dir(&included).unwrap();
        std::fs::write(&config, format!("Host *\n  User root\nInclude {}/*.conf\n", included.display())).unwrap();
        std::fs::write(included.join("a.conf"), "Host web-*\n  Port 2222\n").unwrap();
        let options = |file: &std::path::Path| vec![OsString::from("-F"), file.as_os_str().to_owned()];
        assert!(!configuration_may_set_kex(&options(&config), None));
        std::fs::write(included.join("b.conf"), "Host db-1\n  KexAlgorithms=curve25519-sha256\n").unwrap();
        assert!(configuration_may_set_kex(&options(&config), None), "an included file sets it for one host");
        let other = dir.path().join("other");
        std::fs::write(&other, "Host *\n  kexalgorithms ecdh-sha2-nistp256\n").unwrap();
        assert!(configuration_may_set_kex(&options(&other), None));
        let clean = dir.path().join("clean");
        std::fs::write(&clean, "Host *\n  User root\n").unwrap();
        let mut with_o = options(&clean);
        with_o.extend([OsString::from("-o"), OsString::from("KexAlgorithms=curve25519-sha256")]);
        assert!(configuration_may_set_kex(&with_o, None));
        assert!(!configuration_may_set_kex(&options(&clean), None));
    }

    #[test]
    fn a_run_reads_each_configuration_once_and_the_next_run_again() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(&config, "Host *\n  User root\n").unwrap();
        let options = vec![OsString::from("-F"), config.as_os_str().to_owned()];
        let run = ConfigScan::default();
        assert!(!configuration_may_set_kex(&options, Some(&run)));
        std::fs::write(&config, "Host *\n  KexAlgorithms ecdh-sha2-nistp256\n").unwrap();
        assert!(!configuration_may_set_kex(&options, Some(&run)), "read once for all the run's hosts");
        assert!(configuration_may_set_kex(&options, Some(&ConfigScan::default())), "the next run reads it again");
    }

    #[test]
    fn include_globs_match_as_ssh_does() {
        assert!(wildcard("*.conf", "50-cloud.conf"));
        assert!(!wildcard("*.conf", "50-cloud.conf.bak"));
        assert!(wildcard("a?c*", "abcdef"));
        assert!(!wildcard("a?c", "ac"));
    }

    #[test]
    fn the_same_algorithms_with_curve25519_first() {
        let default =
            "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256";
        assert_eq!(
            reordered(default).as_deref(),
            Some(
                "curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512@openssh.com,ecdh-sha2-nistp256"
            )
        );
        assert_eq!(reordered("ecdh-sha2-nistp256,diffie-hellman-group14-sha256"), None);
        assert_eq!(reordered("a,curve25519-sha256@libssh.org").as_deref(), Some("curve25519-sha256@libssh.org,a"));
    }

    #[test]
    fn the_list_is_read_from_ssh_g() {
        let config = "user root\nkexalgorithms a,b\nciphers c\n";
        assert_eq!(kex_line(config).as_deref(), Some("a,b"));
        assert_eq!(kex_line("user root\n"), None);
    }
}
