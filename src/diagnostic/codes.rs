//! The catalogue of diagnostic codes. Codes are stable: a code is never
//! reused for another problem. `deploy explain CODE` prints the explanation,
//! and docs/diagnostics.md is generated from this table (a test keeps it in sync).

use super::Severity;

macro_rules! codes {
    ($( $variant:ident = $code:literal, $severity:ident, $title:literal, $explanation:literal; )*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $( $variant, )* }

        /// Every code, in catalogue order.
        pub const ALL_CODES: &[Code] = &[ $( Code::$variant, )* ];

        impl Code {
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }
            pub fn severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$severity, )* }
            }
            /// A few words naming the problem.
            pub fn title(self) -> &'static str {
                match self { $( Code::$variant => $title, )* }
            }
            /// The long explanation, with an example.
            pub fn explanation(self) -> &'static str {
                match self { $( Code::$variant => $explanation, )* }
            }
        }
    };
}

impl Code {
    pub fn parse(text: &str) -> Option<Code> {
        let wanted = text.trim().to_ascii_uppercase();
        ALL_CODES.iter().copied().find(|code| code.as_str() == wanted)
    }
}

/// docs/diagnostics.md, generated from this catalogue (a test keeps the
/// file in sync).
pub fn catalogue_markdown() -> String {
    let mut out = String::from(
        "# Diagnostics\n\nEvery problem `deploy check` can report, with its stable code. \
         `deploy explain CODE` prints the same text. Errors (`E`) stop a plan from running; \
         warnings (`W`) do not, unless `--strict` is given.\n\nThis file is generated from \
         `src/diagnostic/codes.rs`; `UPDATE_DOCS=1 cargo test --test cli docs_list_every_code` rewrites it.\n\n",
    );
    out.push_str("| code | severity | problem |\n| --- | --- | --- |\n");
    for code in ALL_CODES {
        let severity = match code.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        out.push_str(&format!(
            "| [{0}](#{1}) | {severity} | {2} |\n",
            code.as_str(),
            code.as_str().to_lowercase(),
            code.title()
        ));
    }
    for code in ALL_CODES {
        out.push_str(&format!("\n## {}\n\n**{}**\n\n{}\n", code.as_str(), code.title(), code.explanation()));
    }
    out
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

codes! {
    Syntax = "E0001", Error, "syntax error",
"The text is not valid `.deploy` syntax. The diagnostic says what was expected
at the marked place, for example:

    stage build
      run \"make\"        // error: expected `{` or `from`

Every item (`stage`, `gate`, `environment`, `pipeline`, `template`) needs a
`{ ... }` body; attributes are written `name = value`.

Every item that does not parse has its own error, and the items that do are
still checked. A bracket left open or closed by the wrong one (`needs = [a`
then `}`), a `/*` never closed and a `//` inside `${}` are said where they
start, not where the parser gave up.";

    UnreadableFile = "E0002", Error, "file cannot be read",
"A plan or module could not be read: it does not exist, is a directory, is
not valid UTF-8, or is too large. Check the path given on the command line
or in the `import`.

A plan or module may be at most 64 MiB; `deploy` reads no more than that (so
`deploy check /dev/zero`, a FIFO or a device is refused as too large instead
of being read forever). The environment variable `DEPLOY_MAX_FILE_SIZE` sets
another limit, in bytes.";

    UnknownName = "E0100", Error, "unknown name",
"A name refers to nothing declared in the plan: a stage or gate in `needs`,
a param or variable in `${...}`, a gate in `analysis`, `verify` or `monitor`,
or a variable a Rhai snippet (`check`, `when`, `script`, hooks) reads that is
neither a param, a secret, a template parameter, a built-in nor one of the
script names of docs/scripting.md, and that the snippet does not define
itself (`let`, function parameters). Words in Rhai comments and strings and
properties (`x.host`) are not reads.

    stage deploy { needs = [biuld] }   // error: unknown stage or gate `biuld`
    when = `versoin != \"dev\"`          // error: unknown name `versoin` in Rhai

The help line suggests the closest declared name.";

    DuplicateName = "E0101", Error, "duplicate name",
"Two items of the same namespace share a name. Stages and gates share one
namespace (both are nodes of the graph); environments, params and secrets,
templates and import aliases each have their own. The second definition is
marked, the first is shown as a secondary label.

A param or secret named like a built-in is reported under this code too: the
built-ins `host`, `previous_version`, `stage`, `attempt`, `pipeline`,
`commit` and `env` are taken in every `${...}` and script (`version` is the
exception: a plan declares `param version` to say what it deploys).";

    NeedsCycle = "E0102", Error, "cycle in `needs`",
"The `needs` edges form a cycle, so no node of the cycle could ever start:

    stage a { needs = [b] }
    stage b { needs = [a] }

The diagnostic prints one shortest cycle through the first node of the
cycling set and labels every edge of it. A cycle of more than 11 nodes is
shown by its first five and last five nodes and how many stand between them
(`cycle of 10001 nodes: s0 → s10000 → … 9991 more … → s1 → s0`), with those
edges labelled, so the answer stays short and quick for any plan.";

    UnknownEnvironment = "E0103", Error, "unknown environment",
"`target = NAME` names an environment that is not declared. Declare it with
`environment NAME { hosts = [...] }` or fix the name.";

    UnknownTemplate = "E0104", Error, "unknown template",
"`stage NAME from MODULE.TEMPLATE` names a template that the module does not
define, or whose kind differs (a `template gate` cannot make a stage).
`deploy modules` lists the templates of every module.";

    UnknownModule = "E0105", Error, "unknown module",
"`from MODULE.TEMPLATE` uses a module alias that no `import ... as MODULE`
declares.";

    ModuleNotFound = "E0106", Error, "module not found",
"An `import` path does not resolve. `std/...` names an embedded stdlib module;
`./...` and `../...` are relative to the importing file; any other path is
searched in the colon-separated directories of `DEPLOY_PATH` (with and
without a `.deploy` suffix).";

    InvalidRemoteImport = "E0160", Error, "invalid remote import",
"A remote import is written `git+URL//PATH@REF`: the repository git fetches
(`https://`, `ssh://`, `git://` or `file://`), `//`, the module's path inside
the repository (which may not leave it), `@` and a ref (a tag, a branch, a
full commit, or a version range over the tags: `v1`, `^1.4`, `~1.4`):

    import \"git+https://git.example.com/platform/modules.git//web/service.deploy@v1.4.2\" as web";

    RemoteModuleNotLocked = "E0161", Error, "remote module not locked",
"A remote import that `deploy.lock` (beside the plan) does not name, or a file
of it the lock has no hash of. `check`, `plan` and `run` never resolve a ref by
themselves: run `deploy modules fetch PLAN`, review the new `deploy.lock` and
commit it.";

    RemoteModuleUnavailable = "E0162", Error, "remote module unavailable",
"A remote module the lock names cannot be used: its commit cannot be fetched
(the server is unreachable, a credential is missing, or deploy is offline
with `DEPLOY_OFFLINE=1` and the cache does not hold it), the file is not in
that commit, or its sha256 is not the one `deploy.lock` records (a changed
cache file is fetched again first). When fetching, a tag that now points to
another commit than the lock says is refused with both commits: tags are not
supposed to move; `deploy modules update` takes the new commit on purpose.";

    ImportCycle = "E0107", Error, "import cycle",
"Modules import each other in a cycle. Modules hold templates; move the shared
templates into a third module that both import.";

    ImportOutsideRepository = "E0146", Error, "import outside the repository",
"An `import` path leads out of the plan's repository: the nearest directory
above the plan that holds `.git`, or the plan's own directory when there is
none. Imports are resolved inside it (and inside the directories of
`DEPLOY_PATH`, which are allowed explicitly), so a plan cannot read other
files of the machine:

    import \"../../../../etc/passwd\" as p   // error: leaves the repository

The file is not read, so no line of it is shown. A symbolic link inside the
repository that points out of it is refused the same way. Put the module in
the repository, or add its directory to `DEPLOY_PATH`.";

    MissingArgument = "E0108", Error, "missing template argument",
"A template parameter without a default was not given when the template was
instantiated:

    template stage migrate(version: string) { ... }
    stage m from db.migrate { }        // error: missing argument `version`";

    UnknownArgument = "E0109", Error, "unknown template argument",
"An attribute of a `from` instantiation is neither a parameter of the template
nor an attribute every node accepts (`needs`, `target`, `when`, `timeout`,
`retry`, `monitor`, the `on_*` policies).";

    TypeMismatch = "E0110", Error, "wrong type",
"A value has the wrong type for where it is used: a param default, a `--set`
value, a template argument or an attribute. Types are `string`, `int`,
`bool`, `duration` (`500ms`, `10s`, `2m`, `1h30m`, `1d`), `percent` (`25%`)
and `list<T>`.";

    UnknownAttribute = "E0111", Error, "unknown attribute or block",
"The attribute or block is not one that this item accepts. The help line lists
what is accepted, with the closest match first.";

    StrategyWithoutTarget = "E0112", Error, "strategy without target",
"A `strategy` decides how a stage rolls out over the hosts of its target
environment; a stage without `target` runs once, locally, and has no hosts to
roll out over. Add `target = ENV` or remove the strategy.";

    InvalidCanarySteps = "E0113", Error, "invalid canary steps",
"Canary `steps` must be percents above 0% (fractions such as `0.5%` or even
`0.0001%` are accepted: a step takes its share of the hosts rounded up, so
at least one), strictly increasing, and the last must be
100% so that the rollout completes:

    strategy canary { steps = [10%, 50%, 100%] }";

    NotAGate = "E0114", Error, "not a gate",
"`analysis`, `verify` and `monitor` name a gate whose check is evaluated; the
name given is a stage.";

    NotATrafficRouter = "E0145", Error, "not a traffic router",
"`traffic` in `strategy canary` names the stage that sets the share of
requests the canary gets: a stage, usually an instance of a router template
such as `std/nginx.split` or `std/haproxy.weights`, with a `weight`
parameter (the engine runs its steps with `${weight}` bound to each step's
percent, and to 0 to send every request back to the stable version). The
name given is a gate, the canary stage itself, or a stage without `weight`:

    template stage my_router(weight: int = 0) { run \"./set-weight ${weight}\" ... }
    stage router from my_router { }
    strategy canary { steps = [5%, 100%]  traffic = router }";

    ScriptSyntax = "E0115", Error, "Rhai syntax error",
"An embedded Rhai snippet (`inline` or a ```fenced``` block) does not compile.
Scripts are compiled when the plan is checked; the error points at the line
and column inside the `.deploy` file.";

    InvalidValue = "E0116", Error, "invalid value",
"The value has the right type but is not allowed here: an unknown policy word
(`on_failure` accepts `rollback`, `pause`, `abort`), a retry count of zero, a
percent above 100%, a number out of range.";

    DuplicateAttribute = "E0117", Error, "duplicate attribute",
"The same attribute or block is given twice in one item. The first is shown as
a secondary label.";

    WrongNodeKind = "E0118", Error, "not allowed in this kind of node",
"Stages do work and gates decide: `run`, `script`, `rollback`, `target` and
`strategy` belong to stages; `approve`, `check`, `wait` and `window` belong to
gates.";

    InvalidWindow = "E0119", Error, "invalid time window",
"A `window` is written as day ranges, a time range and a time zone:
`Mon-Fri 08:00-17:00 UTC`, `Sat,Sun 10:00-12:00 Europe/Berlin`,
`Mon-Sun 22:00-06:00 +02:00`. Days are Mon Tue Wed Thu Fri Sat Sun.";

    UnknownFunction = "E0120", Error, "unknown function",
"Plan values may call `env(\"VAR\")` or `env(\"VAR\", \"default\")` only;
anything more elaborate belongs in a Rhai snippet.";

    MissingValue = "E0121", Error, "missing required value",
"Something required is missing: a param without default not given with
`--set`, an environment without `hosts`, a gate with nothing to decide
(no `approve`, `check`, `wait` or `window`), a `blue_green` without `switch`,
or an environment variable read by `env(\"VAR\")` without default that is unset
(reported when the plan is run or planned).";

    InvalidSet = "E0122", Error, "invalid --set",
"`--set` takes `NAME=VALUE` where NAME is a declared param; the value is parsed
by the param's type (`--set batch=25%`, `--set replicas=3`,
`--set hosts=a,b`).";

    PinnedModuleChanged = "E0123", Error, "pinned module changed",
"A module the plan imports is pinned in `deploy.sum` (beside the plan), and
its text is no longer what was pinned: someone changed a shared module, and
the plan would now run something nobody reviewed. Read the change (for a
module on `DEPLOY_PATH`, in its repository's history); when it is what you
want, pin again:

    deploy modules pin release.deploy

Stdlib modules (`std/...`) are never pinned: they are part of the binary.";

    ModuleNotPinned = "E0124", Error, "module not pinned",
"The plan has a `deploy.sum`, but imports a module that is not in it — a new
import, or one moved to another path. Every non-stdlib module of a pinned
plan must be pinned, transitively, so that no module changes a plan
unreviewed. Pin it:

    deploy modules pin release.deploy

Plans without a `deploy.sum` are not pinned and get no such diagnostic.";

    UnknownSshSetting = "E0140", Error, "unknown ssh setting",
"An `ssh { ... }` block of an environment accepts: `config` (an OpenSSH client
config file, relative to the plan), `user`, `port`, `identity` (a private key
file), `jump` (a ProxyJump host), `known_hosts` (a file), `strict_host_keys =
yes | accept-new`, `connect_timeout` (a duration), `dir` (the remote working
directory), and `become = true`, `become_user`, `become_method = sudo | su` (run as
another user through `sudo -n`, or `su` from a root login). Anything else is a typo, or an option that belongs in the client
config file:

    environment production {
      transport = ssh
      hosts     = [\"deploy@10.0.0.11\", \"web-2\"]
      ssh { user = \"deploy\"  port = 22  connect_timeout = 10s  dir = \"/srv/app\" }
    }";

    InvalidPort = "E0141", Error, "invalid port",
"A port is a whole number from 1 to 65535: `port = 2222` in an `ssh` block, or
`host:2222` in a host's destination. Quotes are not needed.";

    InvalidInventory = "E0142", Error, "invalid inventory",
"`hosts = inventory(\"FILE\", \"GROUP\")` reads an Ansible inventory, INI or
YAML (relative to the plan), and takes the hosts of GROUP and of its
`:children` groups (`all` and `ungrouped` exist too), with their variables
(host line, `[GROUP:vars]`, `group_vars/`, `host_vars/` beside the file).
The file and its variable files must exist, parse, and have the group:

    [web]
    web-1 ansible_host=10.0.0.11
    web-[02:04] ansible_user=deploy";

    InvalidSshDestination = "E0143", Error, "invalid ssh destination",
"Under `transport = ssh` every host is an SSH destination: `[user@]host[:port]`,
an IPv6 address in brackets (`[fd00::1]:22`), or an alias from the client
config. It may not be empty, contain spaces, or start with `-`. A plan whose
hosts are only names for this machine keeps `transport = local` (the
default).";

    InvalidTemplate = "E0147", Error, "invalid template",
"A `template \"FILE\" to \"REMOTE\"` step renders FILE (a Jinja2 template,
relative to the plan) for each host with minijinja, then uploads it. When
FILE is plain text, `deploy check` reads it: it must exist and parse, and
every variable it reads must be a param, a built-in (`version`, `stage`,
`host`, `env`, ...), a var of the environment, or a value every host of the
stage's environment has (its map in `hosts`, or its inventory variables).
Give the missing hosts the value, or a default in the template:

    listen {{ http_port | default(80) }};";

    InvalidConnectTimeout = "E0144", Error, "invalid connect timeout",
"`connect_timeout` in an `ssh` block is a duration from 1s to 10m, written
without quotes: `connect_timeout = 10s`. It bounds how long opening the
connection to one host may take before that host fails as unreachable.";
    HostInStageGate = "E0130", Error, "`host` in a gate a stage decides",
"A gate used as a canary `analysis`, a blue/green `verify` or a `monitor` is
decided by the stage once for all the hosts rolled out so far, not once per
host, so `${host}` (or `host` in its script) has no value there. Point the
gate at something every host shares, for example a var of the environment:

    environment production { hosts = [\"web-1\", \"web-2\"]  vars { url = \"http://lb.internal\" } }
    gate smoke from http.healthy { url = \"${env.url}/health\" }

or check each host in the stage's own steps.";

    WhenOnStageGate = "E0131", Error, "`when` on a gate a stage decides",
"A gate used as a canary `analysis`, a blue/green `verify` or a `monitor` is
decided by the stage that uses it whenever its rollout reaches that point; a
`when` on the gate would never be evaluated there. Remove it, or put the
condition on the stage (`when` on a stage skips the whole stage).";

    RhaiWordAsName = "E0132", Error, "param named like a Rhai keyword",
"Params and secrets are visible to every Rhai snippet under their own name,
and Rhai keeps some words for itself (`case`, `fn`, `let`, `match`, `switch`,
`default`, ...): a script could never use such a param. The declaration is
reported once; rename it:

    param case_name: string = \"smoke\"   // not `param case`";

    SecretUnavailable = "E0133", Error, "secret cannot be read",
"A secret's source failed when the run started, before anything ran:
`file(\"path\")` names a file that cannot be read (the path is relative to the
plan), or `command(\"...\")` could not start, exited non-zero or did not finish
within its timeout (`command(\"vault kv get -field=pw db\", 10s)`; default 30s).
The command's stdout is never printed; the message quotes the last line of its
stderr. Run the command by hand to see why.";

    UnknownSelection = "E0134", Error, "unknown --env or --limit",
"`deploy run` and `deploy plan` take `--env ENV` (repeatable) and
`--limit HOST[,HOST...]` (names or globs such as `web-*`). An environment
the plan does not declare, or a limit that matches none of its hosts, is an
error that lists what the plan has, before anything runs.";

    NoRollback = "W0001", Warning, "stage without rollback",
"A stage that changes something should say how to undo it. Add a
`rollback { ... }` block, or `irreversible = \"why\"` when the change cannot be
undone. Under `--strict` this is an error. Stages without steps are exempt.";

    IrreversibleBeforeApproval = "W0002", Warning, "irreversible stage before an approval",
"An irreversible stage runs before an approval gate that follows it in the
graph: by the time someone is asked, the change that cannot be undone has
already happened. Make the irreversible stage need the approval gate.";

    TimeoutShorterThanInterval = "W0003", Warning, "timeout shorter than interval",
"A bound is shorter than the interval it bounds, so the check is evaluated at
most once: `check every 5m within 1m`, a `monitor ... for` shorter than the
gate's `every`, or a stage `timeout` shorter than the canary `pause`.";

    UnusedImport = "W0004", Warning, "unused import",
"A module is imported but none of its templates is used. Remove the import, or
instantiate one of its templates: `stage x from MODULE.TEMPLATE { ... }`.
`deploy modules FILE` lists what each module offers.";

    StrategyLargerThanHosts = "W0005", Warning, "batch larger than the environment",
"A rolling `batch` or `max_failures` count exceeds the number of hosts of the
target environment, so it has no effect.";

    RemoteHostOnLocalTransport = "W0010", Warning, "SSH-looking host on the local transport",
"A host (or its `address`) looks like an SSH destination — `user@host`,
`host:22`, an IP address — but its environment runs on the local transport,
where every host's steps run on this machine with `${host}` bound. Such a
plan would report success without touching the remote machine. Use plain
names for a local environment, or run the environment over SSH. Under
`deploy check --strict` this is an error.";

    SecretFileReadable = "W0011", Warning, "secret file readable by others",
"A `file(\"...\")` secret is read from a file whose mode lets its group or
everyone read it. Restrict it to its owner:

    chmod 600 secrets/db.txt";

    IgnoredInventoryVariable = "W0012", Warning, "ignored inventory variable",
"An inventory host has an `ansible_*` variable that deploy does not act on
(`ansible_python_interpreter`, `ansible_become`, `ansible_connection=local`,
...). deploy reads `ansible_host` (the address SSH connects to, and
`${host.address}`), `ansible_port`, `ansible_user`,
`ansible_ssh_private_key_file`, `ansible_ssh_common_args` and
`ansible_ssh_extra_args`. The variable stays readable as a host value
(`${host.ansible_python_interpreter}`); remove it from the inventory, or
ignore the warning, once you know it changes nothing here.";
}
