//! `kube-sim` standalone: `kube-sim --port N --kubeconfig PATH [--audit-log FILE] [--kubelet|--no-kubelet] [--kubelet-delay-ms N]`.

use std::path::PathBuf;
use std::time::Duration;

use kube_sim::{Options, Simulator};

const USAGE: &str = "usage: kube-sim [--port N] [--kubeconfig PATH] [--audit-log FILE] [--kubelet | --no-kubelet] [--kubelet-delay-ms N] [--bookmark-interval-ms N]

Serves a simulated Kubernetes API on http://127.0.0.1:N (N=0 picks a free port),
writes a kubeconfig for it to PATH (default ./kube-sim.kubeconfig), and prints
the URL. The simulated kubelet (Deployment status) is on unless --no-kubelet.
Stops on SIGINT/SIGTERM.";

fn parse() -> Result<Options, String> {
    let mut o = Options {
        kubelet: true,
        kubeconfig_path: Some(PathBuf::from("kube-sim.kubeconfig")),
        ..Options::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--port" => {
                o.port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?
            }
            "--kubeconfig" => o.kubeconfig_path = Some(PathBuf::from(value("--kubeconfig")?)),
            "--audit-log" => o.audit_log = Some(PathBuf::from(value("--audit-log")?)),
            "--kubelet" => o.kubelet = true,
            "--no-kubelet" => o.kubelet = false,
            "--kubelet-delay-ms" => {
                o.kubelet_ready_delay = Duration::from_millis(
                    value("--kubelet-delay-ms")?
                        .parse()
                        .map_err(|e| format!("--kubelet-delay-ms: {e}"))?,
                )
            }
            "--bookmark-interval-ms" => {
                o.bookmark_interval = Duration::from_millis(
                    value("--bookmark-interval-ms")?
                        .parse()
                        .map_err(|e| format!("--bookmark-interval-ms: {e}"))?,
                )
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let opts = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("kube-sim: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let sim = match Simulator::try_start(opts).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kube-sim: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "kube-sim listening on {} (kubeconfig: {})",
        sim.url(),
        sim.kubeconfig_path().display()
    );
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kube-sim: {e}");
            std::process::exit(1);
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    sim.stop().await;
}
