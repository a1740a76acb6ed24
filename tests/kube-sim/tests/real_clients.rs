//! The real `kubectl` and `helm` against the simulator.
//!
//! Binaries come from `KUBECTL` / `HELM`, else `<repo>/.tools/bin` (installed by
//! `scripts/install-k8s-tools.sh`). When they are missing these tests FAIL if
//! the `CI` environment variable is set, and are skipped with a notice otherwise.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::bounded;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube_sim::{Options, Simulator};
use serde_json::json;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Finds a tool, or decides between failing (CI) and skipping (local).
fn tool(name: &str, env_var: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env_var)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools/bin").join(name));
    if path.is_file() {
        return Some(path);
    }
    let msg = format!(
        "{name} not found at {} (set {env_var} or run scripts/install-k8s-tools.sh)",
        path.display()
    );
    if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
        panic!("CI is set and {msg}");
    }
    // Written to the raw stderr handle, which libtest does not capture, so a
    // plain `cargo test` shows why these tests did nothing.
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {msg}");
    None
}

/// Runs a tool against the simulator with an isolated HOME, bounded in time,
/// killed if the test is dropped.
async fn run(bin: &Path, sim: &Simulator, home: &Path, args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("KUBECONFIG", sim.kubeconfig_path())
        .env("HELM_CACHE_HOME", home.join("helm-cache"))
        .env("HELM_CONFIG_HOME", home.join("helm-config"))
        .env("HELM_DATA_HOME", home.join("helm-data"))
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("tool finished within 60s")
        .expect("tool started");
    eprintln!(
        "$ {} {}\n{}{}",
        bin.display(),
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn temp_home(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "kube-sim-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn kubectl_get_and_server_side_apply() {
    let Some(kubectl) = tool("kubectl", "KUBECTL") else {
        return;
    };
    bounded(async {
        let sim = Simulator::start(Options::default()).await;
        let home = temp_home("kubectl");
        let out = ok(&run(&kubectl, &sim, &home, &["get", "namespaces"]).await);
        assert!(out.contains("default") && out.contains("kube-system"), "{out}");

        let manifest = fixture("kubectl-apply.yaml");
        let m = manifest.to_str().unwrap();
        let out = ok(&run(&kubectl, &sim, &home, &["apply", "--server-side", "-f", m]).await);
        assert_eq!(out.lines().collect::<Vec<_>>(), ["namespace/shop serverside-applied", "configmap/settings serverside-applied", "deployment.apps/web serverside-applied"]);
        let client = sim.client();
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "shop");
        let cm = cms.get("settings").await.unwrap();
        let mf = cm.metadata.managed_fields.unwrap();
        assert_eq!((mf[0].manager.as_deref(), mf[0].operation.as_deref()), (Some("kubectl"), Some("Apply")));

        // Re-apply is a no-op on the server.
        let rv = sim.resource_version();
        ok(&run(&kubectl, &sim, &home, &["apply", "--server-side", "-f", m]).await);
        assert_eq!(sim.resource_version(), rv);

        // Server-side dry-run writes nothing.
        sim.clear_audit();
        let out = ok(&run(&kubectl, &sim, &home, &["apply", "--server-side", "--dry-run=server", "-f", m]).await);
        assert!(out.contains("serverside-applied (server dry run)"), "{out}");
        assert!(sim.audit_writes().is_empty());

        // Another manager takes .data.a: kubectl reports the conflict as the real server words it.
        cms.patch("settings", &PatchParams { field_manager: Some("other".into()), ..Default::default() }, &Patch::Merge(json!({"data": {"a": "changed"}}))).await.unwrap();
        let out = run(&kubectl, &sim, &home, &["apply", "--server-side", "-f", m]).await;
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("Apply failed with 1 conflict: conflict with \"other\" using v1: .data.a"), "{err}");
        ok(&run(&kubectl, &sim, &home, &["apply", "--server-side", "--force-conflicts", "-f", m]).await);
        assert_eq!(cms.get("settings").await.unwrap().data.unwrap()["a"], "1");

        // get -o json / jsonpath / wide listing across namespaces.
        let out = ok(&run(&kubectl, &sim, &home, &["get", "deployment", "web", "-n", "shop", "-o", "json"]).await);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["spec"]["replicas"], 2);
        let out = ok(&run(&kubectl, &sim, &home, &["get", "deployment", "-n", "shop"]).await);
        let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(lines[0], ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], "{out}");
        assert_eq!(&lines[1][..4], ["web", "0/2", "0", "0"], "no kubelet in this test: {out}");
        let out = ok(&run(&kubectl, &sim, &home, &["get", "deploy,cm", "-A"]).await);
        assert!(out.contains("web") && out.contains("settings"), "{out}");

        // CRD then a custom resource, in two kubectl runs (discovery refresh).
        let crd = fixture("widget-crd.yaml");
        let out = ok(&run(&kubectl, &sim, &home, &["apply", "--server-side", "-f", crd.to_str().unwrap()]).await);
        assert!(out.contains("customresourcedefinition.apiextensions.k8s.io/widgets.example.com serverside-applied"), "{out}");
        ok(&run(&kubectl, &sim, &home, &["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=10s"]).await);
        let w = fixture("widget.yaml");
        let out = ok(&run(&kubectl, &sim, &home, &["apply", "--server-side", "-f", w.to_str().unwrap()]).await);
        assert!(out.contains("widget.example.com/w1 serverside-applied"), "{out}");
        let out = ok(&run(&kubectl, &sim, &home, &["get", "wd", "w1", "-o", "jsonpath={.spec.size}"]).await);
        assert_eq!(out, "3");

        // Imperative creates send protobuf bodies for these kinds.
        ok(&run(&kubectl, &sim, &home, &["create", "namespace", "imperative"]).await);
        ok(&run(&kubectl, &sim, &home, &["create", "serviceaccount", "robot", "-n", "imperative"]).await);
        ok(&run(&kubectl, &sim, &home, &["create", "secret", "generic", "creds", "--from-literal=user=admin", "-n", "imperative"]).await);
        let out = ok(&run(&kubectl, &sim, &home, &["get", "secret", "creds", "-n", "imperative", "-o", "jsonpath={.data.user}"]).await);
        assert_eq!(out, "YWRtaW4=");
        // Client-side apply (three-way merge) also works.
        let out = ok(&run(&kubectl, &sim, &home, &["apply", "-f", w.to_str().unwrap()]).await);
        assert!(out.contains("widget.example.com/w1"), "{out}");

        let out = ok(&run(&kubectl, &sim, &home, &["delete", "configmap", "settings", "-n", "shop"]).await);
        assert!(out.contains("configmap \"settings\" deleted"), "{out}");
        assert!(cms.get_opt("settings").await.unwrap().is_none());
        let _ = std::fs::remove_dir_all(&home);
    })
    .await
}

