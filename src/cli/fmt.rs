//! `deploy fmt [FILE... | -]`: rewrite plans in the canonical layout
//! (docs/fmt.md). `--check` only says whether files would change (exit 3),
//! `--diff` prints what would change. A file with a syntax error is refused
//! with its diagnostics and left untouched; files are replaced atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::output::print_diagnostics;
use super::ExitCode;
use crate::fmt::{format_source, FormatError};
use crate::syntax::span::{FileId, SourceMap};

#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// Files to format; `-` (or nothing) reads standard input and writes standard output.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Write nothing; exit 3 when a file is not formatted.
    #[arg(long)]
    check: bool,
    /// Write nothing; print a unified diff of what would change.
    #[arg(long)]
    diff: bool,
}

/// What happened to one input.
enum Outcome {
    Unchanged,
    Changed,
    Failed,
}

pub fn run(args: FmtArgs) -> ExitCode {
    let inputs: Vec<PathBuf> = if args.files.is_empty() { vec![PathBuf::from("-")] } else { args.files.clone() };
    let mut failed = false;
    let mut changed = false;
    for input in &inputs {
        let outcome = if input.as_os_str() == "-" { format_stdin(&args) } else { format_file(input, &args) };
        match outcome {
            Outcome::Unchanged => {}
            Outcome::Changed => changed = true,
            Outcome::Failed => failed = true,
        }
    }
    if failed {
        ExitCode::Usage
    } else if changed && args.check {
        ExitCode::WouldReformat
    } else {
        ExitCode::Success
    }
}

fn format_stdin(args: &FmtArgs) -> Outcome {
    let text = match crate::check::loader::read_bounded(std::io::stdin().lock(), 0) {
        Ok(text) => text,
        Err(problem) => {
            super::failure::say(format!("cannot read standard input: {problem}"));
            return Outcome::Failed;
        }
    };
    let Some(formatted) = format_text(Path::new("<stdin>"), &text) else { return Outcome::Failed };
    let changed = formatted != text;
    if args.diff {
        if changed {
            print_diff("<stdin>", &text, &formatted);
        }
    } else if args.check {
        if changed {
            eprintln!("<stdin> is not formatted");
        }
    } else {
        let mut stdout = std::io::stdout().lock();
        if stdout.write_all(formatted.as_bytes()).and_then(|()| stdout.flush()).is_err() {
            return Outcome::Failed;
        }
    }
    if changed {
        Outcome::Changed
    } else {
        Outcome::Unchanged
    }
}

fn format_file(path: &Path, args: &FmtArgs) -> Outcome {
    let text = match crate::check::loader::read_file(path) {
        Ok(text) => text,
        Err(problem) => {
            super::failure::say(format!("cannot read {}: {problem}", path.display()));
            return Outcome::Failed;
        }
    };
    let Some(formatted) = format_text(path, &text) else { return Outcome::Failed };
    if formatted == text {
        return Outcome::Unchanged;
    }
    let name = path.display().to_string();
    if args.diff {
        print_diff(&name, &text, &formatted);
    } else if args.check {
        eprintln!("{name} is not formatted");
    } else if let Err(error) = write_atomically(path, &formatted) {
        super::failure::say(format!("cannot write {name}: {error}"));
        return Outcome::Failed;
    } else {
        eprintln!("formatted {name}");
    }
    Outcome::Changed
}

/// The formatted text, or `None` after printing why there is none.
fn format_text(path: &Path, text: &str) -> Option<String> {
    match format_source(FileId(0), text) {
        Ok(formatted) => Some(formatted),
        Err(FormatError::Syntax(diagnostics)) => {
            let mut sources = SourceMap::default();
            sources.add(path, path.display().to_string(), text.into());
            print_diagnostics(&diagnostics, &sources);
            eprintln!("{} not formatted: it has a syntax error", path.display());
            None
        }
        Err(FormatError::Internal(message)) => {
            super::failure::say(format!("{}: {message}", path.display()));
            None
        }
    }
}

fn print_diff(name: &str, old: &str, new: &str) {
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff.unified_diff().context_radius(3).header(&format!("a/{name}"), &format!("b/{name}")).to_string();
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Writes beside the file, then renames over it: readers see the old text
/// or the new, never half of one. The file keeps its permissions.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "plan".into());
    let temporary = directory.join(format!(".{file_name}.fmt-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        if let Ok(metadata) = std::fs::metadata(path) {
            std::fs::set_permissions(&temporary, metadata.permissions())?;
        }
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}
