//! Steps of rollback blocks, hooks and switches, and the hooks themselves.

use super::*;

/// `upload "local" to "remote"`: both paths are templates, rendered per host.
pub(super) fn upload(typer: &mut Typer, upload: &ast::UploadStep) -> Step {
    for path in [&upload.local, &upload.remote] {
        if path.as_plain().is_some_and(|text| text.trim().is_empty()) {
            typer.diagnostics.push(
                Diagnostic::new(Code::InvalidValue, "an upload path may not be empty")
                    .at(typer.file, path.span, "empty path")
                    .with_help("write upload \"dist/app.tar.gz\" to \"/srv/app/app.tar.gz\""),
            );
        }
    }
    Step::Upload(Box::new(Upload {
        local: typer.template(&upload.local),
        remote: typer.template(&upload.remote),
        render: upload.render,
    }))
}

/// Steps of a rollback block, a hook or a switch: `run`, `script` and `upload`.
pub(super) fn steps(typer: &mut Typer, compiler: &ScriptCompiler, entries: &[Entry], what: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for entry in entries {
        match entry {
            Entry::Run(run) => out.push(Step::Run(typer.template(&run.command))),
            Entry::Upload(upload_step) => out.push(upload(typer, upload_step)),
            Entry::Script(script) => {
                if let Some(script) = compiler.compile_in(typer, &script.script) {
                    out.push(Step::Script(script));
                }
            }
            other => typer.diagnostics.push(
                Diagnostic::new(
                    Code::UnknownAttribute,
                    format!("{what} holds `run`, `script` and `upload` steps only"),
                )
                .at(typer.file, other.keyword_span(), "not a step")
                .with_help("write run \"command\", script ```...``` or upload \"local\" to \"remote\""),
            ),
        }
    }
    out
}

pub(super) fn lower_hook(
    typer: &mut Typer,
    compiler: &ScriptCompiler,
    hook: &ast::HookDecl,
    events: &[HookEvent],
) -> Option<HookDef> {
    let words: Vec<&str> = events.iter().map(|e| e.word()).collect();
    let Some(event) = events.iter().find(|e| e.word() == hook.event.name) else {
        let mut d = Diagnostic::new(Code::UnknownAttribute, format!("no `{}` event here", hook.event.name)).at(
            typer.file,
            hook.event.span,
            "unknown event",
        );
        d = match did_you_mean(&hook.event.name, words.iter().copied()) {
            Some(close) => d.with_help(format!("did you mean `{close}`?")),
            None => d.with_help(format!("events here: {}", words.join(", "))),
        };
        typer.diagnostics.push(d);
        return None;
    };
    let steps = steps(typer, compiler, &hook.body.entries, "a hook");
    Some(HookDef { event: *event, steps, location: Location { file: typer.file, span: hook.span } })
}

/// The pipeline's `on EVENT { ... }` hooks.
pub fn lower_hooks(
    lowering: &mut Lowering,
    compiler: &ScriptCompiler,
    file: FileId,
    entries: &[Entry],
    events: &[HookEvent],
) -> Vec<HookDef> {
    let names = lowering.names.clone();
    let scope = NamesInScope { plan: Some(&names), template_params: None, env: EnvContext::None, builtins: true };
    let mut diagnostics = Vec::new();
    let mut typer = Typer { file, scope: &scope, diagnostics: &mut diagnostics };
    let mut hooks = Vec::new();
    for entry in entries {
        if let Entry::Hook(hook) = entry {
            hooks.extend(lower_hook(&mut typer, compiler, hook, events));
        }
    }
    lowering.diagnostics.extend(diagnostics);
    hooks
}
