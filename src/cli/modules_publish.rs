//! Publishing a module repository (docs/modules.md): `deploy modules check
//! DIR` lints every `.deploy` file of it — it checks as `deploy check`
//! checks a module, every template has a doc comment, every example in a doc
//! comment (a ```` ```deploy ```` block) checks as a plan beside the file —
//! and `deploy modules doc DIR --out OUT` writes one Markdown reference page
//! per module file.

use std::path::{Path, PathBuf};

use super::output::print_diagnostics;
use super::ExitCode;
use crate::stdlib::docs::{alias_of, document, ModuleDoc};

/// The `.deploy` files below `dir` (not inside `.git` or hidden
/// directories), as paths relative to `dir` with `/`, sorted.
fn module_files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() && !hidden && depth < 16 {
                walk(root, &path, depth + 1, out);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "deploy") {
                if let Ok(relative) = path.strip_prefix(root) {
                    let parts: Vec<String> =
                        relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                    out.push(parts.join("/"));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, 0, &mut out);
    out.sort();
    out
}

fn directory(dir: &Path) -> Result<Vec<String>, ExitCode> {
    if !dir.is_dir() {
        return Err(super::failure::fail(format!("{} is not a directory", dir.display())));
    }
    let files = module_files(dir);
    if files.is_empty() {
        return Err(super::failure::fail(format!("{} holds no .deploy file", dir.display())));
    }
    Ok(files)
}

/// The 1-based line of byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |before| before.matches('\n').count() + 1)
}

/// The ```` ```deploy ```` blocks of a doc comment.
fn examples(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in doc.lines() {
        let fence = line.trim_start();
        match &mut current {
            None if fence.starts_with("```deploy") => current = Some(Vec::new()),
            Some(lines) if fence.starts_with("```") => {
                out.push(lines.join("\n") + "\n");
                current = None;
            }
            Some(lines) => lines.push(line),
            None => {}
        }
    }
    out
}

/// `deploy modules check DIR`: exit 1 when any file has a problem.
pub fn check(dir: &Path) -> ExitCode {
    let files = match directory(dir) {
        Ok(files) => files,
        Err(code) => return code,
    };
    let mut problems = 0;
    for relative in &files {
        problems += check_one(dir, relative);
    }
    let count = files.len();
    let noun = if count == 1 { "file" } else { "files" };
    if problems == 0 {
        eprintln!("checked {count} module {noun} in {}: no problems", dir.display());
        ExitCode::Success
    } else {
        eprintln!("checked {count} module {noun} in {}: {problems} problem{}", dir.display(), plural(problems));
        ExitCode::Usage
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// The problems of one module file (each already printed).
fn check_one(dir: &Path, relative: &str) -> usize {
    let path = dir.join(relative);
    let checked = crate::check::check_file(&path);
    let errors: Vec<_> = checked.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
    if !errors.is_empty() {
        print_diagnostics(&errors, &checked.sources);
        return errors.len();
    }
    let text = match crate::check::loader::read_file(&path) {
        Ok(text) => text,
        Err(problem) => {
            eprintln!("{relative}: cannot read: {problem}");
            return 1;
        }
    };
    let Ok(ast) = crate::syntax::parse(crate::syntax::span::FileId(0), &text) else { return 1 };
    let mut problems = 0;
    let mut docs: Vec<(String, usize, String)> = Vec::new();
    if let Some(doc) = document(relative, &text).ok().and_then(|module| module.doc) {
        docs.push(("the module's doc comment".into(), 1, doc));
    }
    let doc_comments = crate::syntax::DocComments::of(&text);
    for item in &ast.items {
        let crate::syntax::ast::Item::Template(template) = item else { continue };
        let line = line_of(&text, template.span.start);
        let name = template.name.name.to_string();
        match doc_comments.above(template.span.start) {
            Some(doc) => docs.push((format!("the doc comment of `{name}`"), line, doc.to_string())),
            None => {
                eprintln!(
                    "{relative}:{line}: template `{name}` has no doc comment: say what it does in `///` lines above it"
                );
                problems += 1;
            }
        }
    }
    for (what, line, doc) in docs {
        for (index, example) in examples(&doc).into_iter().enumerate() {
            // Checked as a plan beside the module, so `./FILE` imports it.
            let beside = path.with_file_name(format!(".example-{}.deploy", index + 1));
            let checked = crate::check::check_source(&beside, example);
            let errors: Vec<_> = checked.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
            if !errors.is_empty() {
                eprintln!("{relative}:{line}: example {} of {what} does not check:", index + 1);
                print_diagnostics(&errors, &checked.sources);
                problems += 1;
            }
        }
    }
    problems
}

/// `deploy modules doc DIR --out OUT`: one page per module file
/// (`web/service.deploy` → `OUT/web/service.md`); `url` names the
/// repository in the pages' import lines.
pub fn doc(dir: &Path, out: &Path, url: Option<&str>) -> ExitCode {
    let files = match directory(dir) {
        Ok(files) => files,
        Err(code) => return code,
    };
    let mut written: Vec<PathBuf> = Vec::new();
    for relative in &files {
        let text = match crate::check::loader::read_file(&dir.join(relative)) {
            Ok(text) => text,
            Err(problem) => return super::failure::fail(format!("cannot read {relative}: {problem}")),
        };
        let Ok(module) = document(relative, &text) else {
            return super::failure::fail(format!(
                "{relative} does not parse; `deploy modules check {}` shows why",
                dir.display()
            ));
        };
        let page = out.join(format!("{}.md", relative.strip_suffix(".deploy").unwrap_or(relative)));
        let written_ok = page
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&page, page_text(&module, url)));
        if let Err(error) = written_ok {
            return super::failure::fail(format!("cannot write {}: {error}", page.display()));
        }
        written.push(page);
    }
    for page in &written {
        println!("{}", page.display());
    }
    eprintln!("wrote {} page{} in {}", written.len(), plural(written.len()), out.display());
    ExitCode::Success
}

/// A module's page: docs/stdlib.md's layout, importing it as a remote module.
fn page_text(module: &ModuleDoc, url: Option<&str>) -> String {
    let import = format!(
        "{}{}//{}@REF",
        crate::remote::import::PREFIX,
        url.unwrap_or("URL"),
        module.name.trim_start_matches('/')
    );
    let local = format!("import \"{}\" as {}", module.name, alias_of(&module.name));
    let remote = format!("import \"{import}\" as {}", alias_of(&module.name));
    let mut text = module.render_markdown().replacen(&local, &remote, 1);
    text.insert_str(0, "<!-- written by `deploy modules doc`: edit the doc comments of the module instead -->\n\n");
    text
}

#[cfg(test)]
mod tests {
    use super::examples;

    #[test]
    fn only_deploy_blocks_are_examples() {
        let doc = "Runs it.\n\n```deploy\nstage a {}\n```\n\n```sh\nls\n```\n";
        assert_eq!(examples(doc), vec!["stage a {}\n".to_string()]);
    }
}
