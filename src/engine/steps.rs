//! Running a list of steps (`run` and `script`) on one host, once: the
//! body of an attempt, a rollback block or a hook.

use std::path::PathBuf;
use std::sync::Arc;

use rhai::Dynamic;
use tokio_util::sync::CancellationToken;

use super::context::RunContext;
use super::evaluate;
use super::interpolate::{Quoting, ValuesInScope};
use super::transport::{CommandSpec, OutputSink, UploadSpec};
use crate::check::model::{NodeDef, Script, Step, StringTemplate, Upload};
use crate::record::event::EventData;

/// Why a list of steps did not complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepFailure {
    pub message: String,
    pub exit_code: Option<i32>,
    /// Stopped by the cancel token rather than failing on its own.
    pub cancelled: bool,
    /// The host could not be reached before the first step: nothing ran
    /// there, so there is nothing to undo.
    pub unreached: bool,
}

impl StepFailure {
    fn failed(message: String) -> StepFailure {
        StepFailure { message, exit_code: None, cancelled: false, unreached: false }
    }

    fn cancelled() -> StepFailure {
        StepFailure { message: "cancelled".to_string(), exit_code: None, cancelled: true, unreached: false }
    }
}

/// Where `run` steps execute: the plan file's directory.
pub fn work_dir(ctx: &RunContext) -> PathBuf {
    let base = &ctx.plan().base_dir;
    if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base.clone()
    }
}

/// Where one unit's lines go: `step_output` events.
pub fn output_sink(ctx: &RunContext, node: &str, host: Option<&str>, rollback: bool) -> OutputSink {
    hook_output_sink(ctx, node, host, rollback, None)
}

/// [`output_sink`] for a lifecycle hook (`hook` is its event word).
pub fn hook_output_sink(
    ctx: &RunContext,
    node: &str,
    host: Option<&str>,
    rollback: bool,
    hook: Option<&'static str>,
) -> OutputSink {
    let bus = ctx.log.bus.clone();
    let node = node.to_string();
    let host = host.map(str::to_string);
    let hook = hook.map(str::to_string);
    Arc::new(move |stream, line| {
        bus.emit(EventData::StepOutput {
            node: node.clone(),
            host: host.clone(),
            stream,
            line,
            rollback,
            hook: hook.clone(),
        });
    })
}

/// How a list of steps runs besides its node and host.
#[derive(Clone, Default)]
pub struct StepSite {
    /// A rollback block (or a switch back): `DEPLOY_ROLLBACK=1`.
    pub rollback: bool,
    /// Run with `version` bound to the previous version (a blue/green switch back).
    pub switch_back: bool,
    /// A lifecycle hook: its event word, for `step_output`.
    pub hook: Option<&'static str>,
    /// More environment variables for `run` (a hook's `DEPLOY_STATUS`, ...).
    pub env: Vec<(String, String)>,
    /// More variables for `script` (a hook's `status`, ...).
    pub vars: Vec<(String, Dynamic)>,
}

impl StepSite {
    pub fn forward() -> StepSite {
        StepSite::default()
    }

    pub fn rollback() -> StepSite {
        StepSite { rollback: true, ..StepSite::default() }
    }
}

/// Runs `steps` in order; the first failure stops the list.
pub async fn run_steps(
    ctx: &Arc<RunContext>,
    node: &NodeDef,
    steps: &[Step],
    host: Option<&str>,
    attempt: u32,
    site: &StepSite,
    cancel: &CancellationToken,
) -> Result<(), StepFailure> {
    let output = hook_output_sink(ctx, &node.name, host, site.rollback, site.hook);
    let version = if site.switch_back { ctx.run.previous_version_on(host) } else { ctx.run.version_on(host) };
    let at = StepAt { ctx, node, host, attempt, site, cancel, output, version };
    for (index, step) in steps.iter().enumerate() {
        if cancel.is_cancelled() {
            return Err(StepFailure::cancelled());
        }
        let number = index + 1;
        match step {
            Step::Run(template) => at.command(template, number).await?,
            Step::Upload(upload) => at.upload(upload, number).await?,
            Step::Script(script) => at.script(script, number).await?,
        }
    }
    Ok(())
}

/// Where and how the steps of one list run: the node, host and attempt,
/// and where their output goes.
struct StepAt<'a> {
    ctx: &'a Arc<RunContext>,
    node: &'a NodeDef,
    host: Option<&'a str>,
    attempt: u32,
    site: &'a StepSite,
    cancel: &'a CancellationToken,
    output: OutputSink,
    version: &'a str,
}

