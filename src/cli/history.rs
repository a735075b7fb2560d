//! `deploy history [--env E] [--commit SHA] [--limit N] [--json]` — one row per
//! deployment (runs and rollbacks), newest first.

use serde::Serialize;

use super::flags::StateArgs;
use super::report;
use super::ExitCode;
use crate::engine::view::format_ms;
use crate::state::{format_time, CommitRecord, Deployment, DeploymentQuery, Holder, HostVersion, RunModule};

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Only deployments that targeted this environment.
    #[arg(long = "env", value_name = "ENV")]
    environment: Option<String>,
    /// At most N rows.
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: usize,
    /// Only the runs of a commit `deploy watch` deployed (and the commit
    /// itself when it was skipped): its hash or a prefix of 4+ hex digits.
    #[arg(long, value_name = "SHA")]
    commit: Option<String>,
    #[command(flatten)]
    state: StateArgs,
}

/// The commit a `deploy watch` run deployed.
#[derive(Debug, Serialize)]
struct CommitView {
    hash: String,
    author: String,
    subject: String,
    /// `deployed`, `bad`, `superseded`, ...
    status: &'static str,
    superseded_by: Option<String>,
}

impl CommitView {
    fn of(record: &CommitRecord) -> CommitView {
        CommitView {
            hash: record.commit.clone(),
            author: record.author.clone(),
            subject: record.subject.clone(),
            status: record.status.as_str(),
            superseded_by: record.superseded_by.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
struct Row {
    /// `""` for a commit `deploy watch` skipped (superseded before its turn).
    run_id: String,
    /// `run`, `rollback`, or `commit` for a skipped commit.
    kind: &'static str,
    pipeline: String,
    environments: Vec<String>,
    version: String,
    previous_version: String,
    status: &'static str,
    started_by: String,
    started_at: i64,
    ended_at: Option<i64>,
    duration_ms: Option<i64>,
    undoes: Option<String>,
    undone_by: Option<String>,
    commit: Option<CommitView>,
    /// What it did to each host it touched.
    hosts: Vec<HostChangeView>,
    /// The remote modules it ran with: `[{name, url, reference, path,
    /// commit, tag}]` (empty for a plan without remote imports, and for runs
    /// recorded before schema 6).
    modules: Vec<RunModule>,
}

/// One host a deployment changed, and what it left there.
#[derive(Debug, Serialize)]
struct HostChangeView {
    environment: String,
    host: String,
    version: String,
    previous_version: String,
    /// `ok`, `failed`, `undone`, `unknown`.
    state: &'static str,
}

pub fn run(args: HistoryArgs) -> ExitCode {
    let commit = match args.commit.as_deref().map(|text| (text, crate::state::commit_prefix(text))) {
        None => None,
        Some((_, Some(prefix))) => Some(prefix),
        Some((text, None)) => {
            return super::failure::fail(format!(
                "`--commit {text}` is not a commit hash: give it, or 4 to 40 hex digits of its start"
            ));
        }
    };
    let location = args.state.location();
    let Some(mut store) = (match report::open_reader(&location) {
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
    let query = DeploymentQuery {
        pipeline,
        environment: args.environment.clone(),
        limit: Some(args.limit.max(1)),
        commit: commit.clone(),
        ..DeploymentQuery::default()
    };
    let deployments = match store.deployments(&query) {
        Ok(deployments) => deployments,
        Err(error) => return report::fail(error),
    };
    let commits = match store.commits(query.pipeline.as_deref(), args.limit.max(1) * 4) {
        Ok(commits) => commits,
        Err(error) => return report::fail(error),
    };
    let run_ids: Vec<String> = deployments.iter().map(|deployment| deployment.run_id.clone()).collect();
    let hosts = match store.host_changes_of_runs(&run_ids) {
        Ok(hosts) => hosts,
        Err(error) => return report::fail(error),
    };
    let me = Holder::current("");
    let mut rows: Vec<Row> =
        deployments.into_iter().map(|deployment| deployment_row(deployment, &commits, &hosts, &me)).collect();
    if args.environment.is_none() {
        let wanted =
            |record: &&CommitRecord| commit.as_deref().map_or(true, |prefix| record.commit.starts_with(prefix));
        rows.extend(commits.iter().filter(|record| record.run_id.is_none()).filter(wanted).map(skipped_commit));
        rows.sort_by_key(|row| std::cmp::Reverse(row.started_at));
        rows.truncate(args.limit.max(1));
    }
    if args.state.json {
        return super::output::print_json(&rows);
    }
    if rows.is_empty() {
        println!("no deployments yet");
        return ExitCode::Success;
    }
    print_table(&rows);
    ExitCode::Success
}

/// One deployment as a row, with the commit it deployed.
fn deployment_row(deployment: Deployment, commits: &[CommitRecord], hosts: &[HostVersion], me: &Holder) -> Row {
    Row {
        hosts: hosts
            .iter()
            .filter(|host| host.run_id == deployment.run_id)
            .map(|host| HostChangeView {
                environment: host.environment.clone(),
                host: host.host.clone(),
                version: host.version.clone(),
                previous_version: host.previous_version.clone(),
                state: host.state.as_str(),
            })
            .collect(),
        status: crate::session::liveness::effective_status(&deployment, me).as_str(),
        duration_ms: deployment.ended_at.map(|end| end - deployment.started_at),
        commit: commits
            .iter()
            .find(|commit| commit.run_id.as_deref() == Some(deployment.run_id.as_str()))
            .map(CommitView::of),
        run_id: deployment.run_id,
        kind: deployment.kind.as_str(),
        pipeline: deployment.pipeline,
        environments: deployment.environments,
        version: deployment.version,
        previous_version: deployment.previous_version,
        started_by: deployment.started_by,
        started_at: deployment.started_at,
        ended_at: deployment.ended_at,
        undoes: deployment.undoes,
        undone_by: deployment.undone_by,
        modules: deployment.modules,
    }
}

/// The table `deploy history` prints, one line per row.
fn print_table(rows: &[Row]) {
    let table: Vec<[String; 7]> = rows.iter().map(cells).collect();
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
}

/// The cells of one row of the table.
fn cells(row: &Row) -> [String; 7] {
    let mut what = match (&row.undoes, &row.undone_by) {
        (Some(undone), _) => format!("rollback of {undone}"),
        (None, Some(by)) => format!("undone by {by}"),
        _ => String::new(),
    };
    if let Some(commit) = &row.commit {
        let short = commit.hash.get(..7).unwrap_or(&commit.hash);
        let by = match &commit.superseded_by {
            Some(newer) => format!(" (superseded by {})", newer.get(..7).unwrap_or(newer)),
            None => String::new(),
        };
        let commit_text = format!("{short} \"{}\" by {}{by}", commit.subject, commit.author);
        what = if what.is_empty() { commit_text } else { format!("{what}; {commit_text}") };
    }
    if !row.hosts.is_empty() {
        let hosts = format!("hosts: {}", hosts_cell(&row.hosts));
        what = if what.is_empty() { hosts } else { format!("{what}; {hosts}") };
    }
    if !row.modules.is_empty() {
        let modules = format!("modules: {}", modules_cell(&row.modules));
        what = if what.is_empty() { modules } else { format!("{what}; {modules}") };
    }
    let environments = if row.environments.is_empty() { "-".to_string() } else { row.environments.join(",") };
    [
        if row.run_id.is_empty() { "-".to_string() } else { row.run_id.clone() },
        format!("{} {}", row.pipeline, environments),
        row.version.clone(),
        row.status.to_string(),
        row.started_by.clone(),
        format!(
            "{} {}",
            format_time(row.started_at),
            row.duration_ms.map(|ms| format_ms(u64::try_from(ms).unwrap_or(0))).unwrap_or_else(|| "-".into())
        ),
        what,
    ]
}

/// The hosts a deployment changed: each with its state, or for many hosts
/// a count per state with the hosts that are not `ok` (`998 ok, 2 failed:
/// web-3, web-7`); `--json` has every host.
fn hosts_cell(hosts: &[HostChangeView]) -> String {
    const LISTED: usize = 8;
    if hosts.len() <= LISTED {
        return hosts.iter().map(|host| format!("{} {}", host.host, host.state)).collect::<Vec<_>>().join(", ");
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for host in hosts {
        match counts.iter_mut().find(|(state, _)| *state == host.state) {
            Some((_, count)) => *count += 1,
            None => counts.push((host.state, 1)),
        }
    }
    let mut text = counts.iter().map(|(state, count)| format!("{count} {state}")).collect::<Vec<_>>().join(", ");
    let others: Vec<&str> = hosts.iter().filter(|host| host.state != "ok").map(|host| host.host.as_str()).collect();
    if !others.is_empty() {
        let more = if others.len() > LISTED { format!(" and {} more", others.len() - LISTED) } else { String::new() };
        text.push_str(&format!(": {}{more}", others[..others.len().min(LISTED)].join(", ")));
    }
    text
}

/// The remote modules of a run: each file with the tag (else the ref) and
/// the commit it ran at (`web/service.deploy v1.1.0 3f2a9c0d1e2b`).
fn modules_cell(modules: &[RunModule]) -> String {
    let each = modules.iter().map(|module| {
        let version = module.tag.as_deref().unwrap_or(&module.reference);
        format!("{} {version} {}", module.path, crate::remote::git::short(&module.commit))
    });
    each.collect::<Vec<_>>().join(", ")
}

/// A commit `deploy watch` saw but did not run (superseded before its turn).
fn skipped_commit(commit: &CommitRecord) -> Row {
    Row {
        run_id: String::new(),
        kind: "commit",
        pipeline: commit.pipeline.clone(),
        environments: Vec::new(),
        version: commit.commit.get(..7).unwrap_or(&commit.commit).to_string(),
        previous_version: String::new(),
        status: commit.status.as_str(),
        started_by: commit.author.clone(),
        started_at: commit.seen_at,
        ended_at: None,
        duration_ms: None,
        undoes: None,
        undone_by: None,
        commit: Some(CommitView::of(commit)),
        hosts: Vec::new(),
        modules: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, state: &'static str) -> HostChangeView {
        HostChangeView {
            environment: "production".into(),
            host: name.into(),
            version: "2.0".into(),
            previous_version: "1.0".into(),
            state,
        }
    }

    #[test]
    fn few_hosts_are_listed_and_many_are_counted() {
        assert_eq!(hosts_cell(&[host("web-1", "ok"), host("web-2", "failed")]), "web-1 ok, web-2 failed");
        let mut many: Vec<HostChangeView> = (0..998).map(|n| host(&format!("web-{n}"), "ok")).collect();
        many.push(host("web-998", "failed"));
        many.push(host("web-999", "unknown"));
        assert_eq!(hosts_cell(&many), "998 ok, 1 failed, 1 unknown: web-998, web-999");
    }
}
