//! The checked model: what a plan means, with every reference resolved and
//! every value typed. The graph is built from it; the engine runs it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use crate::syntax::ast::NodeKind;
use crate::syntax::span::{FileId, SourceMap, Span};

pub use crate::script::ScriptLimits;

pub use super::ssh_settings::{Destination, SshSettings, StrictHostKeys, TransportKind};
use super::window::Window;

/// Index of a node (stage or gate) in [`Plan::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct NodeId(pub usize);

/// Index of an environment in [`Plan::environments`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct EnvId(pub usize);

/// A place in a loaded file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Location {
    pub file: FileId,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub pipeline: PipelineSettings,
    pub params: Vec<ParamDef>,
    pub secrets: Vec<SecretDef>,
    pub environments: Vec<EnvironmentDef>,
    pub nodes: Vec<NodeDef>,
    /// `on EVENT { ... }` in the pipeline block.
    pub hooks: Vec<HookDef>,
    /// The plan file; `run` steps execute in its directory.
    pub plan_file: PathBuf,
    pub base_dir: PathBuf,
    pub sources: SourceMap,
}

impl Plan {
    pub fn node(&self, id: NodeId) -> &NodeDef {
        &self.nodes[id.0]
    }

    pub fn environment(&self, id: EnvId) -> &EnvironmentDef {
        &self.environments[id.0]
    }

    pub fn node_named(&self, name: &str) -> Option<&NodeDef> {
        self.nodes.iter().find(|node| node.name == name)
    }

    pub fn environment_named(&self, name: &str) -> Option<&EnvironmentDef> {
        self.environments.iter().find(|env| env.name == name)
    }
}

#[derive(Clone, Debug)]
pub struct PipelineSettings {
    pub name: String,
    pub description: Option<String>,
    pub on_failure: FailurePolicy,
    pub lock: LockScope,
    pub script_limits: ScriptLimits,
    /// `max_parallel` in the pipeline block; `--max-parallel` overrides it.
    pub max_parallel: Option<usize>,
    /// `watch { ... }`: how `deploy watch` follows the repository.
    pub watch: Option<WatchTrigger>,
    /// The timeout of a stage that does not give one (`step_timeout = D`,
    /// [`DEFAULT_STEP_TIMEOUT`] by default; `step_timeout = none`: none).
    pub step_timeout: Option<Duration>,
    pub location: Option<Location>,
}

/// The pipeline's `watch` block; each entry is optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WatchTrigger {
    pub branch: Option<String>,
    pub every: Option<std::time::Duration>,
    pub repo: Option<String>,
}

/// What a failed stage or gate makes the run do (`on_failure`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailurePolicy {
    /// Stop starting work, undo everything completed, in reverse.
    Rollback,
    /// Stop starting work and save the run so `deploy resume` can continue.
    Pause,
    /// Stop starting work and leave everything as it is.
    Abort,
}

/// What a gate outcome makes the run do (`on_fail`, `on_inconclusive`, `on_no_data`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomePolicy {
    Rollback,
    Pause,
    Abort,
    /// Treat the outcome as a pass.
    Continue,
}

/// Which lease a run takes (`lock = pipeline | environment`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LockScope {
    Pipeline,
    Environment,
}

/// The type of a param or template parameter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    String,
    Int,
    Bool,
    Duration,
    Percent,
    List(Box<Type>),
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Int => f.write_str("int"),
            Type::Bool => f.write_str("bool"),
            Type::Duration => f.write_str("duration"),
            Type::Percent => f.write_str("percent"),
            Type::List(inner) => write!(f, "list<{inner}>"),
        }
    }
}

/// The timeout of one attempt of a stage that says nothing about it.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A runtime value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    String(String),
    Int(i64),
    Bool(bool),
    Duration(Duration),
    Percent(f64),
    List(Vec<Value>),
}

