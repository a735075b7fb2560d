//! Which key exchange the ControlMaster asks for first. OpenSSH 9.x offers
//! the post-quantum hybrid `sntrup761x25519-sha512` first; its key
//! generation costs the client about 90 ms of CPU per handshake (measured
//! on OpenSSH 9.2), against about 1 ms for `curve25519-sha256`, and a run
//! opens one connection per host. When the client configuration leaves
//! `KexAlgorithms` at OpenSSH's built-in default, the same algorithms are
//! offered with `curve25519-sha256` moved first. A list the user (or the
//! system's crypto policy) set is passed on untouched.

use std::ffi::OsString;
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
pub(crate) async fn preferred(options: &[OsString], destination: &str) -> Option<String> {
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
    let effective = effective_kex(options, destination).await?;
    if effective != built_in {
        return None;
    }
    reordered(&effective)
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
    use super::{kex_line, reordered};

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
