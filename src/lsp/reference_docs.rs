//! Documentation shown on hover: the language's keywords and attributes, the
//! built-in names, and the Rhai host functions (read from docs/scripting.md,
//! so the editor says what the docs say).

/// A keyword or attribute with a one-paragraph explanation (Markdown).
const KEYWORDS: &[(&str, &str)] = &[
    ("import", "`import \"PATH\" as NAME` — a module of templates. `std/...` is the stdlib inside the binary, `./...` is relative to this file, other paths are searched on `DEPLOY_PATH`."),
    ("as", "`import \"PATH\" as NAME` — the name the module's templates are used by: `stage x from NAME.template`."),
    ("pipeline", "`pipeline \"NAME\" { ... }` — the plan's name, `description`, `on_failure` policy, `lock` scope, `max_parallel`, `step_timeout`, script `limits`, what `deploy watch` follows (`watch { branch every repo }`) and lifecycle hooks (`on start|success|failure|rollback|paused`)."),
    ("param", "`param NAME: TYPE = DEFAULT` — a typed input, set with `--set NAME=VALUE`. Types: `string int bool duration percent list<T>`. Without a default it must be given."),
    ("secret", "`secret NAME = env(\"VAR\") | file(\"PATH\") | command(\"CMD\" [, TIMEOUT])` — a value read when the plan runs, redacted (`***`) in every output, event, log and state record. An environment holds its own in `secrets { NAME = ... }` (docs/secrets.md)."),
    ("environment", "`environment NAME { hosts = [...] vars { ... } protect { ... } }` — where a stage runs. `vars` are reachable as `${env.KEY}`; `protect` makes approval or a time window mandatory for every stage that targets it."),
    ("template", "`template stage NAME(PARAM: TYPE = DEFAULT, ...) { ... }` — a reusable stage or gate, instantiated with `stage x from MODULE.NAME { ARG = VALUE }`. As a step, `template \"templates/app.conf.j2\" to \"/etc/app.conf\"` renders a Jinja2 file (minijinja: `default`, `join`, `upper`, loops, conditionals) per host with the params, `version`, `host` (each host value, inventory variables included, also at the top level) and `env`, and writes it like `upload` (atomically, mode kept, through `become`); an undefined variable is E0147."),
    ("stage", "`stage NAME { ... }` — a node that does work: `run` and `script` steps, `needs`, `target`, `strategy`, `rollback`, `timeout`, `retry`, `when`, `monitor`, hooks."),
    ("gate", "`gate NAME { ... }` — a node that decides whether the release may go on: `approve`, `check`, `wait`, `window`, and the policies `on_fail`, `on_inconclusive`, `on_no_data`."),
    ("from", "`stage NAME from MODULE.TEMPLATE { ARG = VALUE ... }` — a node made from a template of an imported module."),
    ("run", "`run \"shell command\"` — a step. Every `${...}` in the command is shell-quoted; write `${raw(x)}` for raw text."),
    ("script", "`script ```...```` — a Rhai step; see docs/scripting.md for what scripts see and the host API."),
    ("upload", "`upload \"LOCAL\" to \"REMOTE\"` — a step that copies a file or a directory tree (relative to the plan) to every host of the stage, atomically (written beside the target, then renamed), modes kept. Over SSH it goes through the host's one connection; on the local transport it copies on this machine. A trailing `/` on REMOTE puts it inside that directory. `${...}` works in both paths."),
    ("to", "`upload \"LOCAL\" to \"REMOTE\"` — where the upload goes: relative to the host's working directory (`ssh { dir }`, the login directory, or the plan's directory locally)."),
    ("transport", "`transport = local | ssh` — how an environment's hosts are reached. `local` (the default): every command runs on this machine with `${host}` bound. `ssh`: every host is an SSH destination `[user@]host[:port]` or an alias from the client config (docs/transport.md)."),
    ("ssh", "`ssh { config user port identity jump known_hosts strict_host_keys connect_timeout dir }` — how an environment with `transport = ssh` connects: one OpenSSH ControlMaster per host and run (docs/transport.md)."),
    ("config", "`config = \"ssh_config\"` (in `ssh`) — an OpenSSH client config file, relative to the plan, passed as `-F`."),
    ("user", "`user = \"deploy\"` (in `ssh`) — the login user when a host does not name one (`user@host`)."),
    ("port", "`port = 22` (in `ssh`) — the port when a host does not name one (`host:2222`); 1 to 65535."),
    ("identity", "`identity = \"~/.ssh/id_ed25519\"` (in `ssh`) — the private key to use, and only that one (IdentitiesOnly)."),
    ("jump", "`jump = \"bastion\"` (in `ssh`) — a ProxyJump host every connection goes through."),
    ("known_hosts", "`known_hosts = \"known_hosts\"` (in `ssh`) — the known_hosts file host keys are checked against (UserKnownHostsFile)."),
    ("strict_host_keys", "`strict_host_keys = yes | accept-new` (in `ssh`) — `yes` (the default): an unknown or changed host key fails the host. `accept-new`: an unknown key is added; a changed key still fails."),
    ("connect_timeout", "`connect_timeout = 10s` (in `ssh`) — how long opening the connection to one host may take (1s to 10m; default 10s)."),
    ("dir", "`dir = \"/srv/app\"` (in `ssh`) — the remote working directory of every step and upload; the login directory when unset."),
    ("inventory", "`hosts = inventory(\"inventory.ini\", \"web\")` — the hosts of a group of an Ansible inventory, INI or YAML, with their variables (host line, `[group:vars]`, `group_vars/`, `host_vars/`) as `${host.KEY}`; `ansible_host`, `ansible_port`, `ansible_user`, `ansible_ssh_private_key_file` and `ansible_ssh_common_args` make the SSH destination."),
    ("rollback", "`rollback { steps }` — how to undo this stage. A stage with neither `rollback` nor `irreversible` gets warning W0001. As a policy (`on_failure = rollback`): undo every completed stage in reverse completion order."),
    ("strategy", "`strategy all_at_once | rolling { batch max_failures } | canary { steps pause analysis } | blue_green { switch verify keep_previous }` — how a stage with a `target` rolls out over its hosts."),
    ("on", "`on EVENT { steps }` — a lifecycle hook. In a stage: `start`, `success`, `failure`; in the pipeline also `rollback` and `paused`. A failing hook is reported and never hides the run's outcome."),
    ("approve", "`approve \"question\" by [\"alice\", \"ops\"]` — a gate that asks a person. Answered interactively, by `--approve NAME`/`--yes`, or the run pauses until `deploy approve` + `deploy resume`."),
    ("by", "`approve \"question\" by [...]` — who may approve; the approver's identity must be in the list."),
    ("check", "`check every 5s within 2m `rhai`` — a gate that polls a Rhai expression until it is true or the time is up. The script may also end in `fail()`, `inconclusive()` or `no_data()`."),
    ("every", "`N every DURATION` (retry), `check every DURATION`, or `every = 1m` in `watch { }` (how often `deploy watch` polls; at least 1s) — the interval."),
    ("within", "`check ... within DURATION` — how long a check may keep polling before it fails."),
    ("for", "`monitor = GATE for DURATION` — how long to keep evaluating the gate after the stage finished."),
    ("needs", "`needs = [a, b]` — the stages and gates this node waits for. Order comes from `needs`, not from the text; independent nodes run in parallel."),
    ("target", "`target = ENVIRONMENT` — run the steps once per host of the environment, with `${host}` bound. Without a target the stage runs once, locally."),
    ("timeout", "`timeout = DURATION | none` — the longest one attempt may take on one host. Default: the pipeline's `step_timeout` (30m); `none`: unbounded, on purpose."),
    ("retry", "`retry = N every DURATION` — try a failed attempt again up to N times."),
    ("when", "`when = `rhai expression`` — run the node only when the expression is true; otherwise it is skipped."),
    ("monitor", "`monitor = GATE for DURATION` — keep evaluating a gate in the background during the rollout and for a while after; a failure triggers the rollback path."),
    ("irreversible", "`irreversible = \"why\"` — this stage cannot be undone (instead of a `rollback` block)."),
    ("description", "`description = \"text\"` — shown by `deploy plan` and in the run's output."),
    ("on_failure", "`on_failure = rollback | pause | abort` — what a failure of the run does (pipeline block)."),
    ("on_fail", "`on_fail = rollback | pause | abort | continue` — what a failing gate does."),
    ("on_inconclusive", "`on_inconclusive = rollback | pause | abort | continue` — what a gate does when its check stays inconclusive."),
    ("on_no_data", "`on_no_data = rollback | pause | abort | continue` — what a gate does when its check finds no data."),
    ("wait", "`wait = DURATION` — a gate that passes after waiting."),
    ("window", "`window = \"Mon-Fri 08:00-17:00 UTC\"` — a gate (or `protect`) that passes only inside the time window."),
    ("hosts", "`hosts = [\"web-1\", { name = \"web-2\"  address = \"10.0.0.2\"  weight = 3 }]` or `hosts = inventory(\"FILE\", \"GROUP\")` — the hosts of an environment. A host is a name or a map with its own values: `name` (required), `address`, and any other key, read as `${host.KEY}`."),
    ("vars", "`vars { KEY = VALUE }` — values reachable as `${env.KEY}` in the stages that target the environment."),
    ("protect", "`protect { approval = required  window = \"...\" }` — approval or a time window that every stage targeting the environment must pass."),
    ("approval", "`approval = required | optional` (in `protect`)."),
    ("lock", "`lock = pipeline | environment` — what a run locks against concurrent runs."),
    ("max_parallel", "`max_parallel = N` — how many nodes run at once (default: see docs/cli.md)."),
    ("limits", "`limits { operations = ... call_depth = ... timeout = ... }` — the Rhai sandbox's limits (docs/scripting.md)."),
    ("all_at_once", "`strategy all_at_once` — every host at once (the default)."),
    ("rolling", "`strategy rolling { batch = 25%  max_failures = 1 }` — hosts in batches."),
    ("canary", "`strategy canary { steps = [10%, 50%, 100%]  pause = 1m  analysis = GATE }` — growing shares of hosts, the gate re-evaluated after each. With `traffic = ROUTER` (and `keep_previous`, `retire { steps }`): growing shares of *requests* through a router stage."),
    ("blue_green", "`strategy blue_green { switch { steps }  verify = GATE  keep_previous = 30m }` — install beside, verify, switch."),
    ("batch", "`batch = 25%` or `batch = 2` — hosts per batch of a rolling rollout."),
    ("max_failures", "`max_failures = N` — failed hosts tolerated by a rolling rollout."),
    ("steps", "`steps = [10%, 50%, 100%]` — canary steps: shares of hosts (or of requests, with `traffic`), increasing, ending at 100%."),
    ("pause", "`pause = DURATION` — the pause between canary steps. As a policy: pause the run (state saved) until resumed."),
    ("analysis", "`analysis = GATE` — the gate re-evaluated after each canary step."),
    ("switch", "`switch { steps }` — how a blue/green rollout switches traffic."),
    ("verify", "`verify = GATE` — the gate that must pass before a blue/green switch."),
    ("keep_previous", "`keep_previous = DURATION` — how long blue/green (or a traffic canary after 100%) keeps the previous release installed before it is retired."),
    ("step_timeout", "`step_timeout = DURATION | none` (pipeline) — the timeout of every stage that gives none of its own (default 30m); `none`: stages are unbounded unless they say otherwise."),
    ("none", "`timeout = none`, `step_timeout = none` — no time limit, on purpose."),
    ("watch", "`watch { branch = \"main\"  every = 1m  repo = \"URL\" }` (pipeline) — the git branch `deploy watch FILE` follows, how often it polls and which repository (default: the one holding FILE); flags override each entry (docs/continuous.md)."),
    ("branch", "`branch = \"main\"` (in `watch`) — the branch whose new commits `deploy watch` deploys."),
    ("repo", "`repo = \"URL\"` (in `watch`) — the repository `deploy watch` polls; default: the one holding the plan."),
    ("secrets", "`secrets { NAME = env(\"VAR\") | file(\"PATH\") | command(\"CMD\") }` (environment) — secrets only the stages that run in this environment see, as `${NAME}`; redacted like every secret (docs/secrets.md)."),
    ("env", "`env(\"VAR\", default)` — the value of an environment variable of the `deploy` process (a param default or a secret). In strings and scripts, `env.KEY` is a var of the target environment and `env.name` its name."),
    ("file", "`secret NAME = file(\"PATH\")` — a secret read from a file when the plan runs (relative to the plan; one trailing newline trimmed)."),
    ("command", "`secret NAME = command(\"CMD\" [, TIMEOUT])` — a secret read from a command's stdout when the plan runs (`pass show db/prod`, `sops -d ...`, `vault kv get ...`); the command may take TIMEOUT (default 30s)."),
    ("traffic", "`traffic = ROUTER` (in `strategy canary`) — move shares of *requests*, not hosts: each step runs the router stage's steps with `${weight}` bound to the step's percent (0 sends every request back to the stable version). A router is a stage made from a template with a `weight` parameter: `std/nginx.split`, `std/haproxy.weights`, or your own."),
    ("retire", "`retire { steps }` (in a traffic canary) — how to remove the previous version once the new one took 100% and `keep_previous` is over; `${previous_version}` names it."),
    ("weight", "`weight` — the share of requests (0 to 100) a router stage sends to the canary; bound by the canary at each step (`${weight}`)."),
    ("address", "`address = \"10.0.0.2\"` (in a host's map) — where the host is reached; `${host.address}` (the name when not given)."),
    ("failure_limit", "`failure_limit = N` (gate) — end the check as a failure as soon as more than N evaluations failed (fail fast)."),
    ("inconclusive_limit", "`inconclusive_limit = N` (gate) — end the check as inconclusive as soon as more than N evaluations were inconclusive."),
];