impl Value {
    /// The value as text, as interpolation inserts it.
    pub fn to_text(&self) -> String {
        match self {
            Value::String(text) => text.clone(),
            Value::Int(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Duration(duration) => crate::duration::format_duration(*duration),
            Value::Percent(percent) => format!("{percent}%"),
            Value::List(items) => items.iter().map(Value::to_text).collect::<Vec<_>>().join(" "),
        }
    }
}

/// A value whose final form is known only at run time.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Literal(Value),
    /// A string with `${...}`.
    Text(StringTemplate),
    /// `env("VAR")` / `env("VAR", default)`: read when the plan is resolved.
    Env {
        var: String,
        default: Option<Box<Expr>>,
    },
    /// A reference to a param, secret, template argument or built-in.
    Ref(Vec<String>),
    List(Vec<Expr>),
}

/// A string with interpolations: `"./install ${version} ${host}"`.
#[derive(Clone, Debug, PartialEq)]
pub struct StringTemplate {
    pub parts: Vec<TemplatePart>,
    pub location: Location,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TemplatePart {
    Text(String),
    /// `${a.b}`; `raw` for `${raw(a.b)}` (not shell-quoted in `run`).
    Var {
        path: Vec<String>,
        raw: bool,
    },
}

#[derive(Clone, Debug)]
pub struct ParamDef {
    pub name: String,
    pub ty: Type,
    pub default: Option<Expr>,
    pub location: Location,
}

#[derive(Clone, Debug)]
pub struct SecretDef {
    pub name: String,
    pub source: SecretSource,
    /// `secrets { ... }` of this environment: the value stages in it see
    /// (instead of a plan-wide secret of the same name).
    pub environment: Option<String>,
    pub location: Location,
}

/// Where a secret's value comes from; read when a run starts, never stored.
#[derive(Clone, Debug, PartialEq)]
pub enum SecretSource {
    /// `env("VAR")` (or a literal): read when the plan is resolved.
    Value(Expr),
    /// `file("path")`: the file's text, relative to the plan, one trailing newline trimmed.
    File(String),
    /// `command("pass show db/prod")`: the command's stdout, bounded by `timeout`.
    Command { command: String, timeout: Duration },
}

/// How long a `command(...)` secret may take when the plan does not say.
pub const DEFAULT_SECRET_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
pub struct EnvironmentDef {
    pub id: EnvId,
    pub name: String,
    pub hosts: Vec<String>,
    /// Each host's own values, in the order of `hosts`.
    pub host_defs: Vec<HostDef>,
    /// The hosts `--limit` left out of `hosts` (empty without `--limit`):
    /// still hosts of the environment, whose records a run keeps.
    pub limited_out: Vec<String>,
    /// `vars { key = value }`, reachable as `env.key`.
    pub vars: Vec<(String, Expr)>,
    pub protect: Protect,
    /// `transport = local | ssh`.
    pub transport: TransportKind,
    /// `ssh { ... }` (defaults when absent).
    pub ssh: SshSettings,
    /// The inventory groups of `hosts = inventory(...)` and this
    /// environment's hosts in each (for `--limit web:&prod`).
    pub groups: Vec<(String, Vec<String>)>,
    /// Under `transport = ssh`: each host and where SSH reaches it.
    pub destinations: Vec<(String, Destination)>,
    /// `probe = "cmd"`: a command whose last line of output is the version
    /// on a host (`deploy verify`).
    pub probe: Option<StringTemplate>,
    pub location: Location,
}

impl EnvironmentDef {
    /// The keys of `host.KEY` besides `name` and `address`: the
    /// environment's vars and every host's own (with repeats).
    pub fn host_value_keys(&self) -> impl Iterator<Item = &str> {
        let own = self.host_defs.iter().flat_map(|host| host.vars.iter().map(|(key, _)| key.as_str()));
        self.vars.iter().map(|(key, _)| key.as_str()).chain(own)
    }

    /// Where SSH reaches `host` (the host itself when it has no entry).
    pub fn destination(&self, host: &str) -> Destination {
        self.destinations
            .iter()
            .find(|(name, _)| name == host)
            .map(|(_, destination)| destination.clone())
            .unwrap_or_else(|| Destination { host: host.to_string(), ..Destination::default() })
    }

