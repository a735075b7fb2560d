//! Lowering of an environment's remote side: `transport = ssh | local`,
//! the `ssh { ... }` block, `hosts = inventory("FILE", "GROUP")`, and the
//! check that every host of an SSH environment is a destination.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::inventory::{read_group, GroupRead, InventoryHost, IGNORED_NOTE};
use super::lowering::check_duplicate_entries;
use super::model::{Type, Value};
use super::ssh_settings::{
    parse_port, BecomeMethod, Destination, SshSettings, StrictHostKeys, TransportKind, SSH_KEYS,
};
use super::values::Typer;
use super::vocabulary::STRICT_HOST_KEYS;
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::syntax::ast::{self, Entry, NamedBlock, ValueKind};

/// The shortest and longest `connect_timeout`.
const CONNECT_TIMEOUT_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(600));

pub fn transport(typer: &mut Typer, value: &ast::Value) -> TransportKind {
    match typer.word(value, super::vocabulary::TRANSPORTS).as_deref() {
        Some("ssh") => TransportKind::Ssh,
        _ => TransportKind::Local,
    }
}

/// The `ssh { ... }` block; relative paths are resolved against `base_dir`.
pub fn ssh_block(typer: &mut Typer, block: &NamedBlock, base_dir: &Path) -> SshSettings {
    let file = typer.file;
    check_duplicate_entries(file, &block.body.entries, typer.diagnostics);
    let mut settings = SshSettings::default();
    for entry in &block.body.entries {
        let Entry::Attribute(a) = entry else {
            typer.diagnostics.push(unknown_key(file, entry));
            continue;
        };
        let path = |typer: &mut Typer| string(typer, &a.value).map(|text| resolve_path(base_dir, &text));
        match a.name.name.as_str() {
            "config" => settings.config = path(typer),
            "identity" => settings.identity = path(typer),
            "known_hosts" => settings.known_hosts = path(typer),
            "user" => settings.user = string(typer, &a.value),
            "jump" => settings.jump = string(typer, &a.value),
            "dir" => settings.dir = string(typer, &a.value),
            "port" => settings.port = port(typer, &a.value),
            "connect_timeout" => settings.connect_timeout = connect_timeout(typer, &a.value),
            "become" => settings.become_root = matches!(typer.constant(&a.value, &Type::Bool), Some(Value::Bool(true))),
            "become_user" => settings.become_user = string(typer, &a.value),
            "become_method" => settings.become_method = become_method(typer, &a.value),
            "strict_host_keys" => {
                settings.strict_host_keys = match strict_word(typer, &a.value).as_deref() {
                    Some("accept-new") => StrictHostKeys::AcceptNew,
                    _ => StrictHostKeys::Yes,
                }
            }
            _ => typer.diagnostics.push(unknown_key(file, entry)),
        }
    }
    settings
}

fn unknown_key(file: crate::syntax::span::FileId, entry: &Entry) -> Diagnostic {
    let word = entry.keyword();
    let diagnostic = Diagnostic::new(Code::UnknownSshSetting, format!("`ssh` has no setting `{word}`")).at(
        file,
        entry.keyword_span(),
        "not an ssh setting",
    );
    match did_you_mean(word, SSH_KEYS.iter().copied()) {
        Some(close) => diagnostic.with_help(format!("did you mean `{close}`?")),
        None => diagnostic.with_help(format!("`ssh` accepts: {}", SSH_KEYS.join(", "))),
    }
}

fn string(typer: &mut Typer, value: &ast::Value) -> Option<String> {
    match typer.constant(value, &Type::String)? {
        Value::String(text) => Some(text),
        _ => None,
    }
}

/// `~/x` is under `$HOME`; a relative path is under the plan's directory.
fn resolve_path(base_dir: &Path, text: &str) -> PathBuf {
    if let Some(rest) = text.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return PathBuf::from(home).join(rest);
        }
    }
    base_dir.join(text)
}

fn port(typer: &mut Typer, value: &ast::Value) -> Option<u16> {
    let problem = match &value.kind {
        ValueKind::Int(number) => match parse_port(&number.to_string()) {
            Ok(port) => return Some(port),
            Err(problem) => problem,
        },
        other => format!("a port is a number from 1 to 65535, found {}", other.describe()),
    };
    typer.diagnostics.push(
        Diagnostic::new(Code::InvalidPort, problem)
            .at(typer.file, value.span, "not a port")
            .with_help("write a number without quotes: port = 2222"),
    );
    None
}

fn connect_timeout(typer: &mut Typer, value: &ast::Value) -> Option<Duration> {
    let (low, high) = CONNECT_TIMEOUT_RANGE;
    let problem = match &value.kind {
        ValueKind::Duration(duration) if (low..=high).contains(duration) => return Some(*duration),
        ValueKind::Duration(_) => "`connect_timeout` must be from 1s to 10m".to_string(),
        other => format!("`connect_timeout` is a duration, found {}", other.describe()),
    };
    typer.diagnostics.push(
        Diagnostic::new(Code::InvalidConnectTimeout, problem)
            .at(typer.file, value.span, "not a connect timeout")
            .with_help("write a duration without quotes: connect_timeout = 10s"),
    );
    None
}

