//! `/plan`: what the next run of the server's plan changes against what is
//! deployed — the text `deploy plan --diff-only` prints, computed by the
//! same code ([`crate::session::plan_diff`]) from the same state.

use axum::extract::State;
use axum::response::Html;

use super::html::{escape, page};
use crate::server::api::blocking;
use crate::server::{ApiError, ApiResult, AppState};
use crate::session::plan_diff::{deployed_at, render_diff_only};

/// Loading the plan for a page says nothing: `deploy check` is for its warnings.
struct Quiet;

impl crate::session::Reporter for Quiet {
    fn notice(&self, _text: &str) {}
    fn diagnostics(&self, _diagnostics: &[crate::diagnostic::Diagnostic], _sources: &crate::syntax::span::SourceMap) {}
}

pub async fn show(State(state): State<AppState>) -> ApiResult<Html<String>> {
    let plan = state.config.plan.get();
    let location = state.config.state.clone();
    let (text, pipeline) = blocking(move || {
        let graph = crate::session::load::load_graph(&plan, &[], &Quiet)?;
        // A preview: `file()` and `command()` secrets are not read.
        let inputs = crate::session::load::load_inputs_reading(&graph, &[], false, &Quiet)?;
        let deployed = deployed_at(&graph, &inputs, &location).map_err(ApiError::from)?;
        Ok((render_diff_only(deployed.changes.as_ref()), graph.plan.pipeline.name.clone()))
    })
    .await?;
    let body = format!(
        "<h1>Plan diff of <code>{}</code></h1><p>What the next run of <code>{}</code> changes against what is \
         deployed (the same as <code>deploy plan --diff-only</code>).</p><pre class=\"diff\" data-plan-diff>{}</pre>",
        escape(&pipeline),
        escape(&state.config.plan.get().display().to_string()),
        escape(&text)
    );
    Ok(Html(page("Plan diff", &body)))
}
