//! Fetching remote modules from the editor. A diagnostic of a remote import
//! that is not fetched yet — E0161 (the lock does not name it) or E0162 (the
//! cache lacks it, and the server is offline) — gets a quick fix whose
//! command, [`FETCH_COMMAND`], runs `deploy modules fetch FILE`. The network
//! is used only when the user picks it: the server itself stays offline, so
//! no keystroke fetches anything.

use std::path::Path;
use std::time::Duration;

use tower_lsp_server::ls_types::*;

use super::documents::path_of;

/// The command the quick fix runs (`workspace/executeCommand`); its one
/// argument is the URI of the file whose imports to fetch.
pub const FETCH_COMMAND: &str = "deploy.modules.fetch";

/// How long a fetch from the editor may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(600);

fn fetchable(diagnostic: &Diagnostic) -> bool {
    matches!(&diagnostic.code, Some(NumberOrString::String(code)) if code == "E0161" || code == "E0162")
}

/// The quick fix for the diagnostics of `params` that a fetch fixes.
pub fn code_actions(params: &CodeActionParams) -> Vec<CodeActionOrCommand> {
    let diagnostics: Vec<Diagnostic> = params.context.diagnostics.iter().filter(|d| fetchable(d)).cloned().collect();
    if diagnostics.is_empty() {
        return Vec::new();
    }
    let uri = &params.text_document.uri;
    let path = path_of(uri);
    let name = path.file_name().map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned());
    let title = format!("Fetch the remote modules (deploy modules fetch {name})");
    let command = Command {
        title: title.clone(),
        command: FETCH_COMMAND.to_string(),
        arguments: Some(vec![serde_json::Value::String(uri.as_str().to_string())]),
    };
    vec![CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(diagnostics),
        command: Some(command),
        is_preferred: Some(true),
        ..CodeAction::default()
    })]
}

/// The file a [`FETCH_COMMAND`] names, or why the arguments are wrong.
pub fn target(params: &ExecuteCommandParams) -> Result<std::path::PathBuf, String> {
    let uri = params.arguments.first().and_then(|argument| argument.as_str()).ok_or("expected the file's URI")?;
    let uri: Uri = uri.parse().map_err(|_| format!("`{uri}` is not a URI"))?;
    Ok(path_of(&uri))
}

/// Runs `deploy modules fetch` (this binary, online) for the plan at
/// `path`: what it said when it wrote the lock, or why it failed.
pub fn fetch(path: &Path) -> Result<String, String> {
    let binary = std::env::current_exe().map_err(|error| format!("cannot find the deploy binary: {error}"))?;
    let mut command = std::process::Command::new(binary);
    command.args(["modules", "fetch"]).arg(path).env_remove("DEPLOY_OFFLINE").env("NO_COLOR", "1");
    if let Some(dir) = path.parent().filter(|dir| dir.is_dir()) {
        command.current_dir(dir);
    }
    match crate::remote::git::bounded(command, FETCH_TIMEOUT) {
        Ok((status, _, stderr)) if status.success() => {
            Ok(stderr.lines().last().unwrap_or("fetched the remote modules").trim().to_string())
        }
        Ok((_, _, stderr)) => Err(format!("deploy modules fetch failed: {}", stderr.trim())),
        Err(_) => Err(format!("deploy modules fetch did not finish within {}s", FETCH_TIMEOUT.as_secs())),
    }
}