/// `become_method = sudo | su` (a bare word or a string).
fn become_method(typer: &mut Typer, value: &ast::Value) -> BecomeMethod {
    let word = match &value.kind {
        ValueKind::String(text) => text.as_plain(),
        ValueKind::Path(path) if path.segments.len() == 1 => Some(path.dotted()),
        _ => None,
    };
    match word.as_deref() {
        Some("sudo") => return BecomeMethod::Sudo,
        Some("su") => return BecomeMethod::Su,
        _ => {}
    }
    let found = word.map(|w| format!("`{w}`")).unwrap_or_else(|| value.kind.describe().to_string());
    typer.diagnostics.push(
        Diagnostic::new(Code::InvalidValue, format!("`become_method` is `sudo` or `su`, found {found}"))
            .at(typer.file, value.span, "not a become method")
            .with_help(
                "write become_method = sudo (steps run through `sudo -n`, without a tty) or su (from a root login only: without a tty su would ask for a password)",
            ),
    );
    BecomeMethod::Sudo
}

/// `yes` or `accept-new`, written as a bare word or a string (`accept_new`,
/// the spelling before a word could hold a `-`, is still read).
fn strict_word(typer: &mut Typer, value: &ast::Value) -> Option<String> {
    let word = match &value.kind {
        ValueKind::String(text) => text.as_plain(),
        ValueKind::Path(path) if path.segments.len() == 1 => Some(path.dotted()),
        _ => None,
    };
    let word = word.map(|word| if word == "accept_new" { "accept-new".to_string() } else { word });
    if let Some(word) = word.as_deref().filter(|word| STRICT_HOST_KEYS.contains(word)) {
        return Some(word.to_string());
    }
    let found = match &word {
        Some(word) => format!("`{word}`"),
        None => value.kind.describe().to_string(),
    };
    let mut diagnostic = Diagnostic::new(
        Code::InvalidValue,
        format!("`strict_host_keys` is one of {}, found {found}", STRICT_HOST_KEYS.join(", ")),
    )
    .at(typer.file, value.span, "not allowed here");
    diagnostic = match word.as_deref().and_then(|word| did_you_mean(word, STRICT_HOST_KEYS.iter().copied())) {
        Some(close) => diagnostic.with_help(format!("did you mean `{close}`?")),
        None => diagnostic.with_help("write strict_host_keys = yes, or strict_host_keys = accept-new"),
    };
    typer.diagnostics.push(diagnostic);
    None
}

/// `inventory("FILE", "GROUP")`: the hosts of GROUP, or `None` after a diagnostic.
pub fn inventory(typer: &mut Typer, value: &ast::Value, base_dir: &Path) -> Option<GroupRead> {
    let ValueKind::Call { args, .. } = &value.kind else { return None };
    let texts: Vec<Option<String>> = args.iter().map(arg_text).collect();
    let fail = |typer: &mut Typer, message: String, help: &str| {
        typer.diagnostics.push(
            Diagnostic::new(Code::InvalidInventory, message)
                .at(typer.file, value.span, "this inventory")
                .with_help(help),
        );
        None
    };
    let [Some(file), Some(group)] = texts.as_slice() else {
        return fail(
            typer,
            "`inventory` takes two plain strings: a file and a group".into(),
            "write hosts = inventory(\"inventory.ini\", \"web\")",
        );
    };
    let path = resolve_path(base_dir, file);
    let text = match crate::check::loader::read_to_string_limited(&path) {
        Ok(text) => text,
        Err(error) => {
            return fail(
                typer,
                format!("cannot read inventory {}: {error}", path.display()),
                "the path is relative to the plan",
            )
        }
    };
    match read_group(&path, &text, group, base_dir) {
        Ok(read) if read.hosts.is_empty() => {
            fail(typer, format!("group `{group}` of {file} has no hosts"), "add hosts under [GROUP]")
        }
        Ok(read) => {
            for (variable, host) in &read.ignored {
                typer.diagnostics.push(
                    Diagnostic::new(
                        Code::IgnoredInventoryVariable,
                        format!("{file}: `{variable}` (host `{host}`) is ignored: deploy does not use it"),
                    )
                    .at(typer.file, value.span, "this inventory")
                    .with_help(IGNORED_NOTE),
                );
            }
            Some(read)
        }
        Err(problem) => fail(typer, format!("{file}: {problem}"), "see `deploy explain E0142` for the format"),
    }
}

fn arg_text(arg: &ast::Value) -> Option<String> {
    match &arg.kind {
        ValueKind::String(text) => text.as_plain(),
        _ => None,
    }
}

/// Every host of an SSH environment as a destination (inventory hosts
/// bring theirs); a host that is not one gets a diagnostic.
pub fn destinations(
    typer: &mut Typer,
    hosts: &[crate::check::model::HostDef],
    from_inventory: &[InventoryHost],
    span: crate::syntax::span::Span,
) -> Vec<(String, Destination)> {
    let mut out = Vec::with_capacity(hosts.len());
    for host in hosts {
        if let Some(known) = from_inventory.iter().find(|h| h.name == host.name) {
            out.push((host.name.clone(), known.destination.clone()));
            continue;
        }
        // A host entry's own `address` is where SSH goes; else its name.
        match Destination::parse(host.address.as_deref().unwrap_or(&host.name)) {
            Ok(destination) => out.push((host.name.clone(), destination)),
            Err(problem) => {
                let code = if problem.contains("not a port") { Code::InvalidPort } else { Code::InvalidSshDestination };
                typer.diagnostics.push(
                    Diagnostic::new(code, format!("host {problem}"))
                        .at(typer.file, span, "in these hosts")
                        .with_help("an ssh host is [user@]host[:port] or an alias from the client config"),
                );
            }
        }
    }
    out
}
