//! `deploy plan FILE [--set k=v]... [--format json]` — a preview without side
//! effects: waves, resolved commands, hosts, batches and rollback coverage.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use super::load::{load_inputs_reading, load_selected_graph};
use super::ExitCode;
use crate::check::model::*;
use crate::duration::format_duration;
use crate::graph::timing::{Bound, WorstCase};
use crate::graph::traffic_timing::TrafficTiming;
pub use crate::session::preview::preview;
use crate::session::preview::{Coverage, NodePreview, NodePreviewer, NodeRollback, Preview};

/// One line of the preview, formatted straight into it.
macro_rules! put {
    ($out:expr, $($format:tt)*) => {{
        // Writing into a `String` cannot fail.
        let _ = writeln!($out, $($format)*);
    }};
}

#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum PlanFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The plan file.
    pub file: PathBuf,
    /// Override a param: NAME=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub sets: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: PlanFormat,
    /// The state store to compare with [default: .deploy/state.db beside the plan].
    #[arg(long, value_name = "PATH|URL", env = "DEPLOY_STATE")]
    pub state: Option<String>,
    /// Print only what changed against the last successful deployment of each environment.
    #[arg(long)]
    pub diff_only: bool,
    /// Also render each `template` step for each host and show its diff
    /// against the file on the host now (read over the environment's transport).
    #[arg(long)]
    pub diff: bool,
    #[command(flatten)]
    pub selection: super::flags::SelectionArgs,
}

pub fn run(args: PlanArgs) -> ExitCode {
    let Ok(graph) = load_selected_graph(&args.file, &args.sets, &args.selection.selection()) else {
        return ExitCode::Usage;
    };
    let Ok(inputs) = load_inputs_reading(&graph, &args.sets, false) else {
        return ExitCode::Usage;
    };
    let deployed = match super::plan_diff::deployed(&graph, &inputs, args.state.as_deref()) {
        Ok(deployed) => deployed,
        Err(error) => {
            return super::failure::fail(format!("{error}"));
        }
    };
    if args.diff_only {
        return print_diff_only(deployed.changes.as_ref(), args.format);
    }
    let (previous_version, own) = (&deployed.previous_version, &deployed.host_versions);
    // For people, each node is previewed as it is printed (see `render_to`).
    let mut preview = match args.format {
        PlanFormat::Json => preview(&graph, &inputs, previous_version, own),
        PlanFormat::Human => crate::session::preview::outline(&graph, &inputs, previous_version, own),
    };
    preview.changes = deployed.changes;
    preview.remote_modules = crate::session::preview::RemoteModulePreview::of_plan(&args.file);
    let templates = if args.diff {
        crate::session::template_diff::template_diffs(&graph, &inputs, &deployed.previous_version)
    } else {
        Vec::new()
    };
    match args.format {
        PlanFormat::Json => {
            let mut value = serde_json::to_value(&preview).unwrap_or_default();
            if args.diff {
                if let (Some(object), Ok(diffs)) = (value.as_object_mut(), serde_json::to_value(&templates)) {
                    object.insert("template_diffs".into(), diffs);
                }
            }
            match serde_json::to_string_pretty(&value) {
                Ok(text) => println!("{text}"),
                Err(error) => {
                    return super::failure::fail(format!("{error}"));
                }
            }
        }
        PlanFormat::Human => {
            let previewer = NodePreviewer::new(&graph, &inputs, previous_version, own);
            let written = render_to(&preview, &previewer, &mut std::io::stdout().lock());
            if let Err(error) = written {
                return super::failure::fail(format!("cannot write the plan: {error}"));
            }
            if args.diff {
                print!("{}", render_template_diffs(&templates));
            }
        }
    }
    // The process ends next: freeing the plan and its preview one
    // allocation at a time took 0.6 s of a 50 MB plan's 4 s.
    std::mem::forget(preview);
    std::mem::forget(graph);
    ExitCode::Success
}

