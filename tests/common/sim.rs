//! Running the dynamoctl binary against the API server simulator.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use kube_sim::{Options, Simulator};

use super::repo;

/// Anything dynamoctl can be pointed at with `--kubeconfig`.
pub trait HasKubeconfig {
    /// Its admin kubeconfig.
    fn kubeconfig(&self) -> &Path;
}

impl HasKubeconfig for Simulator {
    fn kubeconfig(&self) -> &Path {
        self.kubeconfig_path()
    }
}

/// Runs dynamoctl with a kubeconfig pointing at `cluster`, off the async runtime, bounded in
/// time.
pub async fn run(cluster: &impl HasKubeconfig, args: &[&str], env: &[(&str, &str)]) -> Output {
    let kubeconfig = cluster.kubeconfig().to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let task = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
            .current_dir(repo())
            .args(&args)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .env("NO_COLOR", "1")
            .envs(env)
            .output()
            .expect("dynamoctl runs")
    });
    // The real backend's rollouts take longer than the simulator's.
    tokio::time::timeout(Duration::from_secs(300), task)
        .await
        .expect("dynamoctl finished in time")
        .unwrap()
}

/// A simulator with the Dynamo CRDs installed (through `dynamoctl apply`).
pub async fn with_crds(kubelet: bool) -> Simulator {
    let sim = Simulator::start(Options {
        kubelet,
        kubelet_ready_delay: Duration::from_millis(100),
        ..Options::default()
    })
    .await;
    let out = run(
        &sim,
        &[
            "apply",
            "crds/nvidia.com_dynamographdeployments.yaml",
            "crds/nvidia.com_dynamocomponentdeployments.yaml",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    sim
}

/// Bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Writes `content` to a fresh file under the temp dir and returns its path.
pub fn temp_file(name: &str, content: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dynamoctl-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, content).unwrap();
    path
}

/// The text of a file in the repository.
pub fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(Path::new(path))).unwrap()
}
