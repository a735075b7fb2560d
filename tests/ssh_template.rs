//! `template "x.j2" to "..."`: Jinja2 files rendered per host with the
//! params, host values and inventory variables (group_vars/ too), then
//! written like `upload` — on real sshd hosts through `become` (owned by
//! root, mode kept) and on the local transport; a missing variable is an
//! error naming the template, line and variable, before anything runs
//! when the file is known. The SSH part is skipped, saying why, when not
//! run as root or without sudo.

mod common;
#[path = "support/fleet.rs"]
mod fleet;

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use common::{Output, Test};
use fleet::Fleet;

fn ok(output: &Output) {
    assert_eq!(output.code, 0, "stdout:\n{}\nstderr:\n{}", output.stdout, output.stderr);
}

const TEMPLATE: &str = "# {{ host.name }} ({{ role }}), release {{ version }}\n\
listen {{ http_port }};\n\
server_name {{ host.name | upper }};\n\
{% for upstream in upstreams %}\n\
upstream {{ upstream }};\n\
{% endfor %}\n\
{% if role == 'primary' %}\n\
primary on;\n\
{% endif %}\n\
workers {{ workers | default(2) }};\n\
tier {{ env.tier }} {{ greeting }}\n";

#[test]
fn templates_render_per_host_over_ssh_through_become() {
    if !std::path::Path::new("/usr/bin/sudo").exists() {
        eprintln!("skipped: needs sudo");
        return;
    }
    let Some(fleet) = Fleet::start_with_become(2) else { return };
    let dir = fleet.path().display();
    let inventory = format!(
        "[web]\nweb-1 ansible_host={} role=primary\nweb-2 ansible_host={}\n[web:vars]\nansible_user=deployer\n",
        fleet.host("web-1").address,
        fleet.host("web-2").address
    );
    let plan = format!(
        "pipeline \"templates\" {{ description = \"nginx\" }}\nparam version: string = \"v1\"\n\
         param greeting: string = \"hello\"\n\
         environment production {{\n  transport = ssh\n  hosts = inventory(\"inventory.ini\", \"web\")\n  \
         vars {{ tier = \"front\" }}\n  \
         ssh {{\n    identity = \"{dir}/id_ed25519\"\n    known_hosts = \"{dir}/known_hosts\"\n    dir = \"/srv\"\n    \
         become = true\n  }}\n}}\n\
         stage configure {{\n  target = production\n  template \"templates/app.conf.j2\" to \"conf/\"\n  \
         rollback {{ run \"true\" }}\n}}\n"
    );
    let test = Test::new()
        .file("inventory.ini", inventory)
        .file("group_vars/web.yml", "role: replica\nhttp_port: 8080\nupstreams: [a.internal, b.internal]\n")
        .file("templates/app.conf.j2", TEMPLATE)
        .plan(&plan);
    std::fs::set_permissions(test.path().join("templates/app.conf.j2"), std::fs::Permissions::from_mode(0o640))
        .unwrap();
    ok(&test.run_with(&["check", "release.deploy"]));
    ok(&test.run_with(&["run", "release.deploy", "--set", "version=v7"]));
    assert_eq!(
        fleet.read("web-1", "conf/app.conf"),
        "# web-1 (primary), release v7\nlisten 8080;\nserver_name WEB-1;\nupstream a.internal;\n\
         upstream b.internal;\nprimary on;\nworkers 2;\ntier front hello\n"
    );
    assert_eq!(
        fleet.read("web-2", "conf/app.conf"),
        "# web-2 (replica), release v7\nlisten 8080;\nserver_name WEB-2;\nupstream a.internal;\n\
         upstream b.internal;\nworkers 2;\ntier front hello\n"
    );
    for host in &fleet.hosts {
        let meta = std::fs::metadata(host.srv.join("conf/app.conf")).unwrap();
        assert_eq!(meta.uid(), 0, "written as the become user");
        assert_eq!(meta.permissions().mode() & 0o777, 0o640, "the template's mode is kept");
    }

    // `plan --diff`: what a run would change in each host's file, read
    // over SSH through become (the file is root's, mode 0640).
    let output = test.run_with(&["plan", "release.deploy", "--diff", "--set", "version=v7", "--set", "greeting=bye"]);
    ok(&output);
    assert!(output.stdout.contains("configure templates/app.conf.j2 → web-1:conf/app.conf:"), "{}", output.stdout);
    assert!(output.stdout.contains("-tier front hello\n    +tier front bye"), "{}", output.stdout);
    let output = test.run_with(&["plan", "release.deploy", "--diff", "--set", "version=v7"]);
    ok(&output);
    assert!(
        output.stdout.contains("configure templates/app.conf.j2 → web-2:conf/app.conf: unchanged"),
        "{}",
        output.stdout
    );
}

