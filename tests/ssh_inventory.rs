//! Ansible inventories with their variables, on real sshd hosts
//! (tests/support/fleet.sh): host and group variables, `group_vars/` and
//! `host_vars/` files with Ansible's precedence, connection variables
//! (`ansible_host`, `ansible_port`, `ansible_user`,
//! `ansible_ssh_private_key_file`, `ansible_ssh_common_args`), YAML
//! inventories, and the check of a variable some host lacks. Skipped,
//! saying why, when not run as root.

mod common;
#[path = "support/fleet.rs"]
mod fleet;

use common::{Output, Test};
use fleet::Fleet;

fn ok(output: &Output) {
    assert_eq!(output.code, 0, "stdout:\n{}\nstderr:\n{}", output.stdout, output.stderr);
}

/// A plan over `inventory` whose `ssh { }` names no user and no key: the
/// inventory's connection variables must bring them.
fn plan(fleet: &Fleet, inventory: &str, group: &str, step: &str) -> String {
    let dir = fleet.path().display();
    format!(
        "pipeline \"fleet\" {{ description = \"inventory variables\" }}\n\
         environment production {{\n  transport = ssh\n  hosts = inventory(\"{inventory}\", \"{group}\")\n  \
         ssh {{\n    known_hosts = \"{dir}/known_hosts\"\n    connect_timeout = 5s\n    dir = \"/srv\"\n  }}\n}}\n\
         stage facts {{\n  target = production\n  run \"{step}\"\n  rollback {{ run \"true\" }}\n}}\n"
    )
}

fn ini(fleet: &Fleet) -> String {
    let dir = fleet.path().display();
    let address = |name: &str| fleet.host(name).address.clone();
    format!(
        "# written as an Ansible user keeps it\n\
         [web]\n\
         web-1 ansible_host={} role=primary weight=3\n\
         web-2 ansible_host={} ansible_port=22\n\
         [db]\n\
         web-3 ansible_host={} ansible_python_interpreter=/usr/bin/python3\n\
         [web:vars]\n\
         http_port=8080\n\
         [prod:children]\n\
         web\n\
         db\n\
         [prod:vars]\n\
         tier=prod\n\
         [all:vars]\n\
         ansible_user=root\n\
         ansible_ssh_private_key_file={dir}/id_ed25519\n\
         ansible_ssh_common_args='-o ConnectionAttempts=2 -o \"IdentitiesOnly yes\"'\n\
         tier=all\n\
         region=eu\n",
        address("web-1"),
        address("web-2"),
        address("web-3"),
    )
}

