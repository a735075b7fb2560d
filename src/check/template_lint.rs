//! `template "x.j2" to "..."` checked before anything runs, where the
//! template's path is plain text: the file must exist and parse, and every
//! variable it reads must exist on every host of the stage's environment
//! (a param, a built-in, `host`, `env`, or a host value every host has).

use super::model::{Plan, Step, TemplatePart};
use crate::diagnostic::{Code, Diagnostic};

/// What every template may read besides the params and host values.
const ALWAYS: &[&str] =
    &["version", "previous_version", "stage", "attempt", "pipeline", "commit", "host", "env", "inventory_hostname"];

pub fn check(plan: &Plan, diagnostics: &mut Vec<Diagnostic>) {
    for node in &plan.nodes {
        let environment = node.target.map(|id| plan.environment(id));
        for step in &node.steps {
            let Step::Upload(upload) = step else { continue };
            if !upload.render {
                continue;
            }
            let [TemplatePart::Text(file)] = upload.local.parts.as_slice() else { continue };
            let at = upload.local.location;
            let fail = |message: String| {
                Diagnostic::new(Code::InvalidTemplate, message)
                    .at(at.file, at.span, "this template")
                    .with_help("a template is a Jinja2 file relative to the plan; see `deploy explain E0147`")
            };
            let path = plan.base_dir.join(file);
            let text = match crate::check::loader::read_to_string_limited(&path) {
                Ok(text) => text,
                Err(error) => {
                    diagnostics.push(fail(format!("cannot read template {}: {error}", path.display())));
                    continue;
                }
            };
            let variables = match super::jinja::variables(file, &text) {
                Ok(variables) => variables,
                Err(problem) => {
                    diagnostics.push(fail(problem));
                    continue;
                }
            };
            for variable in variables {
                if ALWAYS.contains(&variable.as_str())
                    || plan.params.iter().any(|p| p.name == variable)
                    || guarded(&text, &variable)
                {
                    continue;
                }
                let Some(environment) = environment else {
                    diagnostics.push(fail(format!("template {file}: undefined variable `{variable}`")));
                    continue;
                };
                if environment.vars.iter().any(|(key, _)| *key == variable) {
                    continue;
                }
                let lacking: Vec<&str> = environment
                    .host_defs
                    .iter()
                    .filter(|host| !host.vars.iter().any(|(key, _)| *key == variable))
                    .map(|host| host.name.as_str())
                    .collect();
                if lacking.is_empty() {
                    continue;
                }
                let line = text
                    .lines()
                    .position(|l| l.contains(&variable))
                    .map(|index| format!(" line {}", index + 1))
                    .unwrap_or_default();
                let who = if lacking.len() == environment.host_defs.len() {
                    format!("no param, and no host of `{}` has it", environment.name)
                } else {
                    format!("host(s) {} of `{}` have no `{variable}`", lacking.join(", "), environment.name)
                };
                diagnostics.push(fail(format!("template {file}{line}: undefined variable `{variable}` ({who})")));
            }
        }
    }
}

/// Whether the template itself handles `variable` being absent:
/// `variable | default(...)`, `variable is defined`, `variable is not defined`.
fn guarded(text: &str, variable: &str) -> bool {
    text.match_indices(variable).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            return false;
        }
        let rest = text[at + variable.len()..].trim_start();
        let after_pipe = rest.strip_prefix('|').map(str::trim_start);
        after_pipe.is_some_and(|r| r.starts_with("default") || r.starts_with("d("))
            || rest.starts_with("is defined")
            || rest.starts_with("is not defined")
    })
}
