//! The simulated script runner: `script` steps and hooks are not run (they
//! could reach HTTP endpoints); they succeed unless an injection fails them.
//! A gate's `check` returns its injected outcome, else `pass`. A `when`
//! condition that only computes is evaluated for real (the same sandbox, a
//! small operation budget); one that would call out is taken as true.
//! Every answer is given at once, so nothing waits on a real thread.

use std::sync::Arc;

use super::injection::{InjectedOutcome, Injections, StepFate, StepKey};
use crate::check::model::{NodeDef, Plan, RollbackSpec, Script, Step, Strategy};
use crate::engine::script_runner::{computes_only, CheckOutcome, Quick, QuickResult, SandboxRunner, ScriptRunner};
use crate::script::{LogSink, ScriptLog, ScriptVariables};

pub struct SimulatedScripts {
    pub plan: Arc<Plan>,
    pub injections: Arc<Injections>,
    pub sandbox: SandboxRunner,
    /// How many times each gate has been evaluated so far (a first poll,
    /// attempt 1, starts an evaluation), for `--gate GATE@N=OUTCOME`.
    pub evaluations: std::sync::Mutex<std::collections::HashMap<String, u32>>,
}

impl SimulatedScripts {
    fn text(context: &ScriptVariables, name: &str) -> Option<String> {
        context.get(name).and_then(|value| value.clone().into_string().ok())
    }

    fn step(&self, script: &Script, context: &ScriptVariables, log: &LogSink) -> Result<(), String> {
        let stage = Self::text(context, "stage").unwrap_or_default();
        let host = Self::text(context, "host").filter(|host| !host.is_empty());
        let rollback = context.get("rollback").and_then(|value| value.as_bool().ok()).unwrap_or(false);
        let hook = context.get("hook").is_some();
        let attempt = context.get("attempt").and_then(|value| value.as_int().ok()).unwrap_or(1);
        let step = self.plan.node_named(&stage).and_then(|node| position(node, script)).unwrap_or(1);
        log(ScriptLog { level: "log", message: format!("(simulated) script: {}", first_line(script)) });
        let key = StepKey {
            stage: &stage,
            host: host.as_deref(),
            step,
            attempt: u32::try_from(attempt).unwrap_or(1),
            rollback,
            hook,
        };
        match self.injections.fate(&key) {
            StepFate::Fail(message) => Err(message),
            _ => Ok(()),
        }
    }

    fn check_outcome(&self, context: &ScriptVariables) -> CheckOutcome {
        let gate = Self::text(context, "gate").unwrap_or_default();
        let attempt = context.get("attempt").and_then(|value| value.as_int().ok()).unwrap_or(1);
        let evaluation = match self.evaluations.lock() {
            Ok(mut counts) => {
                let count = counts.entry(gate.clone()).or_insert(0);
                if attempt <= 1 || *count == 0 {
                    *count += 1;
                }
                *count
            }
            Err(_) => 1,
        };
        match self.injections.gate_outcome(&gate, evaluation) {
            None | Some(InjectedOutcome::Pass) => CheckOutcome::Pass,
            Some(InjectedOutcome::Fail) => CheckOutcome::Fail("(simulated) injected fail".into()),
            Some(InjectedOutcome::Inconclusive) => CheckOutcome::Inconclusive("(simulated) injected".into()),
            Some(InjectedOutcome::NoData) => CheckOutcome::NoData("(simulated) injected".into()),
        }
    }

    fn when(&self, script: &Script, context: &ScriptVariables, log: &LogSink) -> Result<bool, String> {
        if !computes_only(script) {
            return Ok(true);
        }
        match self.sandbox.quick(script, context, log, Quick::Condition) {
            Some(QuickResult::Condition(result)) => result,
            _ => Ok(true),
        }
    }
}

/// The 1-based place of `script` in the step list it belongs to.
fn position(node: &NodeDef, script: &Script) -> Option<usize> {
    let same =
        |step: &Step| matches!(step, Step::Script(s) if s.file == script.file && s.source_start == script.source_start);
    let mut lists: Vec<&[Step]> = vec![&node.steps];
    if let RollbackSpec::Steps(steps) = &node.rollback {
        lists.push(steps);
    }
    if let Strategy::BlueGreen { switch, .. } = &node.strategy {
        lists.push(switch);
    }
    lists.extend(node.hooks.iter().map(|hook| hook.steps.as_slice()));
    lists.iter().find_map(|steps| steps.iter().position(same)).map(|index| index + 1)
}

fn first_line(script: &Script) -> String {
    let line = script.source.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("");
    line.chars().take(80).collect()
}

impl ScriptRunner for SimulatedScripts {
    fn run_step(&self, script: &Script, context: &ScriptVariables, log: &LogSink) -> Result<(), String> {
        self.step(script, context, log)
    }

    fn condition(&self, script: &Script, context: &ScriptVariables, log: &LogSink) -> Result<bool, String> {
        self.when(script, context, log)
    }

    fn check(&self, _script: &Script, context: &ScriptVariables, _log: &LogSink) -> CheckOutcome {
        self.check_outcome(context)
    }

    fn quick(&self, script: &Script, context: &ScriptVariables, log: &LogSink, kind: Quick) -> Option<QuickResult> {
        Some(match kind {
            Quick::Step => QuickResult::Step(self.step(script, context, log)),
            Quick::Condition => QuickResult::Condition(self.when(script, context, log)),
            Quick::Check => QuickResult::Check(self.check_outcome(context)),
        })
    }
}
