//! `deploy doc MODULE[.TEMPLATE]`: a module's documentation from its doc
//! comments. MODULE is an import path: `std/http`, `./stages/db.deploy`, or
//! a name on `DEPLOY_PATH`.

use super::ExitCode;
use crate::check::loader::{self, ModuleOrigin};
use crate::stdlib::docs::document;

#[derive(Debug, clap::Args)]
pub struct DocArgs {
    /// A module (`std/http`) or one of its templates (`std/http.healthy`).
    #[arg(value_name = "MODULE[.TEMPLATE]")]
    target: String,
}

pub fn run(args: DocArgs) -> ExitCode {
    let from = ModuleOrigin::File(std::env::current_dir().unwrap_or_default().join("deploy"));
    // The whole argument as a module, else MODULE.TEMPLATE split at the last dot of the last segment.
    let split = args
        .target
        .rfind('.')
        .filter(|dot| *dot > args.target.rfind('/').map_or(0, |slash| slash + 1))
        .map(|dot| (&args.target[..dot], &args.target[dot + 1..]));
    let (origin, template) = match loader::resolve(&from, &args.target) {
        Ok(origin) => (origin, None),
        Err(whole_problem) => match split.map(|(module, template)| (loader::resolve(&from, module), template)) {
            Some((Ok(origin), template)) => (origin, Some(template)),
            _ => {
                super::failure::say(format!("no module `{}`: {whole_problem}", args.target));
                eprintln!("help: `deploy modules` lists the modules there are");
                return ExitCode::Usage;
            }
        },
    };
    let (name, text) = match &origin {
        ModuleOrigin::Stdlib(name) => (name.clone(), crate::stdlib::module(name).unwrap_or_default().to_string()),
        ModuleOrigin::File(path) => match loader::read_file(path) {
            Ok(text) => (display(path, &args.target, template), text),
            Err(problem) => {
                return super::failure::fail(format!("cannot read {}: {problem}", path.display()));
            }
        },
    };
    let module = match document(&name, &text) {
        Ok(module) => module,
        Err(_) => {
            return super::failure::fail(format!("{name} does not parse; `deploy check` shows why"));
        }
    };
    match template {
        None => print!("{}", module.render_text(None)),
        Some(wanted) => match module.templates.iter().find(|t| t.name == wanted) {
            Some(found) => print!("{}", module.render_text(Some(found))),
            None => {
                let names: Vec<&str> = module.templates.iter().map(|t| t.name.as_str()).collect();
                super::failure::say(format!("module {name} has no template `{wanted}`"));
                match crate::diagnostic::did_you_mean(wanted, names.iter().copied()) {
                    Some(close) => eprintln!("help: did you mean `{name}.{close}`?"),
                    None => eprintln!("help: its templates: {}", names.join(", ")),
                }
                return ExitCode::Usage;
            }
        },
    }
    ExitCode::Success
}

/// A file module is named as the user wrote it (without the template).
fn display(path: &std::path::Path, target: &str, template: Option<&str>) -> String {
    match template {
        Some(template) => target.strip_suffix(&format!(".{template}")).unwrap_or(target).to_string(),
        None if target.is_empty() => path.display().to_string(),
        None => target.to_string(),
    }
}
