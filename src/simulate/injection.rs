//! What a simulation injects: failing steps, gate outcomes, timeouts, an
//! interrupt, approvals refused, and reproducible random failures. Parsed
//! from the command line, checked against the plan (an unknown stage, host
//! or gate is an error that lists the known ones), and asked by the
//! simulated transport and script runner for every step they stand in for.

use crate::session::error::{SessionError, SessionResult};
use std::time::Duration;

use crate::check::model::{NodeKind, Plan, RollbackSpec, Step};

/// `STAGE[@HOST][#STEP]`: which steps an injection hits.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StepSelector {
    pub stage: String,
    /// `None`: every host (or the untargeted stage).
    pub host: Option<String>,
    /// 1-based; `None`: the first step.
    pub step: Option<usize>,
}

impl StepSelector {
    pub fn parse(text: &str) -> Result<StepSelector, String> {
        let (rest, step) = match text.split_once('#') {
            Some((rest, step)) => {
                let number = step
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| format!("`{text}`: the step after `#` must be a number from 1"))?;
                (rest, Some(number))
            }
            None => (text, None),
        };
        let (stage, host) = match rest.split_once('@') {
            Some((stage, host)) => (stage.trim(), Some(host.trim().to_string())),
            None => (rest.trim(), None),
        };
        if stage.is_empty() || host.as_deref().is_some_and(str::is_empty) {
            return Err(format!("`{text}` is not STAGE[@HOST][#STEP]"));
        }
        Ok(StepSelector { stage: stage.to_string(), host, step })
    }

    /// Whether step `step` (1-based) of `stage` on `host` is hit.
    pub fn hits(&self, stage: &str, host: Option<&str>, step: usize) -> bool {
        self.stage == stage
            && self.host.as_deref().map_or(true, |wanted| host == Some(wanted))
            && self.step.unwrap_or(1) == step
    }

    pub fn label(&self) -> String {
        let mut out = self.stage.clone();
        if let Some(host) = &self.host {
            out.push('@');
            out.push_str(host);
        }
        if let Some(step) = self.step {
            out.push_str(&format!("#{step}"));
        }
        out
    }
}

/// An outcome a gate's check is made to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InjectedOutcome {
    Pass,
    Fail,
    Inconclusive,
    NoData,
}

impl InjectedOutcome {
    pub fn parse(text: &str) -> Option<InjectedOutcome> {
        match text.trim() {
            "pass" => Some(InjectedOutcome::Pass),
            "fail" => Some(InjectedOutcome::Fail),
            "inconclusive" => Some(InjectedOutcome::Inconclusive),
            "no-data" | "no_data" => Some(InjectedOutcome::NoData),
            _ => None,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            InjectedOutcome::Pass => "pass",
            InjectedOutcome::Fail => "fail",
            InjectedOutcome::Inconclusive => "inconclusive",
            InjectedOutcome::NoData => "no-data",
        }
    }
}

/// `--gate GATE[@N]=OUTCOME`: what a gate's check returns, at every
/// evaluation or only at the N-th (1-based: a canary's analysis is
/// evaluated once per step, so `analysis@3` is the third step's).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GateInjection {
    pub gate: String,
    pub evaluation: Option<u32>,
    pub outcome: InjectedOutcome,
}

impl GateInjection {
    pub fn label(&self) -> String {
        match self.evaluation {
            Some(n) => format!("{}@{n}", self.gate),
            None => self.gate.clone(),
        }
    }
}

/// `--random-failures P --seed N`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct RandomFailures {
    pub probability: f64,
    pub seed: u64,
}

/// Everything one simulation injects.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Injections {
    pub fail: Vec<StepSelector>,
    pub fail_rollback: Vec<StepSelector>,
    pub gates: Vec<GateInjection>,
    pub timeouts: Vec<StepSelector>,
    #[serde(serialize_with = "serialize_duration")]
    pub interrupt_after: Option<Duration>,
    pub refuse: Vec<String>,
    pub random: Option<RandomFailures>,
}

fn serialize_duration<S: serde::Serializer>(value: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(duration) => serializer.serialize_str(&crate::duration::format_duration(*duration)),
        None => serializer.serialize_none(),
    }
}