impl StepAt<'_> {
    /// A `run` step: the rendered command through the host's transport.
    async fn command(&self, template: &StringTemplate, number: usize) -> Result<(), StepFailure> {
        let mut scope = self.ctx.scope(self.node, self.host, self.attempt);
        if self.site.switch_back {
            scope = ValuesInScope { inputs: &self.ctx.run.previous_inputs, version: Some(self.version), ..scope };
        }
        let command = scope
            .render(template, Quoting::Shell)
            .map_err(|problem| StepFailure::failed(format!("step {number}: {problem}")))?;
        let mut env = self.ctx.step_env(self.node, self.host, self.attempt, self.site.rollback);
        if self.site.switch_back {
            for (key, value) in &mut env {
                if key == "DEPLOY_VERSION" {
                    *value = self.version.to_string();
                }
            }
        }
        env.push(("DEPLOY_STEP".to_string(), number.to_string()));
        env.extend(self.site.env.iter().cloned());
        let spec =
            CommandSpec { command: command.clone(), cwd: work_dir(self.ctx), env, become_root: self.node.become_root };
        let transport = self.ctx.transport_for(self.node, self.host);
        let watch = super::survivors::step_watch(self.ctx, &self.node.name, self.host, number, self.site.rollback);
        let run = transport.run(self.host.unwrap_or("local"), spec, self.output.clone(), self.cancel.clone());
        let exit =
            super::process_watch::watched(watch, run).await.map_err(|error| transport_failure(number, &error))?;
        if exit.cancelled {
            return Err(StepFailure::cancelled());
        }
        if !exit.success() {
            return Err(StepFailure {
                message: format!("step {number} `{}` {}", shorten(&command), exit.describe()),
                exit_code: exit.code,
                cancelled: false,
                unreached: false,
            });
        }
        Ok(())
    }

    /// An `upload` step: a local file or folder to the host.
    async fn upload(&self, upload: &Upload, number: usize) -> Result<(), StepFailure> {
        let scope = self.ctx.scope(self.node, self.host, self.attempt);
        let render = |template| {
            scope
                .render(template, Quoting::None)
                .map_err(|problem| StepFailure::failed(format!("step {number}: {problem}")))
        };
        let mut spec = UploadSpec {
            local: render(&upload.local)?.into(),
            remote: render(&upload.remote)?,
            cwd: work_dir(self.ctx),
            become_root: self.node.become_root,
        };
        // `template`: rendered for this host into a private directory,
        // then copied from there like any upload.
        let _rendered_dir = if upload.render {
            let dir = tempfile::Builder::new()
                .prefix(".deploy-template")
                .tempdir()
                .map_err(|error| StepFailure::failed(format!("step {number}: cannot make a directory: {error}")))?;
            let context = super::template_render::context(&scope);
            let written = super::template_render::render_to(&spec.local, &spec.cwd, &context, dir.path())
                .map_err(|problem| StepFailure::failed(format!("step {number}: {problem}")))?;
            let described = format!("template {} rendered", spec.local.display());
            (self.output)(crate::record::event::Stream::Stdout, described);
            spec.local = written;
            Some(dir)
        } else {
            None
        };
        let transport = self.ctx.transport_for(self.node, self.host);
        let described = format!("upload {} to {}", spec.local.display(), spec.target());
        (self.output)(crate::record::event::Stream::Stdout, described);
        transport
            .upload(self.host.unwrap_or("local"), spec, self.cancel.clone())
            .await
            .map_err(|error| transport_failure(number, &error))?;
        if self.cancel.is_cancelled() {
            return Err(StepFailure::cancelled());
        }
        Ok(())
    }

    /// A `script` step: Rhai in the sandbox, with the run's values.
    async fn script(&self, script: &Script, number: usize) -> Result<(), StepFailure> {
        let mut context = self.ctx.script_context(self.node, self.host, self.attempt);
        context.set_str("version", self.version);
        context.set_bool("rollback", self.site.rollback);
        context.set("approved", super::approved::decided(self.ctx));
        for (name, value) in &self.site.vars {
            context.set(name, value.clone());
        }
        match evaluate::step(self.ctx, script, context, evaluate::log_sink(&self.output), self.cancel).await {
            Ok(()) => Ok(()),
            Err(evaluate::ScriptStepError::Cancelled) => Err(StepFailure::cancelled()),
            Err(evaluate::ScriptStepError::Failed(message)) => {
                Err(StepFailure::failed(format!("step {number} (script): {message}")))
            }
        }
    }
}

/// A step the transport could not run; an unreachable host (or one where
/// sudo refused to `become`) before the first step was never touched.
fn transport_failure(number: usize, error: &super::transport::TransportError) -> StepFailure {
    let mut failure = StepFailure::failed(format!("step {number}: {error}"));
    failure.unreached = number == 1
        && matches!(
            error,
            super::transport::TransportError::Unreachable { .. } | super::transport::TransportError::Become { .. }
        );
    failure
}

impl From<String> for StepFailure {
    fn from(message: String) -> StepFailure {
        StepFailure::failed(message)
    }
}

/// A command as it appears in an error: its first line, at most 80 characters.
fn shorten(command: &str) -> String {
    let first = command.lines().next().unwrap_or("");
    let mut out: String = first.chars().take(80).collect();
    if out.len() < command.len() {
        out.push('…');
    }
    out
}