/// `--diff`: each template on each host, as a unified diff.
fn render_template_diffs(diffs: &[crate::session::template_diff::TemplateDiff]) -> String {
    let mut out = String::from("\nTemplates (rendered now vs. on the hosts)\n");
    if diffs.is_empty() {
        out.push_str("  (no template steps)\n");
    }
    for diff in diffs {
        let head = format!("  {} {} → {}:{}", diff.stage, diff.template, diff.host, diff.target);
        match (&diff.error, diff.diff.is_empty()) {
            (Some(error), _) => out.push_str(&format!("{head}: cannot diff: {error}\n")),
            (None, true) => out.push_str(&format!("{head}: unchanged\n")),
            (None, false) => {
                out.push_str(&format!("{head}:\n"));
                for line in diff.diff.lines() {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        }
    }
    out
}

fn print_diff_only(changes: Option<&super::plan_diff::Changes>, format: PlanFormat) -> ExitCode {
    match format {
        PlanFormat::Json => match serde_json::to_string_pretty(&changes) {
            Ok(text) => println!("{text}"),
            Err(error) => {
                return super::failure::fail(format!("{error}"));
            }
        },
        PlanFormat::Human => print!("{}", super::plan_diff::render_diff_only(changes)),
    }
    ExitCode::Success
}

pub fn render(preview: &Preview) -> String {
    let mut out = String::new();
    render_head(&mut out, preview);
    // Each node by name (the first of a name), found once: looking through
    // every node for each made the plan of 24,000 stages quadratic.
    let mut by_name: HashMap<&str, usize> = HashMap::with_capacity(preview.nodes.len());
    for (index, node) in preview.nodes.iter().enumerate() {
        by_name.entry(node.name.as_str()).or_insert(index);
    }
    let nodes = Nodes::Previewed { nodes: &preview.nodes, by_name };
    for (index, wave) in preview.waves.iter().enumerate() {
        render_wave_line(&mut out, index, wave);
        for name in wave {
            let Some(node) = nodes.position(name).and_then(|i| preview.nodes.get(i)) else { continue };
            render_node(&mut out, &nodes, node);
        }
    }
    render_tail(&mut out, preview);
    out
}

/// [`render`] of a preview [`outline`](crate::session::preview::outline),
/// each node previewed as it is written and dropped after: the output of a
/// plan of a million stages is written as it is made, never held whole.
pub fn render_to(
    outline: &Preview,
    previewer: &NodePreviewer,
    writer: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let plan = previewer.plan();
    let mut out = String::new();
    render_head(&mut out, outline);
    let nodes = Nodes::OnDemand { previewer, by_name: std::cell::OnceCell::new() };
    for (index, wave) in previewer.waves().enumerate() {
        let names: Vec<&str> = wave.iter().map(|id| plan.node(*id).name.as_str()).collect();
        render_wave_line(&mut out, index, &names);
        for id in wave {
            render_node(&mut out, &nodes, &previewer.node(id));
            if out.len() >= 1 << 16 {
                writer.write_all(out.as_bytes())?;
                out.clear();
            }
        }
    }
    render_tail(&mut out, outline);
    writer.write_all(out.as_bytes())?;
    writer.flush()
}

/// The nodes the lines of one node name (the gates it decides, its
/// router): every node previewed already, or each previewed when named.
enum Nodes<'p> {
    Previewed {
        nodes: &'p [NodePreview],
        by_name: HashMap<&'p str, usize>,
    },
    /// Positions in the plan's order, by name: made at the first name
    /// asked for (most plans name none).
    OnDemand {
        previewer: &'p NodePreviewer<'p>,
        by_name: std::cell::OnceCell<HashMap<&'p str, usize>>,
    },
}

impl Nodes<'_> {
    /// The position of the first node named `name` in the plan's order.
    fn position(&self, name: &str) -> Option<usize> {
        match self {
            Nodes::Previewed { by_name, .. } => by_name.get(name).copied(),
            Nodes::OnDemand { previewer, by_name } => by_name
                .get_or_init(|| {
                    let plan = previewer.plan();
                    let mut by_name = HashMap::with_capacity(previewer.order().len());
                    for (index, id) in previewer.order().iter().enumerate() {
                        by_name.entry(plan.node(*id).name.as_str()).or_insert(index);
                    }
                    by_name
                })
                .get(name)
                .copied(),
        }
    }

    /// The preview of the node at `position` in the plan's order.
    fn at(&self, position: usize) -> Option<Shown<'_>> {
        match self {
            Nodes::Previewed { nodes, .. } => nodes.get(position).map(Shown::Borrowed),
            Nodes::OnDemand { previewer, .. } => {
                previewer.order().get(position).map(|id| Shown::Made(Box::new(previewer.node(*id))))
            }
        }
    }
}

/// A node's preview, kept or made for the line that names it.
enum Shown<'p> {
    Borrowed(&'p NodePreview),
    Made(Box<NodePreview>),
}

impl std::ops::Deref for Shown<'_> {
    type Target = NodePreview;

    fn deref(&self) -> &NodePreview {
        match self {
            Shown::Borrowed(node) => node,
            Shown::Made(node) => node,
        }
    }
}

