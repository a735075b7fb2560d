//! `deploy history [--env E] [--limit N] [--json]` — one row per
//! deployment (runs and rollbacks), newest first.

use serde::Serialize;

use super::flags::StateArgs;
use super::report;
use super::ExitCode;
use crate::engine::view::format_ms;
use crate::state::{format_time, DeploymentQuery, DeploymentStatus, Holder};

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Only deployments that targeted this environment.
    #[arg(long = "env", value_name = "ENV")]
    environment: Option<String>,
    /// At most N rows.
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: usize,
    #[command(flatten)]
    state: StateArgs,
}

#[derive(Debug, Serialize)]
struct Row {
    run_id: String,
    kind: crate::state::DeploymentKind,
    pipeline: String,
    environments: Vec<String>,
    version: String,
    previous_version: String,
    status: DeploymentStatus,
    started_by: String,
    started_at: i64,
    ended_at: Option<i64>,
    duration_ms: Option<i64>,
    undoes: Option<String>,
    undone_by: Option<String>,
}

pub fn run(args: HistoryArgs) -> ExitCode {
    let location = args.state.location();
    let Some(mut store) = (match report::open_store(&location, false) {
        Ok(store) => store,
        Err(code) => return code,
    }) else {
        if args.state.json {
            println!("[]");
        } else {
            println!("no deployments yet (no state at {})", location.describe());
        }
        return ExitCode::Success;
    };
    let pipeline = match &args.state.plan {
        Some(plan) => match super::load::load_graph(plan, &[]) {
            Some(graph) => Some(graph.plan.pipeline.name.clone()),
            None => return ExitCode::Usage,
        },
        None => None,
    };
    let query =
        DeploymentQuery { pipeline, environment: args.environment.clone(), kind: None, limit: Some(args.limit.max(1)) };
    let deployments = match store.deployments(&query) {
        Ok(deployments) => deployments,
        Err(error) => return report::fail(error),
    };
    let me = Holder::current("");
    let rows: Vec<Row> = deployments
        .into_iter()
        .map(|deployment| Row {
            status: crate::session::liveness::effective_status(&deployment, &me),
            duration_ms: deployment.ended_at.map(|end| end - deployment.started_at),
            run_id: deployment.run_id,
            kind: deployment.kind,
            pipeline: deployment.pipeline,
            environments: deployment.environments,
            version: deployment.version,
            previous_version: deployment.previous_version,
            started_by: deployment.started_by,
            started_at: deployment.started_at,
            ended_at: deployment.ended_at,
            undoes: deployment.undoes,
            undone_by: deployment.undone_by,
        })
        .collect();
    if args.state.json {
        return super::output::print_json(&rows);
    }
    if rows.is_empty() {
        println!("no deployments yet");
        return ExitCode::Success;
    }
    let table: Vec<[String; 7]> = rows
        .iter()
        .map(|row| {
            let what = match (&row.undoes, &row.undone_by) {
                (Some(undone), _) => format!("rollback of {undone}"),
                (None, Some(by)) => format!("undone by {by}"),
                _ => String::new(),
            };
            let environments = if row.environments.is_empty() { "-".to_string() } else { row.environments.join(",") };
            [
                row.run_id.clone(),
                format!("{} {}", row.pipeline, environments),
                row.version.clone(),
                row.status.as_str().to_string(),
                row.started_by.clone(),
                format!(
                    "{} {}",
                    format_time(row.started_at),
                    row.duration_ms.map(|ms| format_ms(u64::try_from(ms).unwrap_or(0))).unwrap_or_else(|| "-".into())
                ),
                what,
            ]
        })
        .collect();
    let headers = ["RUN", "PIPELINE ENV", "VERSION", "STATUS", "WHO", "WHEN DURATION", ""];
    let mut widths: Vec<usize> = headers.iter().map(|header| header.len()).collect();
    for row in &table {
        for (width, cell) in widths.iter_mut().zip(row.iter()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let parts: Vec<String> =
            cells.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}", width = *width)).collect();
        parts.join("  ").trim_end().to_string()
    };
    println!("{}", line(headers.to_vec()));
    for row in &table {
        println!("{}", line(row.iter().map(String::as_str).collect()));
    }
    ExitCode::Success
}