/// Built-in names every string and script can use.
const BUILTINS: &[(&str, &str)] = &[
    ("host", "`host: string` — the host the node runs on (only in stages with a `target`); `host.name`, `host.address` and `host.KEY` for each value of its map in `hosts` (falling back to the environment's var `KEY`)."),
    ("version", "`version: string` — the version being deployed (the param `version`)."),
    ("previous_version", "`previous_version: string` — the version deployed before, on this host/environment."),
    ("stage", "`stage: string` — the name of the stage or gate."),
    ("attempt", "`attempt: int` — 1 for the first attempt, then 2, 3…"),
    ("pipeline", "`pipeline: string` — the pipeline's name."),
    ("env", "`env` — the target environment: `env.name`, and `env.KEY` for each of its `vars`."),
    ("commit", "`commit: string` — the full hash of the commit `deploy watch` deploys (also `DEPLOY_COMMIT`); empty otherwise."),
];

pub fn keyword(word: &str) -> Option<&'static str> {
    KEYWORDS.iter().find(|(name, _)| *name == word).map(|(_, doc)| *doc)
}

pub fn builtin(word: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(name, _)| *name == word).map(|(_, doc)| *doc)
}

/// What `${host.KEY}` is, for completion and hover.
pub fn host_value(key: &str) -> String {
    match key {
        "name" => "`host.name` — the host's name, as `hosts` gives it (the same as `${host}`).".to_string(),
        "address" => "`host.address` — where the host is reached: its `address` in `hosts`, or its name.".to_string(),
        key => format!(
            "`host.{key}` — the value `{key}` of the current host's map in `hosts`; a host without one uses the environment's var `{key}`."
        ),
    }
}

pub fn builtins() -> impl Iterator<Item = (&'static str, &'static str)> {
    BUILTINS.iter().copied()
}

const SCRIPTING: &str = include_str!("../../docs/scripting.md");

/// The documentation of a host function (`http::get`, `log`, ...): its
/// section of docs/scripting.md, heading (the signatures) first.
pub fn host_function(name: &str) -> Option<String> {
    let host_api = SCRIPTING.split("\n## ").find(|section| section.starts_with("Host API"))?;
    for section in host_api.split("\n### ").skip(1) {
        let heading = section.lines().next().unwrap_or_default();
        let names = heading.split('`').skip(1).step_by(2).filter_map(|signature| signature.split('(').next());
        if names.into_iter().any(|n| n == name) {
            let body = section[heading.len()..].trim();
            return Some(format!("**{heading}**\n\n{body}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_functions_come_from_the_scripting_docs() {
        let Some(doc) = host_function("http::post") else { panic!("no docs for http::post") };
        assert!(doc.contains("POST `body` to `url`"), "{doc}");
        assert!(host_function("inconclusive").is_some());
        assert!(host_function("nope").is_none());
    }
}