#[tokio::test]
async fn kubectl_reads_leases_like_the_operator_docs_do() {
    let Some(kubectl) = tool("kubectl", "KUBECTL") else {
        return;
    };
    bounded(async {
        let sim = Simulator::start(Options::default()).await;
        let home = temp_home("lease");
        let client = sim.client();
        let nss: Api<Namespace> = Api::all(client.clone());
        for ns in ["team-a", "team-b"] {
            nss.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap()).await.unwrap();
        }
        for (ns, holder) in [("team-a", "op-a-0"), ("team-b", "op-b-0")] {
            let leases: Api<Lease> = Api::namespaced(client.clone(), ns);
            let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "dynamo-operator-namespace-scope"},
                "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15}});
            leases.patch("dynamo-operator-namespace-scope", &PatchParams::apply("dynamo-operator"), &Patch::Apply(lease)).await.unwrap();
        }
        let other: Api<Lease> = Api::namespaced(client.clone(), "team-a");
        other.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "unrelated"}, "spec": {}})).unwrap()).await.unwrap();

        let out = ok(&run(&kubectl, &sim, &home, &["get", "lease", "-A", "--field-selector", "metadata.name=dynamo-operator-namespace-scope"]).await);
        // Server-side printing: the Lease table has upstream's HOLDER column.
        let header: Vec<&str> = out.lines().next().unwrap_or_default().split_whitespace().collect();
        assert_eq!(header, ["NAMESPACE", "NAME", "HOLDER", "AGE"], "{out}");
        assert!(out.contains("op-a-0") && out.contains("op-b-0"), "{out}");
        let rows: Vec<&str> = out.lines().skip(1).collect();
        assert_eq!(rows.len(), 2, "{out}");
        assert!(rows[0].starts_with("team-a") && rows[1].starts_with("team-b"), "{out}");
        assert!(!out.contains("unrelated"));

        let out = ok(&run(&kubectl, &sim, &home, &["get", "lease", "-n", "team-b", "dynamo-operator-namespace-scope", "-o", "jsonpath={.spec.holderIdentity}"]).await);
        assert_eq!(out, "op-b-0");
        let out = run(&kubectl, &sim, &home, &["get", "lease", "-n", "team-c", "dynamo-operator-namespace-scope"]).await;
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("Error from server (NotFound)"));
        let lists = sim.audit().into_iter().filter(|r| r.resource == "leases" && r.verb == "list").count();
        assert!(lists >= 1);
        let _ = std::fs::remove_dir_all(&home);
    })
    .await
}