    pub fn host(&self, name: &str) -> Option<&HostDef> {
        self.host_defs.iter().find(|host| host.name == name)
    }
}

/// One entry of `hosts`: a name, or a map with the host's own values.
#[derive(Clone, Debug)]
pub struct HostDef {
    pub name: String,
    /// `address = "..."`: where the host is reached (the name when absent).
    pub address: Option<String>,
    /// Every other key: `${host.KEY}`, overriding the environment's var `KEY`.
    pub vars: Vec<(String, Expr)>,
    pub location: Location,
}

/// `protect { approval = required  window = "..."  by = [...] }`
#[derive(Clone, Debug, Default)]
pub struct Protect {
    pub approval: bool,
    pub approvers: Vec<String>,
    pub window: Option<Window>,
}

#[derive(Clone, Debug)]
pub struct NodeDef {
    pub id: NodeId,
    pub name: String,
    pub kind: NodeKind,
    pub location: Location,
    /// The span of the name, for labels.
    pub name_location: Location,
    pub needs: Vec<NodeId>,
    pub target: Option<EnvId>,
    pub strategy: Strategy,
    pub steps: Vec<Step>,
    pub rollback: RollbackSpec,
    /// `undo_failed = false`: a host where the stage's own step failed is
    /// not undone by its rollback block (the stage cleans up after its own
    /// failure, as std/migrate restores its backup). Default: undone.
    pub undo_failed: bool,
    /// `become = false | true`: over the environment's `ssh { become }`
    /// for this stage's steps, uploads and rollback (`None`: as the environment).
    pub become_root: Option<bool>,
    pub timeout: Option<Duration>,
    /// `timeout` is the pipeline's `step_timeout`, not one the stage gives.
    pub timeout_is_default: bool,
    pub retry: Option<Retry>,
    /// `when = `expr``: the node is skipped when false.
    pub when: Option<Script>,
    pub monitor: Option<Monitor>,
    pub hooks: Vec<HookDef>,
    /// What a gate decides (boxed: most nodes are stages).
    pub gate: Option<Box<GateDef>>,
    /// Template arguments, visible to interpolation and scripts by name.
    pub bindings: Vec<(String, Expr)>,
    /// `module.template` the node was made from.
    pub template: Option<String>,
    /// Outside `--env` / `--limit`: skipped, and why.
    pub deselected: Option<String>,
}

impl NodeDef {
    /// A node with nothing in it yet: no edges, steps, rollback or gate.
    pub fn new(id: NodeId, name: String, kind: NodeKind, location: Location, name_location: Location) -> Self {
        NodeDef {
            id,
            name,
            kind,
            location,
            name_location,
            needs: Vec::new(),
            target: None,
            strategy: Strategy::AllAtOnce,
            steps: Vec::new(),
            rollback: RollbackSpec::Missing,
            undo_failed: true,
            become_root: None,
            timeout: None,
            timeout_is_default: false,
            retry: None,
            when: None,
            monitor: None,
            hooks: Vec::new(),
            gate: None,
            bindings: Vec::new(),
            template: None,
            deselected: None,
        }
    }
}

#[derive(Clone, Debug)]
pub enum Step {
    Run(StringTemplate),
    Script(Script),
    /// `upload "local" to "remote"` (boxed: most steps are commands).
    Upload(Box<Upload>),
}

/// A file or tree copied to every host: `local` relative to the plan,
/// `remote` relative to the host's working directory.
#[derive(Clone, Debug)]
pub struct Upload {
    pub local: StringTemplate,
    pub remote: StringTemplate,
    /// `template`: `local` is a Jinja2 template, rendered per host.
    pub render: bool,
}

/// A compiled Rhai snippet, with where it came from.
#[derive(Clone, Debug)]
pub struct Script {
    pub source: Arc<str>,
    pub ast: Arc<rhai::AST>,
    pub file: FileId,
    /// Byte offset of the source in its file, to map Rhai positions back.
    pub source_start: usize,
}

#[derive(Clone, Debug)]
pub enum RollbackSpec {
    Steps(Vec<Step>),
    Irreversible(String),
    /// Neither: W0001.
    Missing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Extra attempts after the first.
    pub attempts: u32,
    pub every: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Monitor {
    pub gate: NodeId,
    pub duration: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HookEvent {
    Start,
    Success,
    Failure,
    Rollback,
    Paused,
}

impl HookEvent {
    pub const PIPELINE: &'static [HookEvent] =
        &[HookEvent::Start, HookEvent::Success, HookEvent::Failure, HookEvent::Rollback, HookEvent::Paused];
    pub const STAGE: &'static [HookEvent] = &[HookEvent::Start, HookEvent::Success, HookEvent::Failure];

    pub fn word(self) -> &'static str {
        match self {
            HookEvent::Start => "start",
            HookEvent::Success => "success",
            HookEvent::Failure => "failure",
            HookEvent::Rollback => "rollback",
            HookEvent::Paused => "paused",
        }
    }
}

#[derive(Clone, Debug)]
pub struct HookDef {
    pub event: HookEvent,
    pub steps: Vec<Step>,
    pub location: Location,
}

#[derive(Clone, Debug)]
pub struct GateDef {
    pub approve: Option<Approval>,
    pub check: Option<Check>,
    pub wait: Option<Duration>,
    pub window: Option<Window>,
    pub on_fail: OutcomePolicy,
    pub on_inconclusive: OutcomePolicy,
    pub on_no_data: OutcomePolicy,
    /// `failure_limit = N`: the check fails at once when more than N of its
    /// evaluations failed (fail fast); without it a failing evaluation means
    /// "not yet" until `within` ends.
    pub failure_limit: Option<u32>,
    /// `inconclusive_limit = N`: the check is inconclusive at once when more
    /// than N of its evaluations were inconclusive.
    pub inconclusive_limit: Option<u32>,
}

impl Default for GateDef {
    /// Nothing to decide yet, and the documented policies: a failure rolls
    /// back, an inconclusive or missing result pauses.
    fn default() -> Self {
        GateDef {
            approve: None,
            check: None,
            wait: None,
            window: None,
            on_fail: OutcomePolicy::Rollback,
            on_inconclusive: OutcomePolicy::Pause,
            on_no_data: OutcomePolicy::Pause,
            failure_limit: None,
            inconclusive_limit: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Approval {
    pub question: StringTemplate,
    /// Who may approve; empty means anyone.
    pub by: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Check {
    pub every: Duration,
    pub within: Duration,
    pub script: Script,
}

/// How many hosts: a count or a share.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Amount {
    Count(u64),
    Percent(f64),
}

impl Amount {
    /// The number of hosts out of `total` (a percent rounds up, at least one
    /// host when the percent is above zero).
    pub fn of(self, total: usize) -> usize {
        match self {
            Amount::Count(count) => usize::try_from(count).unwrap_or(usize::MAX).min(total),
            Amount::Percent(percent) => {
                if percent <= 0.0 {
                    0
                } else {
                    (((total as f64) * percent / 100.0).ceil() as usize).clamp(1, total.max(1)).min(total)
                }
            }
        }
    }
}

#[derive(Clone, Debug)]
pub enum Strategy {
    AllAtOnce,
    Rolling {
        batch: Amount,
        max_failures: Amount,
    },
    /// With `traffic`, the steps are shares of requests set on a router
    /// rather than shares of hosts.
    Canary {
        steps: Vec<f64>,
        pause: Duration,
        analysis: Option<NodeId>,
        traffic: Option<Box<Traffic>>,
    },
    BlueGreen {
        switch: Vec<Step>,
        verify: Option<NodeId>,
        keep_previous: Option<Duration>,
    },
}

/// A canary by share of requests: `traffic = ROUTER` in `strategy canary`.
#[derive(Clone, Debug)]
pub struct Traffic {
    /// The stage whose steps set the canary's share to `${weight}` percent.
    pub router: NodeId,
    /// How long the previous version stays installed after 100%.
    pub keep_previous: Option<Duration>,
    /// `retire { steps }`: removes the previous version (`${previous_version}`).
    pub retire: Vec<Step>,
}

impl Strategy {
    /// The traffic router of a canary by share of requests.
    pub fn traffic(&self) -> Option<&Traffic> {
        match self {
            Strategy::Canary { traffic, .. } => traffic.as_deref(),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Strategy::AllAtOnce => "all_at_once",
            Strategy::Rolling { .. } => "rolling",
            Strategy::Canary { .. } => "canary",
            Strategy::BlueGreen { .. } => "blue_green",
        }
    }
}