/// The blank line and `Wave N: ...` before a wave's nodes.
fn render_wave_line(out: &mut String, index: usize, names: &[impl AsRef<str>]) {
    out.push('\n');
    let parallel = if names.len() > 1 { " (in parallel)" } else { "" };
    let _ = write!(out, "Wave {}{parallel}: ", index + 1);
    for (position, name) in names.iter().enumerate() {
        if position > 0 {
            out.push_str(", ");
        }
        out.push_str(name.as_ref());
    }
    out.push('\n');
}

/// The pipeline, its version, params, remote modules and hosts.
fn render_head(out: &mut String, preview: &Preview) {
    push(out, format!("Pipeline {}", preview.pipeline));
    if let Some(description) = &preview.description {
        push(out, format!("  {description}"));
    }
    let previous = if preview.previous_version.is_empty() { "nothing deployed yet" } else { &preview.previous_version };
    push(
        out,
        format!("  version {} (previous: {previous}), on failure: {:?}", preview.version, preview.on_failure)
            .to_lowercase(),
    );
    if !preview.params.is_empty() {
        let params: Vec<String> = preview.params.iter().map(|(n, v)| format!("{n}={v}")).collect();
        push(out, format!("  params: {}", params.join(" ")));
    }
    if !preview.remote_modules.is_empty() {
        push(out, "  remote modules (deploy.lock):".to_string());
        for module in &preview.remote_modules {
            let tag = module.tag.as_deref().map(|tag| format!(" ({tag})")).unwrap_or_default();
            let commit = crate::remote::git::short(&module.commit);
            push(out, format!("    {}@{} = {commit}{tag}: {}", module.url, module.reference, module.files.join(", ")));
        }
    }
    super::plan_hosts::render(&preview.environments, out);
}

/// After the waves: rollback coverage, where hosts go back to, the worst
/// case and what changed.
fn render_tail(out: &mut String, preview: &Preview) {
    render_coverage(out, &preview.coverage, &preview.rollback_path);
    render_host_rollback(out, preview);
    render_worst_case(out, &preview.worst_case);
    if let Some(changes) = &preview.changes {
        out.push_str(&super::plan_diff::render(changes));
    }
}

/// A node of a wave: what it is, where it runs, its commands and rollback.
fn render_node(out: &mut String, nodes: &Nodes, node: &NodePreview) {
    let kind = match node.kind {
        NodeKind::Stage => "stage",
        NodeKind::Gate => "gate",
    };
    let _ = write!(out, "  {kind} {}", node.name);
    if let Some(template) = &node.template {
        let _ = write!(out, " from {template}");
    }
    match &node.target {
        Some(target) => put!(out, " → {target}"),
        None => put!(out, ""),
    }
    if let Some(reason) = &node.skipped {
        put!(out, "    skipped: {reason}");
        return;
    }
    if !node.transports.is_empty() {
        out.push_str("    hosts: ");
        for (index, t) in node.transports.iter().enumerate() {
            let comma = if index == 0 { "" } else { ", " };
            let _ = write!(out, "{comma}{} ({})", t.host, t.transport);
        }
        out.push('\n');
    }
    if !node.needs.is_empty() {
        out.push_str("    needs: ");
        push_joined(out, &node.needs, ", ");
        out.push('\n');
    }
    if node.conditional {
        put!(out, "    runs only when its `when` condition holds");
    }
    for line in &node.protection {
        put!(out, "    {line}");
    }
    for line in &node.gate {
        put!(out, "    {line}");
    }
    // In the plan's order, each once.
    let mut decided: Vec<usize> = node.decides.iter().filter_map(|name| nodes.position(name)).collect();
    decided.sort_unstable();
    decided.dedup();
    for gate in decided.iter().filter_map(|i| nodes.at(*i)) {
        put!(out, "    decides gate {}: {}", gate.name, gate.gate.join("; "));
    }
    if node.target.is_some() {
        put!(out, "    strategy: {}", node.strategy);
        if let Some(router) = node.router.as_ref().and_then(|name| nodes.position(name)).and_then(|i| nodes.at(i)) {
            push(out, router_line(&router));
        }
        match &node.traffic {
            Some(traffic) => render_traffic(out, traffic),
            None => {
                for batch in &node.batches {
                    put!(out, "      {}: {}", batch.label, batch.hosts.join(", "));
                }
            }
        }
    }
    match (&node.timeout, &node.retry) {
        (Some(timeout), Some(retry)) => put!(out, "    timeout {timeout}, retry {retry}"),
        (Some(timeout), None) => put!(out, "    timeout {timeout}"),
        (None, Some(retry)) => put!(out, "    retry {retry}"),
        (None, None) => {}
    }
    for host in &node.commands {
        for step in &host.steps {
            match node.target {
                Some(_) => put!(out, "    $ [{}] {step}", host.host),
                None => put!(out, "    $ {step}"),
            }
        }
    }
    match &node.rollback {
        NodeRollback::Steps { commands } => {
            put!(out, "    rollback:");
            for host in commands {
                for step in &host.steps {
                    match node.target {
                        Some(_) => put!(out, "      $ [{}] {step}", host.host),
                        None => put!(out, "      $ {step}"),
                    }
                }
            }
        }
        NodeRollback::Irreversible { reason } => put!(out, "    irreversible: {reason}"),
        NodeRollback::Missing => put!(out, "    rollback: none declared (W0001)"),
        NodeRollback::None => {}
    }
}

