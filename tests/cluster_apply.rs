//! `dynamoctl apply` through the real binary against the API server simulator.

mod common;

use std::process::Output;

use common::cluster::TestCluster;
use common::repo;
use serde_json::Value;
use std::path::Path;

async fn dynamoctl(sim: &impl common::sim::HasKubeconfig, args: &[&str]) -> Output {
    common::sim::run(sim, args, &[]).await
}

fn stderr(o: &Output) -> String {
    common::sim::text(&o.stderr)
}

fn rendered(file: &Path) -> Vec<Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .arg("render")
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success());
    dynamoctl::yaml::parse_documents(std::str::from_utf8(&out.stdout).unwrap())
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_reconcile_wait_creates_what_render_prints() {
    let Some(sim) = common::cluster::with_crds(true).await else {
        return;
    };
    let out = dynamoctl(
        &sim,
        &[
            "apply",
            "examples/mocker-agg.yaml",
            "--reconcile",
            "--wait",
            "--timeout",
            "60s",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("DynamoGraphDeployment default/mocker-agg is Ready")
    );

    for want in rendered(&repo().join("examples/mocker-agg.yaml")) {
        let r = dynamoctl::cluster::ObjectRef::of(&want);
        let group = r.api_version.split_once('/').map_or("", |(g, _)| g);
        let plural = match r.kind.as_str() {
            "Ingress" => "ingresses".to_string(),
            k => format!("{}s", k.to_lowercase()),
        };
        let live = sim
            .object(
                group,
                &plural,
                r.namespace.as_deref().unwrap_or(""),
                &r.name,
            )
            .unwrap_or_else(|| panic!("{r} was not created"));
        if let Some(spec) = want.get("spec") {
            assert!(
                dynamoctl::cluster::is_subset(spec, &live["spec"]),
                "{r}: live spec differs from render"
            );
        }
    }
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_times_out_naming_what_is_not_ready() {
    let Some(sim) = common::cluster::sim_only_with_crds("holding a Deployment back", true).await
    else {
        return;
    };
    sim.sim().kubelet().hold("default", "mocker-agg-worker");
    let out = dynamoctl(
        &sim,
        &[
            "apply",
            "examples/mocker-agg.yaml",
            "--reconcile",
            "--wait",
            "--timeout",
            "3s",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("timed out after 3s waiting for:"), "{err}");
    assert!(
        err.contains(
            "DynamoGraphDeployment default/mocker-agg: Resources not ready: mocker-agg-worker"
        ),
        "{err}"
    );
    sim.stop().await;
}

/// `apply --wait` with no operator anywhere: the graph is applied, then, after the grace an
/// operator that is still starting gets (one Lease duration), exit 1 naming the namespace;
/// with `--timeout` shorter than that grace, the timeout bounds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_without_an_operator_says_so_and_fails() {
    let Some(sim) = common::cluster::with_crds(false).await else {
        return;
    };
    let started = std::time::Instant::now();
    let out = dynamoctl(
        &sim,
        &[
            "apply",
            "examples/mocker-agg.yaml",
            "--wait",
            "--timeout",
            "3s",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: no operator manages namespace default"),
        "{}",
        stderr(&out)
    );
    assert!(
        sim.object(
            "nvidia.com",
            "dynamographdeployments",
            "default",
            "mocker-agg"
        )
        .is_some(),
        "the graph is applied all the same"
    );
    // Bounded by the 3 s timeout, not the 15 s grace (a wide margin for a loaded machine).
    assert!(started.elapsed() < std::time::Duration::from_secs(12));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_sends_nothing() {
    let Some(sim) = TestCluster::start(false).await else {
        return;
    };
    let out = dynamoctl(
        &sim,
        &["apply", "tests/bad-input/12-negative-replicas.yaml"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        sim.audit().is_empty(),
        "no request may reach the server: {:?}",
        sim.audit()
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converged_reconcile_writes_nothing() {
    let Some(sim) = common::cluster::with_crds(true).await else {
        return;
    };
    let out = dynamoctl(
        &sim,
        &[
            "apply",
            "examples/vllm-disagg.yaml",
            "--reconcile",
            "--wait",
            "--timeout",
            "60s",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    sim.clear_audit();
    // The CLI's apply of the graph itself is a write; a further reconcile pass is not.
    let client = sim.client();
    let applier = dynamoctl::cluster::Applier {
        resolver: dynamoctl::cluster::Resolver::new(client.clone(), &sim.url())
            .await
            .unwrap(),
        default_namespace: "default".into(),
    };
    let reconciler = dynamoctl::controller::Reconciler::new(applier, Default::default());
    let dgds: kube::Api<dynamoctl::api::DynamoGraphDeployment> =
        kube::Api::namespaced(client.clone(), "default");
    let dcds: kube::Api<dynamoctl::api::DynamoComponentDeployment> =
        kube::Api::namespaced(client, "default");
    let now =
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now());
    sim.clear_audit();
    let dgd = dgds.get("vllm-disagg").await.unwrap();
    reconciler.reconcile_graph(&dgd, &now).await.unwrap();
    for dcd in dcds.list(&Default::default()).await.unwrap() {
        reconciler.reconcile_component(&dcd, &now).await.unwrap();
    }
    assert!(
        sim.audit_writes().is_empty(),
        "a converged reconcile must not write: {:?}",
        sim.audit_writes()
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_one_clear_line() {
    let dir = std::env::temp_dir().join(format!("dynamoctl-unreachable-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("config");
    // Port 1 on loopback: nothing listens there.
    std::fs::write(&kubeconfig, kube_sim::kubeconfig_yaml("http://127.0.0.1:1")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .current_dir(repo())
        .args(["apply", "examples/mocker-agg.yaml", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: cannot reach the API server at http://127.0.0.1:1/"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_removes_what_left_the_applyset() {
    let Some(sim) = TestCluster::start(false).await else {
        return;
    };
    let cm = |name: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n")
    };
    let both = common::sim::temp_file("both", &format!("{}---\n{}", cm("a"), cm("b")));
    let only_a = common::sim::temp_file("only-a", &cm("a"));
    let out = dynamoctl(
        &sim,
        &[
            "apply",
            both.to_str().unwrap(),
            "--applyset",
            "demo",
            "--prune",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let parent = sim
        .object("", "secrets", "default", "demo")
        .expect("the parent Secret exists");
    let id = parent["metadata"]["labels"]["applyset.kubernetes.io/id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"],
        "ConfigMap"
    );
    assert_eq!(
        sim.object("", "configmaps", "default", "b").unwrap()["metadata"]["labels"]["applyset.kubernetes.io/part-of"],
        id.as_str()
    );

    // Server dry run: reports the prune, deletes nothing.
    let out = dynamoctl(
        &sim,
        &[
            "apply",
            only_a.to_str().unwrap(),
            "--applyset",
            "demo",
            "--prune",
            "--dry-run=server",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(common::sim::text(&out.stdout).contains("configmap/b pruned (server dry run)"));
    assert!(sim.object("", "configmaps", "default", "b").is_some());

    let out = dynamoctl(
        &sim,
        &[
            "apply",
            only_a.to_str().unwrap(),
            "--applyset",
            "demo",
            "--prune",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(common::sim::text(&out.stdout).contains("configmap/b pruned"));
    assert!(
        sim.object("", "configmaps", "default", "b").is_none(),
        "b left the set and is pruned"
    );
    assert!(sim.object("", "configmaps", "default", "a").is_some());

    // --prune without --applyset is a usage error, before anything is sent.
    sim.clear_audit();
    let out = dynamoctl(&sim, &["apply", only_a.to_str().unwrap(), "--prune"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(sim.audit().is_empty());
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_name_the_other_manager_until_forced() {
    let Some(sim) = TestCluster::start(false).await else {
        return;
    };
    let cm = |value: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: default\ndata:\n  k: {value}\n"
        )
    };
    // Someone else (kubectl, say) owns data.k.
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(sim.client(), "default");
    let theirs: Value = serde_json::from_value(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}, "data": {"k": "theirs"}})).unwrap();
    api.patch(
        "shared",
        &kube::api::PatchParams::apply("kubectl"),
        &kube::api::Patch::Apply(&theirs),
    )
    .await
    .unwrap();

    let mine = common::sim::temp_file("conflict", &cm("mine"));
    let out = dynamoctl(&sim, &["apply", mine.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("ConfigMap default/shared")
            && err.contains("kubectl")
            && err.contains(".data.k"),
        "{err}"
    );
    assert!(err.contains("--force-conflicts"), "{err}");
    assert_eq!(
        api.get("shared").await.unwrap().data.unwrap()["k"],
        "theirs"
    );

    let out = dynamoctl(
        &sim,
        &["apply", mine.to_str().unwrap(), "--force-conflicts"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(api.get("shared").await.unwrap().data.unwrap()["k"], "mine");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_converges_through_injected_faults() {
    use kube_sim::{FaultConfig, FaultKind, FaultRule};
    let Some(sim) = common::cluster::sim_only_with_crds("fault injection", true).await else {
        return;
    };
    sim.sim().set_faults(FaultConfig {
        rules: vec![
            FaultRule::new(FaultKind::InternalError, 0.1).verb("patch"),
            FaultRule::new(
                FaultKind::TooManyRequests {
                    retry_after_secs: 0,
                },
                0.1,
            )
            .verb("get"),
            FaultRule::new(
                FaultKind::Unavailable {
                    retry_after_secs: 0,
                },
                0.1,
            )
            .verb("list"),
        ],
        ..FaultConfig::default()
    });
    let out = dynamoctl(
        &sim,
        &[
            "apply",
            "examples/vllm-disagg.yaml",
            "--reconcile",
            "--wait",
            "--timeout",
            "60s",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    sim.sim().set_faults(FaultConfig::default());
    for name in [
        "vllm-disagg-frontend",
        "vllm-disagg-vllmdecodeworker",
        "vllm-disagg-vllmprefillworker",
    ] {
        assert!(
            sim.object("apps", "deployments", "default", name).is_some(),
            "{name}"
        );
        assert!(
            sim.object("", "services", "default", name).is_some(),
            "{name}"
        );
    }
    let faults_hit = sim.audit().iter().filter(|r| r.code >= 429).count();
    assert!(faults_hit > 0, "the faults were injected");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_half_way_says_what_was_and_was_not_applied() {
    let Some(sim) = TestCluster::start(false).await else {
        return;
    };
    // The ConfigMap applies; the Deployment's namespace does not exist.
    let docs = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n  namespace: default\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n  namespace: missing\n";
    let file = common::sim::temp_file("half-way", docs);
    let out = dynamoctl(&sim, &["apply", file.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("applied before the failure (1): ConfigMap default/first"),
        "{err}"
    );
    assert!(
        err.contains("not applied (1): ConfigMap missing/second"),
        "{err}"
    );
    assert!(sim.object("", "configmaps", "default", "first").is_some());
    sim.stop().await;
}