#[test]
fn host_group_and_file_variables_reach_the_steps_over_ssh() {
    let Some(fleet) = Fleet::start(3) else { return };
    let test = Test::new()
        .file("inventory.ini", ini(&fleet))
        .file("group_vars/web.yml", "role: replica\nregion: us\n")
        .file("host_vars/web-3.yml", "---\nrole: database\n")
        .plan(&plan(
            &fleet,
            "inventory.ini",
            "prod",
            "echo ${host.role} ${host.tier} ${host.region} ${host.address} > facts",
        ));
    let output = test.run_with(&["run", "release.deploy"]);
    ok(&output);
    let address = |name: &str| fleet.host(name).address.clone();
    // web-1: its own line wins over group_vars/web.yml; group_vars/web.yml
    // wins over [all:vars]; [prod:vars] wins over [all:vars].
    assert_eq!(fleet.read("web-1", "facts"), format!("primary prod us {}\n", address("web-1")));
    assert_eq!(fleet.read("web-2", "facts"), format!("replica prod us {}\n", address("web-2")));
    assert_eq!(fleet.read("web-3", "facts"), format!("database prod eu {}\n", address("web-3")));
    // The variable deploy does not use is named, not dropped silently.
    assert!(
        output.stderr.contains("W0012") && output.stderr.contains("ansible_python_interpreter"),
        "{}",
        output.stderr
    );

    // A variable that only some hosts have is caught before anything runs.
    let test = test.plan(&plan(&fleet, "inventory.ini", "prod", "echo ${host.http_port}"));
    let output = test.run_with(&["check", "release.deploy"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(
        output.stderr.contains("host(s) web-3 of environment `production` have no `http_port`"),
        "{}",
        output.stderr
    );

    // `deploy plan` shows where SSH goes: the inventory's address, user and port.
    let test = test.plan(&plan(&fleet, "inventory.ini", "web", "true"));
    let output = test.run_with(&["plan", "release.deploy"]);
    ok(&output);
    assert!(output.stdout.contains(&format!("web-2 → ssh://root@{}:22", address("web-2"))), "{}", output.stdout);
}

#[test]
fn a_yaml_inventory_and_its_implicit_groups() {
    let Some(fleet) = Fleet::start(2) else { return };
    let dir = fleet.path().display();
    let yaml = format!(
        "all:\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: {dir}/id_ed25519\n    \
         http_port: 8080\n  hosts:\n    web-2:\n      ansible_host: {}\n  children:\n    web:\n      hosts:\n        \
         web-1: {{ ansible_host: {}, http_port: 9090 }}\n",
        fleet.host("web-2").address,
        fleet.host("web-1").address,
    );
    let test = Test::new().file("inventory.yml", yaml).plan(&plan(
        &fleet,
        "inventory.yml",
        "all",
        "echo ${host.http_port} > port",
    ));
    ok(&test.run_with(&["run", "release.deploy"]));
    assert_eq!(fleet.read("web-1", "port"), "9090\n");
    assert_eq!(fleet.read("web-2", "port"), "8080\n");

    let test = test.plan(&plan(&fleet, "inventory.yml", "ungrouped", "echo ungrouped > which"));
    ok(&test.run_with(&["run", "release.deploy"]));
    assert_eq!(fleet.read("web-1", "which"), "");
    assert_eq!(fleet.read("web-2", "which"), "ungrouped\n");
}

#[test]
fn a_broken_variables_file_is_an_error_naming_the_file_and_line() {
    // No hosts needed: the inventory is read by `deploy check`.
    let test = Test::new()
        .file("inventory.ini", "[web]\nweb-1\n")
        .file("group_vars/web.yml", "role: primary\nports: [80, 443\n")
        .plan(
            "pipeline \"p\" { description = \"x\" }\nenvironment e {\n  transport = ssh\n  \
             hosts = inventory(\"inventory.ini\", \"web\")\n}\n",
        );
    let output = test.run_with(&["check", "release.deploy"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("E0142"), "{}", output.stderr);
    assert!(output.stderr.contains("group_vars/web.yml: line"), "{}", output.stderr);
    let output = test.file("inventory.ini", "[web]\nweb-[3:1]\n").run_with(&["check", "release.deploy"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("line 2"), "{}", output.stderr);
}

/// An inventory of four hosts in groups `web` (web-1, web-2), `db`
/// (web-3, web-4) and `prod` (children: web, and web-3 itself).
fn grouped(fleet: &Fleet) -> String {
    let dir = fleet.path().display();
    let mut text = String::from("[web]\n");
    let line = |name: &str| format!("{name} ansible_host={}\n", fleet.host(name).address);
    text += &line("web-1");
    text += &line("web-2");
    text += "[db]\n";
    text += &line("web-3");
    text += &line("web-4");
    text += "[prod]\nweb-3\n[prod:children]\nweb\n";
    text += &format!("[all:vars]\nansible_user=root\nansible_ssh_private_key_file={dir}/id_ed25519\n");
    text
}

#[test]
fn limit_takes_ansible_host_patterns_on_every_command() {
    let Some(fleet) = Fleet::start(4) else { return };
    let test = Test::new()
        .file("inventory.ini", grouped(&fleet))
        .file("failed.txt", "# the hosts that failed\nweb-2\nweb-4\n")
        .plan(&plan(&fleet, "inventory.ini", "all", "echo $DEPLOY_RUN_ID >> runs"));
    let ran_on = |output: &Output| -> Vec<String> {
        ok(output);
        let mut hosts: Vec<String> = fleet
            .hosts
            .iter()
            .filter(|host| fleet.read(&host.name, "runs").lines().count() > 0)
            .map(|host| host.name.clone())
            .collect();
        for host in &fleet.hosts {
            let _ = std::fs::remove_file(host.srv.join("runs"));
        }
        hosts.sort();
        hosts
    };
    let cases: &[(&str, &[&str])] = &[
        ("web", &["web-1", "web-2"]),
        ("web:!web-2", &["web-1"]),
        ("prod:&db", &["web-3"]),
        ("!prod", &["web-4"]),
        ("web[1],db[-1]", &["web-2", "web-4"]),
        ("web-[3:4]", &["web-3", "web-4"]),
        ("@failed.txt", &["web-2", "web-4"]),
        ("d*,web-1", &["web-1", "web-3", "web-4"]),
    ];
    for (pattern, expected) in cases {
        let output = test.run_with(&["run", "release.deploy", "--limit", pattern]);
        assert_eq!(ran_on(&output), *expected, "--limit {pattern}");
    }

    // ping takes the same patterns.
    let output = test.run_with(&["ping", "release.deploy", "--limit", "db", "--json"]);
    ok(&output);
    assert_eq!(output.stdout.lines().count(), 2, "{}", output.stdout);
    assert!(output.stdout.contains("\"web-3\"") && output.stdout.contains("\"web-4\""), "{}", output.stdout);

    // An unknown group is named in the same words on every command.
    for command in ["run", "plan", "simulate", "ping"] {
        let output = test.run_with(&[command, "release.deploy", "--limit", "web,cache"]);
        assert_eq!(output.code, 1, "{command}: {}", output.stderr);
        assert!(output.stderr.contains("`--limit cache` matches no host of the plan"), "{command}: {}", output.stderr);
        assert!(output.stderr.contains("groups: all, "), "{command}: {}", output.stderr);
    }
}

#[test]
fn exec_runs_one_command_on_the_selected_hosts_and_journals_it() {
    let Some(fleet) = Fleet::start(4) else { return };
    let test = Test::new().env("USER", "alice").file("inventory.ini", grouped(&fleet)).plan(&plan(
        &fleet,
        "inventory.ini",
        "all",
        "true",
    ));
    let output = test.run_with(&[
        "exec",
        "release.deploy",
        "production",
        "--limit",
        "web,!web-2",
        "--",
        "echo",
        "hi from $DEPLOY_HOST in $(pwd)",
    ]);
    ok(&output);
    assert!(output.stdout.contains("web-1 | ok | rc=0 >>\nhi from web-1 in /srv\n"), "{}", output.stdout);
    assert!(!output.stdout.contains("web-2"), "{}", output.stdout);
    assert!(!output.stdout.contains("web-3"), "{}", output.stdout);

    // Every host runs; one failing makes the exit 1, and each says its code.
    let output = test.run_with(&["exec", "release.deploy", "production", "--", "test $DEPLOY_HOST != web-3 || exit 7"]);
    assert_eq!(output.code, 1, "{}\n{}", output.stdout, output.stderr);
    for host in ["web-1", "web-2", "web-4"] {
        assert!(output.stdout.contains(&format!("{host} | ok | rc=0 >>")), "{}", output.stdout);
    }
    assert!(output.stdout.contains("web-3 | FAILED | rc=7 >>"), "{}", output.stdout);

    // --json: one object per host.
    let output = test.run_with(&["exec", "release.deploy", "production", "--limit", "db", "--json", "--", "echo x"]);
    ok(&output);
    let hosts: Vec<serde_json::Value> = output.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(hosts.len(), 2);
    assert_eq!(hosts[0]["host"], "web-3");
    assert_eq!(hosts[0]["code"], 0);
    assert_eq!(hosts[0]["output"][0], "x");

    // The exec is in the journal, with who ran it; no deployment is recorded.
    let db = rusqlite::Connection::open(test.path().join(".deploy/state.db")).unwrap();
    let events: Vec<String> = db
        .prepare("SELECT event FROM journal WHERE run_id LIKE 'exec-%' ORDER BY run_id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(|row| row.unwrap())
        .collect();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events[1].contains("\"action\":\"exec\"") && events[1].contains("web-3=7"), "{}", events[1]);
    assert!(events[1].contains("\"by\":\"alice\""), "{}", events[1]);
    let deployments: i64 = db.query_row("SELECT count(*) FROM deployments", [], |row| row.get(0)).unwrap();
    assert_eq!(deployments, 0);

    // An unknown host is E0134 in the same words as for run.
    let output = test.run_with(&["exec", "release.deploy", "production", "--limit", "web-9", "--", "true"]);
    assert_eq!(output.code, 1);
    assert!(output.stderr.contains("`--limit web-9` matches no host of the plan"), "{}", output.stderr);
}