/// `items` with `separator` between them, without joining them into a `String` first.
fn push_joined(out: &mut String, items: &[String], separator: &str) {
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push_str(separator);
        }
        out.push_str(item);
    }
}

fn push(out: &mut String, line: String) {
    out.push_str(&line);
    out.push('\n');
}

/// How much of the run can be undone, and in which order.
fn render_coverage(out: &mut String, c: &Coverage, rollback_path: &[String]) {
    push(out, String::new());
    push(out, format!("Rollback coverage: {} of {} stages can be undone", c.undoable, c.stages));
    if !c.irreversible.is_empty() {
        push(out, format!("  irreversible: {}", c.irreversible.join(", ")));
    }
    if !c.missing.is_empty() {
        push(out, format!("  no rollback: {}", c.missing.join(", ")));
    }
    if !rollback_path.is_empty() {
        push(out, format!("  on failure, undone in reverse: {}", rollback_path.join(" ← ")));
    }
}

/// Where each host goes back to when this run is undone, when they differ
/// or the store knows them.
fn render_host_rollback(out: &mut String, preview: &Preview) {
    if preview.host_rollback.is_empty() {
        return;
    }
    let hosts: Vec<String> = preview
        .host_rollback
        .iter()
        .map(|host| {
            let back = if host.previous_version.is_empty() { "nothing (new there)" } else { &host.previous_version };
            format!("{} → {back}", host.host)
        })
        .collect();
    push(out, format!("  undoing it takes each host back to its own version: {}", hosts.join(", ")));
}

/// The worst-case time to complete and to roll back.
fn render_worst_case(out: &mut String, worst: &WorstCase) {
    push(out, String::new());
    push(out, "Worst case".to_string());
    let path = if worst.critical_path.is_empty() {
        String::new()
    } else {
        format!(" along {}", worst.critical_path.join(" → "))
    };
    push(out, format!("  to complete: {}{path}", describe_bound(&worst.complete)));
    for reason in &worst.complete.unbounded {
        push(out, format!("    unbounded: {reason}"));
    }
    push(out, format!("  to roll back: {}", describe_bound(&worst.rollback)));
    for reason in &worst.rollback.unbounded {
        push(out, format!("    unbounded: {reason}"));
    }
}

/// The router of a canary by share of requests, on a line of its own.
fn router_line(router: &NodePreview) -> String {
    let from = router.template.as_ref().map(|t| format!(" from {t}")).unwrap_or_default();
    let target = router.target.as_ref().map(|t| format!(" on {t}")).unwrap_or_else(|| " on this machine".into());
    let timeout = router.timeout.as_ref().map(|t| format!(", timeout {t} per step")).unwrap_or_default();
    format!(
        "      router: stage {}{from}{target}, run with `weight` = each step's share (0 = back to stable){timeout}",
        router.name
    )
}

/// The steps of a canary by share of requests, and its worst cases.
fn render_traffic(out: &mut String, traffic: &TrafficTiming) {
    for step in &traffic.steps {
        let analysis = step.analysis.as_ref().map(|a| format!(", then {a}")).unwrap_or_default();
        out.push_str(&format!(
            "      {} of requests, pause {}{analysis} — done {}\n",
            step.share,
            step.pause,
            describe_bound(&step.until_done)
        ));
    }
    if let Some(keep) = &traffic.keep_previous {
        out.push_str(&format!("      previous version kept {keep} after 100%, then retired\n"));
    }
    out.push_str(&format!("      to full rollout: {}\n", describe_bound(&traffic.to_full)));
    out.push_str(&format!(
        "      to rollback after a failed step: {} (every request back to stable: {})\n",
        describe_bound(&traffic.to_rollback),
        describe_bound(&traffic.to_stable)
    ));
}

fn describe_bound(bound: &Bound) -> String {
    let time = format_duration(std::time::Duration::from_millis(bound.millis));
    if bound.is_bounded() {
        format!("at most {time}")
    } else {
        format!("unbounded ({time} plus what has no bound)")
    }
}
