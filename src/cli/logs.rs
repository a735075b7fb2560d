//! `deploy logs [RUN] [--json]` — replays a run's journal (default the
//! latest run) through the same plain or JSON views `deploy run` uses.

use super::flags::StateArgs;
use super::report;
use super::ExitCode;
use crate::engine::view::{JsonView, PlainView};
use crate::engine::EventSink;
use crate::state::DeploymentQuery;

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// The run: its id, a version (its newest run) or a commit `deploy
    /// watch` deployed (7+ hex digits of its hash) [default: the latest].
    run: Option<String>,
    #[command(flatten)]
    state: StateArgs,
}

pub fn run(args: LogsArgs) -> ExitCode {
    let location = args.state.location();
    let mut store = match report::open_reader(&location) {
        Ok(Some(store)) => store,
        Ok(None) => {
            return report::error(crate::session::SessionError::not_found(format!(
                "no deploy state at {} (nothing has run here yet?)",
                location.describe()
            )))
        }
        Err(code) => return code,
    };
    let run_id = match args.run {
        // A run id, a version (its newest run) or a commit `deploy watch` deployed.
        Some(run) => match crate::state::find_run_named(store.as_mut(), &run) {
            Ok(Some(deployment)) => deployment.run_id,
            Ok(None) => run,
            Err(error) => return report::fail(error),
        },
        None => match store.deployments(&DeploymentQuery { limit: Some(1), ..Default::default() }) {
            Ok(deployments) => match deployments.into_iter().next() {
                Some(deployment) => deployment.run_id,
                None => {
                    return super::failure::fail("no runs recorded yet");
                }
            },
            Err(error) => return report::fail(error),
        },
    };
    let journal = match store.journal(&run_id) {
        Ok(journal) => journal,
        Err(error) => return report::fail(error),
    };
    if journal.is_empty() {
        match store.deployment(&run_id) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return super::failure::fail(format!("no run `{run_id}` in the state (see `deploy history`)"));
            }
            Err(error) => return report::fail(error),
        }
    }
    let (events, unreadable) = crate::state::journal::read_events(&journal);
    let mut view: Box<dyn EventSink> = if args.state.json {
        Box::new(JsonView::new(std::io::stdout()))
    } else {
        Box::new(PlainView::new(std::io::stdout()))
    };
    for event in &events {
        view.handle(event);
    }
    view.close();
    if unreadable > 0 {
        eprintln!("deploy: warning: {unreadable} journal entries could not be read");
    }
    ExitCode::Success
}
