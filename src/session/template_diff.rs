//! `deploy plan --diff`: each `template` step rendered for each host and
//! compared with the file that is on the host now (like `ansible --check
//! --diff`). Nothing is written; reading the current file goes over the
//! environment's transport (and its `become`). A host that cannot be read
//! says why instead of a diff.

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::check::model::{Step, TransportKind};
use crate::engine::interpolate::{Quoting, ValuesInScope};
use crate::engine::transport::{CommandSpec, OutputSink, SshHost, SshTransport, Transport, UploadSpec};
use crate::graph::ExecutionGraph;
use crate::inputs::ResolvedInputs;

/// One template on one host.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TemplateDiff {
    pub stage: String,
    pub host: String,
    pub template: String,
    pub target: String,
    /// A unified diff (empty: the host has it already).
    pub diff: String,
    /// Why there is no diff (the template or the host could not be read).
    pub error: Option<String>,
}

struct Wanted {
    diff: TemplateDiff,
    rendered: String,
    become_root: Option<bool>,
    ssh: Option<usize>,
}

/// Every template step of the selected stages, for each host.
pub fn template_diffs(graph: &ExecutionGraph, inputs: &ResolvedInputs, previous_version: &str) -> Vec<TemplateDiff> {
    let plan = &graph.plan;
    let mut wanted: Vec<Wanted> = Vec::new();
    let mut transports: Vec<Arc<SshTransport>> = Vec::new();
    let mut transport_of: Vec<(usize, usize)> = Vec::new();
    for id in &graph.order {
        let node = plan.node(*id);
        if node.deselected.is_some() {
            continue;
        }
        let Some(target) = node.target else { continue };
        let environment = plan.environment(target);
        for step in &node.steps {
            let Step::Upload(upload) = step else { continue };
            if !upload.render {
                continue;
            }
            let ssh = (environment.transport == TransportKind::Ssh).then(|| {
                match transport_of.iter().find(|(env, _)| *env == target.0) {
                    Some((_, index)) => *index,
                    None => {
                        transports.push(Arc::new(SshTransport::new(
                            SshHost::of(environment),
                            crate::engine::DEFAULT_MAX_PARALLEL,
                            super::kill_grace(),
                        )));
                        transport_of.push((target.0, transports.len() - 1));
                        transports.len() - 1
                    }
                }
            });
            for host in &environment.hosts {
                let scope = ValuesInScope {
                    plan,
                    inputs,
                    node: Some(node),
                    environment: Some(environment),
                    host: Some(host),
                    version: None,
                    previous_version,
                    attempt: 1,
                    mask_secrets: true,
                };
                let mut diff = TemplateDiff {
                    stage: node.name.clone(),
                    host: host.clone(),
                    template: String::new(),
                    target: String::new(),
                    diff: String::new(),
                    error: None,
                };
                let rendered = (|| -> Result<String, String> {
                    let local = scope.render(&upload.local, Quoting::None)?;
                    let remote = scope.render(&upload.remote, Quoting::None)?;
                    let spec = UploadSpec {
                        local: local.trim_end_matches(".j2").into(),
                        remote,
                        cwd: plan.base_dir.clone(),
                        become_root: None,
                    };
                    diff.template = local.clone();
                    diff.target = spec.target();
                    let path = plan.base_dir.join(&local);
                    let text = crate::check::loader::read_to_string_limited(&path)
                        .map_err(|error| format!("cannot read template {}: {error}", path.display()))?;
                    let context = crate::engine::template_render::context(&scope);
                    crate::check::jinja::render(&local, &text, &context)
                })();
                match rendered {
                    Ok(rendered) => wanted.push(Wanted { diff, rendered, become_root: node.become_root, ssh }),
                    Err(problem) => {
                        diff.error = Some(problem);
                        wanted.push(Wanted { diff, rendered: String::new(), become_root: None, ssh: None });
                    }
                }
            }
        }
    }
    if wanted.is_empty() {
        return Vec::new();
    }
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread().enable_all().build() else {
        return wanted.into_iter().map(|w| w.diff).collect();
    };
    runtime.block_on(async {
        let mut out = Vec::new();
        for mut item in wanted {
            if item.diff.error.is_some() {
                out.push(item.diff);
                continue;
            }
            let current = match item.ssh {
                Some(index) => {
                    read_remote(&transports[index], &item.diff.host, &item.diff.target, item.become_root).await
                }
                None => Ok(std::fs::read_to_string(graph.plan.base_dir.join(&item.diff.target)).unwrap_or_default()),
            };
            match current {
                Ok(current) => {
                    if current != item.rendered {
                        item.diff.diff = similar::TextDiff::from_lines(&current, &item.rendered)
                            .unified_diff()
                            .header(&format!("{}:{} (now)", item.diff.host, item.diff.target), "rendered")
                            .to_string();
                    }
                }
                Err(error) => item.diff.error = Some(error),
            }
            out.push(item.diff);
        }
        for transport in &transports {
            transport.close().await;
        }
        out
    })
}

/// The file's content on the host ("" when it does not exist yet).
async fn read_remote(
    transport: &SshTransport,
    host: &str,
    target: &str,
    become_root: Option<bool>,
) -> Result<String, String> {
    let lines = Arc::new(Mutex::new(String::new()));
    let sink_lines = lines.clone();
    let sink: OutputSink = Arc::new(move |stream, line| {
        if stream == crate::record::event::Stream::Stdout {
            if let Ok(mut text) = sink_lines.lock() {
                text.push_str(&line);
                text.push('\n');
            }
        }
    });
    let spec = CommandSpec {
        command: format!("[ ! -e {0} ] || cat -- {0}", crate::shell_quote::shell_quote(target)),
        cwd: std::path::PathBuf::from("."),
        env: Vec::new(),
        become_root,
    };
    let exit = transport.run(host, spec, sink, CancellationToken::new()).await.map_err(|error| error.to_string())?;
    if !exit.success() {
        return Err(format!("cannot read {target} on {host}: {}", exit.describe()));
    }
    Ok(lines.lock().map(|text| text.clone()).unwrap_or_default())
}
