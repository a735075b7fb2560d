//! `deploy modules [FILE]` lists the modules a plan can import: the stdlib,
//! every module on `DEPLOY_PATH`, and the plan's own imports, each with its
//! templates. `deploy modules pin FILE` writes `deploy.sum` beside the plan.
//! `deploy modules fetch FILE` resolves the plan's remote imports
//! (`git+URL//PATH@REF`) and writes `deploy.lock`; `update` moves them to
//! what their refs name now; `list` prints what the lock holds.

use std::path::{Path, PathBuf};

use super::output::print_diagnostics;
use super::ExitCode;
use crate::check::loader::{self, ModuleOrigin};
use crate::check::pins;
use crate::stdlib::docs::{document, ModuleDoc};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ModulesArgs {
    #[command(subcommand)]
    command: Option<ModulesCommand>,
    /// A plan whose imports to list too.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum ModulesCommand {
    /// Write deploy.sum beside the plan: the sha256 of every non-stdlib module it imports.
    Pin {
        /// The plan file.
        file: PathBuf,
    },
    /// Resolve the plan's remote imports and write deploy.lock beside it (locked commits are kept).
    Fetch {
        /// The plan file.
        file: PathBuf,
    },
    /// Resolve remote imports again (all, or the repositories whose URL contains NAME) and rewrite deploy.lock.
    Update {
        /// The plan file.
        file: PathBuf,
        /// Only the repositories whose URL contains this.
        name: Option<String>,
        /// Also rewrite the plan's imports of those repositories to this ref (needs NAME).
        #[arg(long, value_name = "REF", requires = "name")]
        to: Option<String>,
    },
    /// Show what changes for the plan, in its own terms, if the repositories whose URL contains NAME moved to REF.
    Diff {
        /// The plan file.
        file: PathBuf,
        /// A part of the repository's URL (e.g. `deploy-modules`).
        name: String,
        /// The tag, branch, commit or version range to compare with.
        to: String,
    },
    /// Say who asked for which version of the repositories whose URL contains NAME (or imported as NAME).
    Why {
        /// The plan file.
        file: PathBuf,
        /// A part of the repository's URL, or the name an import gives it.
        name: String,
    },
    /// Lint a module repository: every .deploy file checks, every template has a doc comment, every ```deploy example in a doc comment checks.
    Check {
        /// The repository's directory.
        dir: PathBuf,
    },
    /// Write a Markdown reference page per module file of a module repository.
    Doc {
        /// The repository's directory.
        dir: PathBuf,
        /// Where to write the pages (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The repository's URL, for the pages' import lines [default: `URL`].
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Print every remote module deploy.lock names: path, URL, ref, commit.
    List {
        /// The plan file.
        file: PathBuf,
        /// Also ask each repository whether a newer version tag exists.
        #[arg(long)]
        outdated: bool,
    },
}

pub fn run(args: ModulesArgs) -> ExitCode {
    match args.command {
        Some(ModulesCommand::Pin { file }) => pin(&file),
        Some(ModulesCommand::Fetch { file }) => super::remote_modules::fetch(&file, None),
        Some(ModulesCommand::Update { file, name, to }) => match (&name, to) {
            (Some(name), Some(to)) => super::remote_modules::move_imports(&file, name, &to),
            _ => super::remote_modules::fetch(&file, Some(name)),
        },
        Some(ModulesCommand::Diff { file, name, to }) => super::remote_modules::diff(&file, &name, &to),
        Some(ModulesCommand::Check { dir }) => super::modules_publish::check(&dir),
        Some(ModulesCommand::Doc { dir, out, url }) => super::modules_publish::doc(&dir, &out, url.as_deref()),
        Some(ModulesCommand::Why { file, name }) => super::modules_why::why(&file, &name),
        Some(ModulesCommand::List { file, outdated }) => super::remote_modules::list(&file, outdated),
        None => list(args.file.as_deref()),
    }
}

fn list(plan: Option<&Path>) -> ExitCode {
    println!("stdlib (embedded):");
    for (name, text) in crate::stdlib::MODULES {
        if let Ok(module) = document(name, text) {
            print_module(&module, None);
        }
    }
    for dir in std::env::var("DEPLOY_PATH").unwrap_or_default().split(':').filter(|d| !d.is_empty()) {
        println!("\nDEPLOY_PATH {dir}:");
        let mut files = Vec::new();
        collect_modules(Path::new(dir), 0, &mut files);
        files.sort();
        if files.is_empty() {
            println!("  (no .deploy files)");
        }
        for file in files {
            let name = file.strip_prefix(dir).unwrap_or(&file).display().to_string();
            let name = name.trim_start_matches('/').trim_end_matches(".deploy").to_string();
            print_file_module(&name, &file);
        }
    }
    let Some(plan) = plan else { return ExitCode::Success };
    let loaded = loader::load(plan);
    let failed = loaded.diagnostics.iter().any(|d| d.is_error());
    print_diagnostics(&loaded.diagnostics, &loaded.sources);
    println!("\n{} imports:", plan.display());
    let Some(root) = loaded.modules.first() else { return ExitCode::Usage };
    if root.imports.is_empty() {
        println!("  (none)");
    }
    for (alias, index) in &root.imports {
        let Some(module) = index.and_then(|i| loaded.modules.get(i)) else {
            println!("  {alias} = (not found)");
            continue;
        };
        let text = loaded.sources.get(module.file).map(|f| f.text.to_string()).unwrap_or_default();
        let name = match &module.origin {
            ModuleOrigin::Stdlib(name) => name.clone(),
            ModuleOrigin::File(path) => path.display().to_string(),
        };
        if let Ok(doc) = document(&name, &text) {
            print_module(&doc, Some(alias));
        }
    }
    if failed {
        ExitCode::Usage
    } else {
        ExitCode::Success
    }
}

fn print_module(module: &ModuleDoc, alias: Option<&str>) {
    let head = match alias {
        Some(alias) => format!("{alias} = {}", module.name),
        None => module.name.clone(),
    };
    println!("  {head}  — {}", module.summary());
    for template in &module.templates {
        println!("      {}", template.short());
    }
}

fn print_file_module(name: &str, path: &Path) {
    match loader::read_file(path) {
        Ok(text) => match document(name, &text) {
            Ok(module) => print_module(&module, None),
            Err(_) => println!("  {name}  (does not parse: `deploy check` it)"),
        },
        Err(problem) => println!("  {name}  (cannot read: {problem})"),
    }
}

/// `.deploy` files below `dir`, a few levels deep.
fn collect_modules(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && depth < 4 {
            collect_modules(&path, depth + 1, out);
        } else if path.extension().is_some_and(|e| e == "deploy") {
            out.push(path);
        }
    }
}

fn pin(plan: &Path) -> ExitCode {
    let loaded = loader::load(plan);
    if loaded.diagnostics.iter().any(|d| d.is_error()) {
        print_diagnostics(&loaded.diagnostics, &loaded.sources);
        return super::failure::fail(format!("not pinning {}: its imports do not load", plan.display()));
    }
    let module_pins = pins::module_pins(&loaded, plan);
    let sum = pins::sum_path(plan);
    if let Err(error) = std::fs::write(&sum, pins::render_sum(&module_pins)) {
        return super::failure::fail(format!("cannot write {}: {error}", sum.display()));
    }
    for pin in &module_pins {
        println!("sha256:{}  {}", pin.sha256, pin.name);
    }
    eprintln!(
        "pinned {} module{} in {}",
        module_pins.len(),
        if module_pins.len() == 1 { "" } else { "s" },
        sum.display()
    );
    ExitCode::Success
}
