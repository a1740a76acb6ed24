//! Wall time of whole `dynamoctl diff` processes on the largest upstream example against the
//! API server simulator (in this process): once against an empty cluster (everything is a
//! creation) and once after the graph is deployed (every object dry-run applied and compared).
//! Run with `cargo bench --bench diff`; figures go to docs/benchmarks.md.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use kube_sim::{Options, Simulator};

const EXAMPLE: &str =
    "tests/fixtures/upstream/recipes__qwen3-32b__vllm__disagg-kv-router__deploy.yaml";

fn dynamoctl(sim: &Simulator, args: &[&str]) -> (Duration, i32) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .args(args)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .output()
        .unwrap();
    (start.elapsed(), out.status.code().unwrap_or(-1))
}

fn median_of(sim: &Simulator, args: &[&str], runs: usize) -> Duration {
    let mut samples: Vec<Duration> = (0..runs).map(|_| dynamoctl(sim, args).0).collect();
    samples.sort();
    samples[runs / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sim = Simulator::start(Options {
        kubelet: true,
        kubelet_ready_delay: Duration::from_millis(50),
        ..Options::default()
    })
    .await;
    let crds = [
        "apply",
        "crds/nvidia.com_dynamographdeployments.yaml",
        "crds/nvidia.com_dynamocomponentdeployments.yaml",
    ];
    let sim = tokio::task::spawn_blocking(move || {
        assert_eq!(dynamoctl(&sim, &crds).1, 0);
        let empty = median_of(&sim, &["diff", EXAMPLE], 20);
        assert_eq!(
            dynamoctl(
                &sim,
                &[
                    "apply",
                    EXAMPLE,
                    "--reconcile",
                    "--wait",
                    "--timeout",
                    "60s"
                ]
            )
            .1,
            0
        );
        let deployed = median_of(&sim, &["diff", EXAMPLE], 20);
        println!("dynamoctl diff {EXAMPLE}");
        println!(
            "  nothing deployed (all creations): median {:.1} ms over 20 runs",
            empty.as_secs_f64() * 1e3
        );
        println!(
            "  deployed and unchanged:           median {:.1} ms over 20 runs",
            deployed.as_secs_f64() * 1e3
        );
        sim
    })
    .await
    .unwrap();
    sim.stop().await;
}
