use super::*;
use serde_json::json;

const INVENTORY: &str = "\
# fleet
loose-1
[web]
web-1 ansible_host=10.0.0.11 ansible_user=deploy role=primary weight=3
web-[02:03] ansible_port=2222 role=replica
web-9:2200

[db]
db-1 ansible_python_interpreter=/usr/bin/python3

[web:vars]
ansible_user=ops
http_port=8080
tier=web

[prod:children]
web
db

[prod:vars]
tier=prod
region=eu

[all:vars]
region=world
ntp=time.example.net
";

fn read(text: &str, group: &str) -> GroupRead {
    read_group(Path::new("inventory.ini"), text, group, Path::new("/plan")).unwrap()
}

#[test]
fn groups_children_and_connection_vars() {
    let web = group_hosts(INVENTORY, "web").unwrap();
    let names: Vec<&str> = web.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["web-1", "web-02", "web-03", "web-9"]);
    assert_eq!(web[0].destination.display(), "deploy@10.0.0.11");
    assert_eq!(web[0].address.as_deref(), Some("10.0.0.11"));
    assert_eq!(web[1].destination.display(), "ops@web-02:2222");
    assert_eq!(web[3].destination.display(), "ops@web-9:2200");
    assert_eq!(group_hosts(INVENTORY, "prod").unwrap().len(), 5);
    assert!(group_hosts(INVENTORY, "cache").unwrap_err().contains("no group `cache`"));
    assert!(group_hosts("[a:children]\na\n", "a").unwrap_err().contains("itself"));
    assert!(group_hosts("[a]\nx ansible_port=0\n", "a").is_err());
}

#[test]
fn implicit_groups_all_and_ungrouped() {
    let all: Vec<String> = group_hosts(INVENTORY, "all").unwrap().into_iter().map(|h| h.name).collect();
    assert_eq!(all, ["loose-1", "web-1", "web-02", "web-03", "web-9", "db-1"]);
    let ungrouped: Vec<String> = group_hosts(INVENTORY, "ungrouped").unwrap().into_iter().map(|h| h.name).collect();
    assert_eq!(ungrouped, ["loose-1"]);
}

#[test]
fn precedence_host_over_child_over_parent_over_all() {
    let web = read(INVENTORY, "web").hosts;
    let one = &web[0].vars;
    assert_eq!(one["role"], json!("primary"));
    assert_eq!(one["weight"], json!(3));
    assert_eq!(one["http_port"], json!("8080"));
    assert_eq!(one["tier"], json!("web"), "the child group wins over its parent");
    assert_eq!(one["region"], json!("eu"), "a group wins over all");
    assert_eq!(one["ntp"], json!("time.example.net"));
    let db = read(INVENTORY, "db");
    assert_eq!(db.hosts[0].vars["tier"], json!("prod"));
    assert_eq!(db.ignored, [("ansible_python_interpreter".to_string(), "db-1".to_string())]);
}

#[test]
fn group_vars_and_host_vars_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("group_vars/prod")).unwrap();
    std::fs::create_dir_all(dir.path().join("host_vars")).unwrap();
    std::fs::write(dir.path().join("group_vars/all.yml"), "region: files\nntp: ntp.files\n").unwrap();
    std::fs::write(dir.path().join("group_vars/prod/10.yml"), "tier: prodfile\nlist: [a, b]\n").unwrap();
    std::fs::write(dir.path().join("group_vars/web.yaml"), "---\nhttp_port: 9090\n").unwrap();
    std::fs::write(dir.path().join("host_vars/web-1.yml"), "role: leader\nansible_port: 2022\n").unwrap();
    let path = dir.path().join("inventory.ini");
    let web = read_group(&path, INVENTORY, "web", dir.path()).unwrap().hosts;
    let one = &web[0].vars;
    assert_eq!(one["role"], json!("leader"));
    assert_eq!(web[0].destination.port, Some(2022));
    assert_eq!(one["http_port"], json!(9090));
    // Ansible: every group_vars/ file wins over every inventory group var.
    assert_eq!(one["tier"], json!("prodfile"));
    assert_eq!(one["region"], json!("files"));
    assert_eq!(one["ntp"], json!("ntp.files"));
    assert_eq!(one["list"], json!(["a", "b"]));
    std::fs::write(dir.path().join("group_vars/web.yaml"), "http_port: [unclosed\n").unwrap();
    let error = read_group(&path, INVENTORY, "web", dir.path()).unwrap_err();
    assert!(error.contains("web.yaml") && error.contains("line"), "{error}");
}

#[test]
fn yaml_inventory() {
    let text = "\
all:
  vars:
    ntp: time.example.net
  hosts:
    lone:
  children:
    web:
      hosts:
        web-1: { ansible_host: 10.0.0.11, role: primary }
        web-[2:3]:
      vars:
        http_port: 8080
    prod:
      children:
        web:
";
    let path = Path::new("inventory.yml");
    let web = read_group(path, text, "web", Path::new(".")).unwrap().hosts;
    let names: Vec<&str> = web.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["web-1", "web-2", "web-3"]);
    assert_eq!(web[0].vars["http_port"], json!(8080));
    assert_eq!(web[0].vars["ntp"], json!("time.example.net"));
    assert_eq!(web[0].destination.host, "10.0.0.11");
    assert_eq!(read_group(path, text, "prod", Path::new(".")).unwrap().hosts.len(), 3);
    assert_eq!(read_group(path, text, "ungrouped", Path::new(".")).unwrap().hosts[0].name, "lone");
    assert!(read_group(path, "all: [1, 2\n", "all", Path::new(".")).unwrap_err().contains("line"));
    assert!(read_group(path, "all:\n  hostz: {}\n", "all", Path::new(".")).unwrap_err().contains("hostz"));
}

#[test]
fn key_files_and_common_args() {
    let text =
        "[web]\nw1 ansible_ssh_private_key_file=keys/id ansible_ssh_common_args='-o ProxyCommand=\"nc %h %p\"'\n";
    let web = read(text, "web").hosts;
    assert_eq!(web[0].destination.identity.as_deref(), Some(Path::new("/plan/keys/id")));
    assert_eq!(web[0].destination.args, ["-o", "ProxyCommand=nc %h %p"]);
}

#[test]
fn ranges() {
    assert_eq!(expand("w[a:c]").unwrap(), ["wa", "wb", "wc"]);
    assert_eq!(expand("w[1:5:2]").unwrap(), ["w1", "w3", "w5"]);
    assert_eq!(expand("w[01:02]x").unwrap(), ["w01x", "w02x"]);
    assert!(expand("w[3:1]").is_err());
    assert!(expand("w[1:2").is_err());
}
