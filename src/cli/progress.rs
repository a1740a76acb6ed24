//! Live progress of graphs while waiting: one indicatif line per service on a terminal, plain
//! timestamped lines (only when something changed) otherwise.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use kube::ResourceExt;

use crate::api::DynamoGraphDeployment;

/// Progress display for `--wait`.
pub struct Progress {
    bars: Option<(MultiProgress, BTreeMap<String, ProgressBar>)>,
    last: BTreeMap<String, String>,
}

impl Progress {
    /// Bars when stderr is a terminal and `NO_COLOR` is unset, lines otherwise.
    pub fn new() -> Progress {
        let tty = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let bars = tty.then(|| {
            (
                MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                BTreeMap::new(),
            )
        });
        Progress {
            bars,
            last: BTreeMap::new(),
        }
    }

    /// Shows each service of the graph with ready/desired replicas.
    pub fn show_graph(&mut self, dgd: &DynamoGraphDeployment) {
        let status = dgd.status.clone().unwrap_or_default();
        for key in dgd.spec.services.iter().flatten().map(|(k, _)| k) {
            let svc = status.services.as_ref().and_then(|s| s.get(key));
            let desired = svc.map_or(0, |s| s.replicas);
            let ready = svc.and_then(|s| s.ready_replicas).unwrap_or(0);
            let id = format!(
                "{}/{} {key}",
                dgd.namespace().unwrap_or_default(),
                dgd.name_any()
            );
            let line = format!("{ready}/{desired} ready");
            match &mut self.bars {
                Some((multi, bars)) => {
                    let bar = bars.entry(id.clone()).or_insert_with(|| {
                        let b = multi.add(ProgressBar::new(0));
                        b.set_style(
                            ProgressStyle::with_template("{spinner} {prefix:40} {msg}")
                                .expect("valid template"),
                        );
                        b.set_prefix(id.clone());
                        b
                    });
                    bar.set_message(line);
                    bar.tick();
                }
                None => {
                    if self.last.get(&id) != Some(&line) {
                        let ts = k8s_openapi::jiff::Timestamp::now().strftime("%H:%M:%S");
                        eprintln!("{ts} {id}: {line}");
                        self.last.insert(id, line);
                    }
                }
            }
        }
    }

    /// Removes the bars.
    pub fn finish(&mut self) {
        if let Some((_, bars)) = &self.bars {
            for b in bars.values() {
                b.finish_and_clear();
            }
        }
    }
}
