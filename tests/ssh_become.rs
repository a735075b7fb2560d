//! `become`: a non-root login user whose steps, uploads and rollbacks run
//! as root through `sudo -n`, on real sshd hosts whose own /etc/passwd and
//! /etc/sudoers (bound in each host's mount namespace, never this
//! machine's) have `deployer` (sudo without a password) and `asker` (sudo
//! that asks for one). Skipped, saying why, when not run as root or
//! without sudo.

mod common;
#[path = "support/fleet.rs"]
mod fleet;

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use common::{Output, Test};
use fleet::Fleet;

fn ok(output: &Output) {
    assert_eq!(output.code, 0, "stdout:\n{}\nstderr:\n{}", output.stdout, output.stderr);
}

fn start(count: usize) -> Option<Fleet> {
    if !std::path::Path::new("/usr/bin/sudo").exists() {
        eprintln!("skipped: become tests need sudo (apt-get install sudo)");
        return None;
    }
    Fleet::start_with_become(count)
}

fn environment(fleet: &Fleet, name: &str, user: &str, become_root: bool) -> String {
    let dir = fleet.path().display();
    format!(
        "environment {name} {{\n  transport = ssh\n  hosts = inventory(\"{}\", \"web\")\n  ssh {{\n    user = \"{user}\"\n    \
         identity = \"{dir}/id_ed25519\"\n    known_hosts = \"{dir}/known_hosts\"\n    connect_timeout = 5s\n    \
         dir = \"/srv\"\n    become = {become_root}\n    become_user = \"root\"\n    become_method = sudo\n  }}\n}}\n",
        fleet.inventory()
    )
}

#[test]
fn steps_uploads_and_rollbacks_run_as_root_through_sudo() {
    let Some(fleet) = start(2) else { return };
    let plan = format!(
        "pipeline \"become\" {{ on_failure = rollback }}\nparam fail: bool = false\nsecret token = env(\"TOKEN\")\n{}\
         stage ship {{\n  target = production\n  upload \"dist\" to \"app/releases/v1\"\n  \
         run \"test '${{token}}' = s3cret && id -un > who && echo $HOME > home\"\n  \
         rollback {{ run \"id -un > rolled-back-by\" }}\n}}\n\
         stage check {{\n  target = production\n  needs = [ship]\n  run \"test ${{fail}} = false\"\n  \
         rollback {{ run \"true\" }}\n}}\n",
        environment(&fleet, "production", "deployer", true)
    );
    let test = Test::new()
        .env("TOKEN", "s3cret")
        .file("dist/bin/run", "#!/bin/sh\necho running\n")
        .file("dist/README", "hello\n")
        .plan(&plan);
    std::fs::set_permissions(test.path().join("dist/bin/run"), std::fs::Permissions::from_mode(0o750)).unwrap();
    ok(&test.run_with(&["run", "release.deploy"]));
    for host in &fleet.hosts {
        assert_eq!(fleet.read(&host.name, "who"), "root\n", "{}", host.name);
        let run = std::fs::metadata(host.srv.join("app/releases/v1/bin/run")).unwrap();
        assert_eq!(run.uid(), 0, "the upload is owned by the become user");
        assert_eq!(run.permissions().mode() & 0o777, 0o750, "modes are kept");
        assert_eq!(std::fs::metadata(host.srv.join("who")).unwrap().uid(), 0);
    }

    // A failure later rolls back through sudo too.
    let output = test.run_with(&["run", "release.deploy", "--set", "fail=true"]);
    assert_eq!(output.code, 2, "{}\n{}", output.stdout, output.stderr);
    for host in &fleet.hosts {
        assert_eq!(fleet.read(&host.name, "rolled-back-by"), "root\n", "{}", host.name);
    }
}

#[test]
fn a_sudo_that_asks_for_a_password_fails_the_host_with_that_message() {
    let Some(fleet) = start(1) else { return };
    let plan = format!(
        "pipeline \"become\" {{ description = \"asker\" }}\n{}\
         stage ship {{\n  target = production\n  run \"id -un > who\"\n  rollback {{ run \"true\" }}\n}}\n",
        environment(&fleet, "production", "asker", true)
    );
    let test = Test::new().plan(&plan);
    let output = test.run_with(&["run", "release.deploy"]);
    assert_eq!(output.code, 2, "{}\n{}", output.stdout, output.stderr);
    let all = format!("{}{}", output.stdout, output.stderr);
    assert!(all.contains("cannot become root on web-1: sudo: a password is required"), "{all}");
    // Nothing ran there, so there is nothing to roll back.
    assert!(!all.contains("rollback failed"), "{all}");
    assert_eq!(fleet.read("web-1", "who"), "");

    // `deploy exec --become` says the same, per host, and exits 1.
    let test = test.plan(&format!(
        "pipeline \"become\" {{ description = \"asker\" }}\n{}{}",
        environment(&fleet, "production", "asker", false),
        environment(&fleet, "staging", "deployer", false)
    ));
    let output = test.run_with(&["exec", "release.deploy", "production", "--become", "--", "id -u"]);
    assert_eq!(output.code, 1, "{}\n{}", output.stdout, output.stderr);
    assert!(
        output.stdout.contains("web-1 | FAILED | cannot become root on web-1: sudo: a password is required"),
        "{}",
        output.stdout
    );
    let output = test.run_with(&["exec", "release.deploy", "staging", "--become", "--", "id -u"]);
    ok(&output);
    assert!(output.stdout.contains("web-1 | ok | rc=0 >>\n0\n"), "{}", output.stdout);
    let output = test.run_with(&["exec", "release.deploy", "staging", "--", "id -u"]);
    ok(&output);
    assert!(output.stdout.contains("web-1 | ok | rc=0 >>\n1500\n"), "{}", output.stdout);
}