#[tokio::test]
async fn helm_install_upgrade_uninstall() {
    let Some(helm) = tool("helm", "HELM") else {
        return;
    };
    bounded(async {
        let sim = Simulator::start(Options {
            kubelet: true,
            kubelet_ready_delay: Duration::from_millis(100),
            ..Options::default()
        })
        .await;
        let home = temp_home("helm");
        let chart = fixture("tiny-chart");
        let c = chart.to_str().unwrap();
        let out = ok(&run(
            &helm,
            &sim,
            &home,
            &[
                "install",
                "demo",
                c,
                "-n",
                "apps",
                "--create-namespace",
                "--wait",
                "--timeout",
                "30s",
            ],
        )
        .await);
        assert!(out.contains("STATUS: deployed"), "{out}");
        let client = sim.client();
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "apps");
        assert_eq!(
            cms.get("demo-config").await.unwrap().data.unwrap()["greeting"],
            "hello"
        );
        let deps: Api<Deployment> = Api::namespaced(client.clone(), "apps");
        let d = deps.get("demo-web").await.unwrap();
        assert_eq!(
            d.metadata.labels.unwrap()["app.kubernetes.io/managed-by"],
            "Helm"
        );
        let secrets: Api<Secret> = Api::namespaced(client.clone(), "apps");
        let rel = secrets
            .list(&ListParams::default().labels("owner=helm,name=demo"))
            .await
            .unwrap();
        assert_eq!(rel.items.len(), 1);
        assert_eq!(rel.items[0].type_.as_deref(), Some("helm.sh/release.v1"));

        let out = ok(&run(&helm, &sim, &home, &["list", "-n", "apps"]).await);
        assert!(out.contains("demo") && out.contains("deployed"), "{out}");
        ok(&run(
            &helm,
            &sim,
            &home,
            &["upgrade", "demo", c, "-n", "apps", "--set", "greeting=hi"],
        )
        .await);
        assert_eq!(
            cms.get("demo-config").await.unwrap().data.unwrap()["greeting"],
            "hi"
        );
        assert_eq!(
            secrets
                .list(&ListParams::default().labels("owner=helm,name=demo"))
                .await
                .unwrap()
                .items
                .len(),
            2
        );

        let out = ok(&run(&helm, &sim, &home, &["uninstall", "demo", "-n", "apps"]).await);
        assert!(out.contains("release \"demo\" uninstalled"), "{out}");
        assert!(cms.get_opt("demo-config").await.unwrap().is_none());
        assert!(deps.get_opt("demo-web").await.unwrap().is_none());
        assert!(
            secrets
                .list(&ListParams::default().labels("owner=helm"))
                .await
                .unwrap()
                .items
                .is_empty()
        );
        let _ = std::fs::remove_dir_all(&home);
    })
    .await
}