/// Which step the simulated transport or script runner stands in for.
#[derive(Clone, Debug)]
pub struct StepKey<'a> {
    pub stage: &'a str,
    pub host: Option<&'a str>,
    /// 1-based, in its list.
    pub step: usize,
    pub attempt: u32,
    pub rollback: bool,
    /// A lifecycle hook's step: never hit by an injection.
    pub hook: bool,
}

/// What a simulated step does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepFate {
    Succeed,
    Fail(String),
    /// Runs until its stage's timeout (or a cancellation) stops it.
    Hang,
}

impl Injections {
    /// `GATE[@N]=OUTCOME`.
    pub fn parse_gate(text: &str) -> Result<GateInjection, String> {
        let (gate, outcome) = text.split_once('=').ok_or_else(|| format!("`{text}` is not GATE[@N]=OUTCOME"))?;
        let outcome = InjectedOutcome::parse(outcome)
            .ok_or_else(|| format!("`{text}`: the outcome is one of pass, fail, inconclusive, no-data"))?;
        let (gate, evaluation) = match gate.split_once('@') {
            Some((gate, n)) => {
                let n = n.trim().parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    format!("`{text}`: after `@` comes which evaluation of the gate, a number from 1")
                })?;
                (gate, Some(n))
            }
            None => (gate, None),
        };
        if gate.trim().is_empty() {
            return Err(format!("`{text}` is not GATE[@N]=OUTCOME"));
        }
        Ok(GateInjection { gate: gate.trim().to_string(), evaluation, outcome })
    }

    /// What the step at `key` does.
    pub fn fate(&self, key: &StepKey) -> StepFate {
        if key.hook {
            return StepFate::Succeed;
        }
        let listed = if key.rollback { &self.fail_rollback } else { &self.fail };
        if let Some(selector) = listed.iter().find(|s| s.hits(key.stage, key.host, key.step)) {
            let what = if key.rollback { "rollback step" } else { "step" };
            return StepFate::Fail(format!("(simulated) injected failure of {what} {}", selector.label()));
        }
        if !key.rollback && key.step == 1 && self.timeouts.iter().any(|s| s.hits(key.stage, key.host, 1)) {
            return StepFate::Hang;
        }
        if let Some(random) = self.random {
            if random_draw(random.seed, key) < random.probability {
                return StepFate::Fail(format!(
                    "(simulated) random failure (p = {}, seed {})",
                    random.probability, random.seed
                ));
            }
        }
        StepFate::Succeed
    }

    /// The outcome injected for the `evaluation`-th (1-based) evaluation
    /// of `gate`, if any: one aimed at that evaluation wins over one for
    /// every evaluation; among equals the last given wins.
    pub fn gate_outcome(&self, gate: &str, evaluation: u32) -> Option<InjectedOutcome> {
        let of_gate = || self.gates.iter().rev().filter(|injection| injection.gate == gate);
        of_gate()
            .find(|injection| injection.evaluation == Some(evaluation))
            .or_else(|| of_gate().find(|injection| injection.evaluation.is_none()))
            .map(|injection| injection.outcome)
    }

    pub fn refuses(&self, name: &str) -> bool {
        self.refuse.iter().any(|refused| refused == name)
    }

    /// Every name an injection uses must exist in the plan, and a timeout
    /// needs a stage with a `timeout` (a hanging step would wait forever).
    pub fn validate(&self, plan: &Plan) -> SessionResult<()> {
        self.check_names(plan).map_err(|message| SessionError::usage(message).with_code("bad_injection"))
    }

    fn check_names(&self, plan: &Plan) -> Result<(), String> {
        for selector in self.fail.iter().chain(&self.fail_rollback) {
            validate_selector(plan, selector)?;
        }
        for selector in &self.fail_rollback {
            let node = plan.node_named(&selector.stage);
            if !node.is_some_and(|node| matches!(node.rollback, RollbackSpec::Steps(_))) {
                return Err(format!("--fail-rollback {}: the stage has no rollback block", selector.label()));
            }
        }
        for selector in &self.timeouts {
            validate_selector(plan, selector)?;
            if plan.node_named(&selector.stage).is_some_and(|node| node.timeout.is_none()) {
                return Err(format!(
                    "--timeout {}: the stage has no `timeout`, so a hanging step would wait forever \
                     (give the stage `timeout = ...`)",
                    selector.label()
                ));
            }
        }
        for injection in &self.gates {
            let (gate, label, outcome) = (&injection.gate, injection.label(), injection.outcome);
            let node = plan.node_named(gate).filter(|node| node.kind == NodeKind::Gate);
            let Some(def) = node.and_then(|node| node.gate.as_deref()) else {
                return Err(format!("--gate {label}: no such gate (gates: {})", names(plan, NodeKind::Gate)));
            };
            if def.check.is_none() && outcome != InjectedOutcome::Pass {
                let hint = if def.approve.is_some() {
                    format!("; refuse its approval with --refuse {gate}")
                } else {
                    String::new()
                };
                return Err(format!(
                    "--gate {label}={}: the gate has no `check` to give that outcome{hint}",
                    outcome.word()
                ));
            }
        }
        for name in &self.refuse {
            if plan.node_named(name).is_none() {
                return Err(format!("--refuse {name}: no such gate or stage"));
            }
        }
        if let Some(random) = self.random {
            if !(0.0..=1.0).contains(&random.probability) {
                return Err(format!("--random-failures {}: a probability is between 0 and 1", random.probability));
            }
        }
        Ok(())
    }
}