/// Whether a process whose command line contains `marker` runs anywhere
/// (the hosts share this machine's process table).
fn process_running(marker: &str) -> bool {
    std::fs::read_dir("/proc").into_iter().flatten().flatten().any(|entry| {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        !zombie && String::from_utf8_lossy(&cmdline).replace('\0', " ").contains(marker)
    })
}

#[test]
fn a_timed_out_step_run_as_root_is_stopped_on_the_host() {
    let Some(fleet) = start(1) else { return };
    let plan = format!(
        "pipeline \"become\" {{ description = \"kill\" }}\n{}\
         stage ship {{\n  target = production\n  timeout = 1s\n  run \"sleep 3171\"\n  rollback {{ run \"true\" }}\n}}\n",
        environment(&fleet, "production", "deployer", true)
    );
    let test = Test::new().env("DEPLOY_KILL_GRACE_MS", "500").plan(&plan);
    let started = std::time::Instant::now();
    let output = test.run_with(&["run", "release.deploy"]);
    assert_eq!(output.code, 2, "{}\n{}", output.stdout, output.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!process_running("sleep 3171"), "the root-owned step outlived its timeout");
}

#[test]
fn a_stage_can_turn_become_off_or_on() {
    let Some(fleet) = start(1) else { return };
    let plan = format!(
        "pipeline \"become\" {{ description = \"per stage\" }}\n{}{}\
         stage as_login_user {{\n  target = production\n  become = false\n  run \"id -un > /tmp/who-$$; cat /tmp/who-$$; rm /tmp/who-$$\"\n  \
         rollback {{ run \"true\" }}\n}}\n\
         stage as_root {{\n  target = staging\n  become = true\n  run \"id -un > who-root\"\n  rollback {{ run \"true\" }}\n}}\n",
        environment(&fleet, "production", "deployer", true),
        environment(&fleet, "staging", "deployer", false)
    );
    let test = Test::new().plan(&plan);
    let output = test.run_with(&["run", "release.deploy"]);
    ok(&output);
    assert!(output.stdout.contains("[as_login_user web-1] deployer"), "{}", output.stdout);
    assert_eq!(fleet.read("web-1", "who-root"), "root\n");
}

/// `become_method = su`: from a root login, steps, uploads and rollbacks
/// run as `become_user` through su; from any other login su would read a
/// password from the step's stdin, so the host fails before su runs.
#[test]
fn su_becomes_another_user_from_a_root_login_and_refuses_any_other_login() {
    let Some(fleet) = start(1) else { return };
    let environment = |user: &str, become_user: &str| {
        environment(&fleet, "production", user, true)
            .replace("become_user = \"root\"", &format!("become_user = \"{become_user}\""))
            .replace("become_method = sudo", "become_method = su")
    };
    let stage = "stage ship {\n  target = production\n  upload \"dist\" to \"app/v1\"\n  \
                 run \"id -un > /tmp/su-who && cp /tmp/su-who who-su\"\n  rollback { run \"true\" }\n}\n";
    let plan = format!("pipeline \"become\" {{ description = \"su\" }}\n{}{stage}", environment("root", "deployer"));
    let test = Test::new().file("dist/README", "hello\n").plan(&plan);
    // /srv belongs to root: deployer writes under a directory of its own.
    let srv = &fleet.hosts[0].srv;
    let deployer = 1500; // fleet.sh gives `deployer` uid 1500
    std::os::unix::fs::chown(srv, Some(deployer), None).unwrap();
    ok(&test.run_with(&["run", "release.deploy"]));
    assert_eq!(fleet.read("web-1", "who-su"), "deployer\n");
    let upload = std::fs::metadata(srv.join("app/v1/README")).unwrap();
    assert_eq!(upload.uid(), deployer, "the upload is owned by the become user");

    let plan = format!("pipeline \"become\" {{ description = \"su\" }}\n{}{stage}", environment("deployer", "root"));
    std::fs::remove_file(srv.join("who-su")).unwrap();
    let test = test.plan(&plan);
    let output = test.run_with(&["run", "release.deploy"]);
    assert_ne!(output.code, 0, "{}", output.stdout);
    let all = format!("{}{}", output.stdout, output.stderr);
    assert!(all.contains("cannot become root on web-1: su: the login user deployer is not root"), "{all}");
    assert!(all.contains("become_method = su runs `su` without a tty: the login user must be root"), "{all}");
    assert!(!srv.join("who-su").exists(), "the step ran: {all}");
}

#[test]
fn an_unknown_become_method_is_found_before_anything_runs() {
    let plan = "pipeline \"become\" {}\nenvironment production {\n  transport = ssh\n  hosts = [\"web-1\"]\n  \
                ssh { become = true  become_method = doas }\n}\n\
                stage ship {\n  target = production\n  run \"true\"\n  rollback { run \"true\" }\n}\n";
    let output = Test::new().plan(plan).run_with(&["check", "release.deploy"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("`become_method` is `sudo` or `su`, found `doas`"), "{}", output.stderr);
}
