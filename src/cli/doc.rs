//! `deploy doc MODULE[.TEMPLATE]`: a module's documentation from its doc
//! comments. MODULE is an import path: `std/http`, `./stages/db.deploy`, or
//! a name on `DEPLOY_PATH`, or the name a plan imports a module as (`web`
//! for `import "git+…//web/service.deploy@v1" as web`: a remote module, read
//! from the module cache at the commit of the plan's `deploy.lock`).

use super::ExitCode;
use crate::check::loader::{self, ModuleOrigin};
use crate::stdlib::docs::document;

#[derive(Debug, clap::Args)]
pub struct DocArgs {
    /// A module (`std/http`) or one of its templates (`std/http.healthy`).
    #[arg(value_name = "MODULE[.TEMPLATE]")]
    target: String,
    /// The plan whose import names MODULE may be [default: the .deploy files of the current directory].
    #[arg(long, value_name = "FILE")]
    plan: Option<std::path::PathBuf>,
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
            _ if !args.target.contains('/') => {
                let (alias, template) =
                    args.target.split_once('.').map_or((args.target.as_str(), None), |(a, t)| (a, Some(t)));
                match imported_as(args.plan.as_deref(), alias) {
                    Some((name, text)) => return print_doc(&name, &text, template),
                    None => {
                        super::failure::say(format!("no module `{}`: {whole_problem}", args.target));
                        eprintln!("help: `deploy modules` lists the modules there are; a plan's import names are looked up with --plan FILE");
                        return ExitCode::Usage;
                    }
                }
            }
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
    print_doc(&name, &text, template)
}

/// The module a plan imports as `alias` (`--plan`, else the first `.deploy`
/// file of the current directory that has such an import): its name
/// (`git+URL//PATH@REF` for a remote one) and text.
fn imported_as(plan: Option<&std::path::Path>, alias: &str) -> Option<(String, String)> {
    let plans: Vec<std::path::PathBuf> = match plan {
        Some(plan) => vec![plan.to_path_buf()],
        None => {
            let mut found: Vec<_> = std::fs::read_dir(".")
                .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
                .unwrap_or_default();
            found.retain(|path: &std::path::PathBuf| path.extension().is_some_and(|e| e == "deploy"));
            found.sort();
            found
        }
    };
    for plan in plans {
        let loaded = loader::load(&plan);
        let Some(root) = loaded.modules.first() else { continue };
        let index = root.imports.iter().find(|(name, _)| name == alias).and_then(|(_, index)| *index);
        let Some(module) = index.and_then(|index| loaded.modules.get(index)) else { continue };
        let source = loaded.sources.get(module.file)?;
        return Some((source.name.to_string(), source.text.to_string()));
    }
    None
}

fn print_doc(name: &str, text: &str, template: Option<&str>) -> ExitCode {
    let module = match document(name, text) {
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