#[test]
fn a_missing_variable_is_named_before_the_run_and_while_it_runs() {
    let test = Test::new()
        .file("templates/app.conf.j2", "ok\nlisten {{ http_port }};\n")
        .file("templates/other.conf.j2", "x {{ nowhere }}\n")
        .plan(
            "pipeline \"templates\" { description = \"local\" }\nparam which: string = \"other\"\n\
             environment dev {\n  hosts = [{ name = \"a\"  http_port = 81 }, \"b\"]\n}\n\
             stage configure {\n  target = dev\n  template \"templates/app.conf.j2\" to \"out/${host}/app.conf\"\n  \
             rollback { run \"true\" }\n}\n",
        );
    let output = test.run_with(&["check", "release.deploy"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(
        output.stderr.contains("template templates/app.conf.j2 line 2: undefined variable `http_port`"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("host(s) b of `dev` have"), "{}", output.stderr);

    // A path known only at run time is checked when it renders.
    let test = test.plan(
        "pipeline \"templates\" { description = \"local\" }\nparam which: string = \"other\"\n\
         environment dev {\n  hosts = [\"a\"]\n}\n\
         stage configure {\n  target = dev\n  template \"templates/${which}.conf.j2\" to \"out/${host}/app.conf\"\n  \
         rollback { run \"true\" }\n}\n",
    );
    let output = test.run_with(&["run", "release.deploy"]);
    assert_eq!(output.code, 2, "{}\n{}", output.stdout, output.stderr);
    let all = format!("{}{}", output.stdout, output.stderr);
    assert!(all.contains("template templates/other.conf.j2 line 1: undefined variable `nowhere`"), "{all}");
}

#[test]
fn templates_work_on_the_local_transport() {
    let test = Test::new().file("templates/app.conf.j2", "{{ host.name }}:{{ port }}:{{ version }}\n").plan(
        "pipeline \"templates\" { description = \"local\" }\nparam version: string = \"v3\"\n\
         environment dev {\n  hosts = [{ name = \"a\"  port = 1 }, { name = \"b\"  port = 2 }]\n}\n\
         stage configure {\n  target = dev\n  template \"templates/app.conf.j2\" to \"out/${host}/app.conf\"\n  \
         rollback { run \"true\" }\n}\n",
    );
    let output = test.run_with(&["plan", "release.deploy", "--diff"]);
    ok(&output);
    assert!(output.stdout.contains("configure templates/app.conf.j2 → a:out/a/app.conf:"), "{}", output.stdout);
    assert!(output.stdout.contains("    +a:1:v3"), "{}", output.stdout);
    ok(&test.run_with(&["run", "release.deploy"]));
    assert_eq!(std::fs::read_to_string(test.path().join("out/a/app.conf")).unwrap(), "a:1:v3\n");
    let output = test.run_with(&["plan", "release.deploy", "--diff", "--format", "json"]);
    ok(&output);
    let plan: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(plan["template_diffs"][1]["host"], "b");
    assert_eq!(plan["template_diffs"][1]["diff"], "", "unchanged after the run");
    assert_eq!(std::fs::read_to_string(test.path().join("out/b/app.conf")).unwrap(), "b:2:v3\n");
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// examples/from_ansible as shipped, on three real hosts: only the
/// inventory's addresses, login user and key are this machine's.
#[test]
fn the_from_ansible_example_runs_on_real_hosts() {
    if !std::path::Path::new("/usr/bin/sudo").exists() {
        eprintln!("skipped: needs sudo");
        return;
    }
    let Some(fleet) = Fleet::start_with_become(3) else { return };
    let test = Test::new();
    copy_tree(&common::root().join("examples/from_ansible"), test.path());
    let mut inventory = std::fs::read_to_string(test.path().join("inventory.ini")).unwrap();
    for (number, host) in ["web-1", "web-2", "web-3"].iter().enumerate() {
        inventory = inventory.replace(&format!("10.0.0.1{}", number + 1), &fleet.host(host).address);
    }
    let dir = fleet.path().display();
    inventory = inventory.replace("ansible_user=deploy", "ansible_user=deployer");
    inventory.push_str(&format!(
        "ansible_ssh_private_key_file={dir}/id_ed25519\nansible_ssh_common_args='-o UserKnownHostsFile={dir}/known_hosts'\n"
    ));
    std::fs::write(test.path().join("inventory.ini"), inventory).unwrap();
    ok(&test.run_with(&["check", "--strict", "site.deploy"]));
    let output = test.run_with(&["run", "site.deploy", "--set", "version=1.1.0"]);
    ok(&output);
    assert!(output.stdout.contains("[release web-1] primary on port 8080"), "{}", output.stdout);
    assert!(output.stdout.contains("[release web-2] replica on port 8080"), "{}", output.stdout);
    assert_eq!(
        fleet.read("web-1", "app/current/app.conf"),
        "# web-1: primary, release 1.1.0\nserver {\n  listen 8080;\n  server_name web-1.example.net;\n  \
         upstream app-1.internal:9000;\n  upstream app-2.internal:9000;\n  workers 8;\n  primary on;\n}\n"
    );
    assert!(fleet.read("web-3", "app/current/app.conf").contains("  workers 2;\n}\n"));
    assert_eq!(fleet.read("web-2", "app/current/README"), "The application, release files.\n");
    let output = test.run_with(&["exec", "site.deploy", "web", "--limit", "web:!web-3", "--", "readlink app/current"]);
    ok(&output);
    assert!(output.stdout.contains("web-2 | ok | rc=0 >>\nreleases/1.1.0\n"), "{}", output.stdout);
}