fn validate_selector(plan: &Plan, selector: &StepSelector) -> Result<(), String> {
    let Some(node) = plan.node_named(&selector.stage).filter(|node| node.kind == NodeKind::Stage) else {
        return Err(format!("{}: no such stage (stages: {})", selector.label(), names(plan, NodeKind::Stage)));
    };
    if let Some(host) = &selector.host {
        let hosts = node.target.map(|env| plan.environment(env).hosts.clone()).unwrap_or_default();
        if !hosts.contains(host) {
            let known = if hosts.is_empty() {
                "it has no target".to_string()
            } else {
                format!("its hosts: {}", hosts.join(", "))
            };
            return Err(format!("{}: {} does not run on {host} ({known})", selector.label(), node.name));
        }
    }
    if let Some(step) = selector.step {
        let count = step_count(&node.steps).max(match &node.rollback {
            RollbackSpec::Steps(steps) => step_count(steps),
            _ => 0,
        });
        if step > count {
            return Err(format!("{}: {} has {count} step(s)", selector.label(), node.name));
        }
    }
    Ok(())
}

fn step_count(steps: &[Step]) -> usize {
    steps.len()
}

fn names(plan: &Plan, kind: NodeKind) -> String {
    let list: Vec<&str> = plan.nodes.iter().filter(|n| n.kind == kind).map(|n| n.name.as_str()).collect();
    if list.is_empty() {
        "none".to_string()
    } else {
        list.join(", ")
    }
}

/// A number in [0, 1) that depends only on the seed and the step: the same
/// seed fails the same steps, whatever order the hosts run in.
fn random_draw(seed: u64, key: &StepKey) -> f64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    };
    feed(key.stage.as_bytes());
    feed(key.host.unwrap_or("").as_bytes());
    feed(&key.step.to_le_bytes());
    feed(&key.attempt.to_le_bytes());
    feed(&[u8::from(key.rollback)]);
    // splitmix64 finaliser.
    let mut z = hash.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse() {
        let s = StepSelector::parse("deploy@web-3#2").unwrap();
        assert_eq!(s, StepSelector { stage: "deploy".into(), host: Some("web-3".into()), step: Some(2) });
        assert!(s.hits("deploy", Some("web-3"), 2));
        assert!(!s.hits("deploy", Some("web-3"), 1));
        let all = StepSelector::parse("build").unwrap();
        assert!(all.hits("build", None, 1));
        assert!(StepSelector::parse("@x").is_err());
        assert!(StepSelector::parse("a#0").is_err());
        assert!(StepSelector::parse("a#x").is_err());
    }

    #[test]
    fn random_draws_depend_on_the_seed_only() {
        let key = StepKey { stage: "a", host: Some("h"), step: 1, attempt: 1, rollback: false, hook: false };
        assert_eq!(random_draw(7, &key), random_draw(7, &key));
        assert_ne!(random_draw(7, &key), random_draw(8, &key));
        let draw = random_draw(7, &key);
        assert!((0.0..1.0).contains(&draw));
    }
}
