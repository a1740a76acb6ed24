//! The operator configuration reaches render, diff, apply and the operator the same way:
//! `--operator-config FILE`, the installed operator's ConfigMap, `run controller --config`.

mod common;

use common::cluster::{TestCluster, with_crds};
use common::sim::{run, temp_file, text};
use common::{dynamoctl, repo};
use serde_json::{Value, json};

const CONFIG: &str = "apiVersion: operator.config.dynamo.nvidia.com/v1alpha1
kind: OperatorConfiguration
infrastructure:
  etcdAddress: http://etcd.dynamo-system:2379
  natsAddress: nats://nats.dynamo-system:4222
  modelExpressURL: http://model-express:8001
  prometheusEndpoint: http://prometheus.monitoring:9090
ingress:
  controllerClassName: nginx
  controllerTLSSecretName: dynamo-tls
  hostSuffix: inference.example.com
discovery:
  backend: etcd
";

fn objects(yaml: &[u8]) -> Vec<Value> {
    dynamoctl::yaml::parse_documents(&text(yaml))
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .collect()
}

fn find<'a>(objs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// `name=value` of the main container's plain env.
fn env(deployment: &Value) -> Vec<(String, Value)> {
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    let main = containers.iter().find(|c| c["name"] == "main").unwrap();
    main["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_string(), e["value"].clone()))
        .collect()
}

fn env_value(deployment: &Value, name: &str) -> Option<Value> {
    env(deployment)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

#[test]
fn render_with_a_configuration_wires_the_runtime_and_the_default_ingress() {
    let config = temp_file("render-config", CONFIG);
    let out = dynamoctl(
        &repo(),
        &[
            "render",
            "examples/mocker-agg.yaml",
            "--operator-config",
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let objs = objects(&out.stdout);
    for name in ["mocker-agg-frontend", "mocker-agg-worker"] {
        let d = find(&objs, "Deployment", name);
        assert_eq!(
            env_value(d, "ETCD_ENDPOINTS"),
            Some(json!("http://etcd.dynamo-system:2379"))
        );
        assert_eq!(
            env_value(d, "NATS_SERVER"),
            Some(json!("nats://nats.dynamo-system:4222"))
        );
        assert_eq!(
            env_value(d, "MODEL_EXPRESS_URL"),
            Some(json!("http://model-express:8001"))
        );
        assert_eq!(
            env_value(d, "PROMETHEUS_ENDPOINT"),
            Some(json!("http://prometheus.monitoring:9090"))
        );
        // etcd discovery: the runtime's default, so no DYN_DISCOVERY_BACKEND=kubernetes.
        assert_eq!(env_value(d, "DYN_DISCOVERY_BACKEND"), None, "{name}");
        assert!(
            d["spec"]["template"]["spec"]
                .get("serviceAccountName")
                .is_none()
        );
    }
    assert!(
        !objs.iter().any(|o| o["kind"] == "ServiceAccount"),
        "no Kubernetes-discovery RBAC with etcd discovery"
    );
    let ingress = find(&objs, "Ingress", "mocker-agg-frontend");
    assert_eq!(ingress["spec"]["ingressClassName"], "nginx");
    assert_eq!(
        ingress["spec"]["rules"][0]["host"],
        "mocker-agg.inference.example.com"
    );
    assert_eq!(
        ingress["spec"]["tls"],
        json!([{ "hosts": ["mocker-agg.inference.example.com"], "secretName": "dynamo-tls" }])
    );

    // Without a configuration: none of it.
    let out = dynamoctl(&repo(), &["render", "examples/mocker-agg.yaml"]);
    let objs = objects(&out.stdout);
    let worker = find(&objs, "Deployment", "mocker-agg-worker");
    assert_eq!(env_value(worker, "ETCD_ENDPOINTS"), None);
    assert_eq!(
        env_value(worker, "DYN_DISCOVERY_BACKEND"),
        Some(json!("kubernetes"))
    );
    assert!(!objs.iter().any(|o| o["kind"] == "Ingress"));
}

#[test]
fn a_bad_configuration_exits_2_naming_file_key_and_problem() {
    let config = temp_file(
        "bad-config",
        "apiVersion: operator.config.dynamo.nvidia.com/v1alpha1\nkind: OperatorConfiguration\ninfrastructure:\n  natsAddress: nats-server:4222\n  etcdAdress: http://etcd:2379\n",
    );
    let path = config.to_str().unwrap();
    for command in ["render", "diff", "apply"] {
        let out = dynamoctl(
            &repo(),
            &[
                command,
                "examples/mocker-agg.yaml",
                "--operator-config",
                path,
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{command}");
        assert!(out.stdout.is_empty(), "{command}: nothing on stdout");
        assert_eq!(
            text(&out.stderr),
            format!(
                "error: {path}:4:3: OperatorConfiguration: infrastructure.natsAddress: \"nats-server:4222\" is not a NATS URL: use nats://host:port (or tls://host:port), comma-separated for several\n\
                 error: {path}:5:3: OperatorConfiguration: infrastructure.etcdAdress: unknown field; did you mean \"etcdAddress\"?\n"
            ),
            "{command}"
        );
    }
    let out = dynamoctl(
        &repo(),
        &[
            "render",
            "examples/mocker-agg.yaml",
            "--operator-config",
            "/nonexistent/config.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with(
            "error: cannot read the operator configuration /nonexistent/config.yaml: "
        ),
        "{}",
        text(&out.stderr)
    );
}

/// Records a live cluster-wide operator in `dynamo-system` with `config` in its ConfigMap, as
/// `dynamoctl install` leaves it.
async fn installed_operator(sim: &TestCluster, config: &str) {
    let now = k8s_openapi::jiff::Timestamp::now();
    let manifests = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dynamo-system\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dynamo-operator-config\n  namespace: dynamo-system\ndata:\n  config.yaml: {}\n---\n\
         apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: dynamo.nvidia.com\n  namespace: dynamo-system\n\
         spec:\n  holderIdentity: dynamo-operator-0\n  leaseDurationSeconds: 3600\n  renewTime: \"{}\"\n",
        serde_json::to_string(config).unwrap(),
        now.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"),
    );
    let file = temp_file("installed-operator", &manifests);
    let out = run(sim, &["apply", file.to_str().unwrap()], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

fn deployment(sim: &TestCluster, name: &str) -> Value {
    sim.object("apps", "deployments", "default", name)
        .unwrap_or_else(|| panic!("no Deployment {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_and_apply_render_with_the_installed_operators_configuration() {
    let Some(sim) = with_crds(true).await else {
        return;
    };
    installed_operator(&sim, CONFIG).await;
    let out = run(
        &sim,
        &[
            "apply",
            "examples/mocker-agg.yaml",
            "--reconcile",
            "--wait",
            "--timeout",
            "60s",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let worker = deployment(&sim, "mocker-agg-worker");
    assert_eq!(
        env_value(&worker, "ETCD_ENDPOINTS"),
        Some(json!("http://etcd.dynamo-system:2379"))
    );
    assert!(
        sim.object(
            "networking.k8s.io",
            "ingresses",
            "default",
            "mocker-agg-frontend"
        )
        .is_some()
    );

    // The preview agrees with what the operator's configuration made: nothing to change.
    sim.clear_audit();
    let out = run(&sim, &["diff", "examples/mocker-agg.yaml"], &[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(sim.audit_writes().is_empty(), "diff must not write");

    // Another configuration on the command line: the workloads would change.
    let other = temp_file(
        "other-config",
        "infrastructure:\n  etcdAddress: http://etcd-2.dynamo-system:2379\n",
    );
    let out = run(
        &sim,
        &[
            "diff",
            "examples/mocker-agg.yaml",
            "--operator-config",
            other.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    assert!(
        plan.contains("+          value: http://etcd-2.dynamo-system:2379"),
        "{plan}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_installed_configuration_is_bad_input_and_nothing_is_written() {
    let Some(sim) = with_crds(true).await else {
        return;
    };
    installed_operator(&sim, "infrastructure:\n  natsAddress: localhost:4222\n").await;
    sim.clear_audit();
    let out = run(
        &sim,
        &["apply", "examples/mocker-agg.yaml", "--reconcile"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "error: ConfigMap dynamo-system/dynamo-operator-config:2:3: OperatorConfiguration: infrastructure.natsAddress: \"localhost:4222\" is not a NATS URL: use nats://host:port (or tls://host:port), comma-separated for several\n"
    );
    assert!(sim.audit_writes().is_empty(), "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_installed_configuration_warns_and_renders_the_defaults() {
    let Some(sim) = with_crds(true).await else {
        return;
    };
    installed_operator(&sim, CONFIG).await;
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(sim.client(), "dynamo-system");
    api.delete("dynamo-operator-config", &Default::default())
        .await
        .unwrap();
    let out = run(
        &sim,
        &["apply", "examples/mocker-agg.yaml", "--reconcile"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(
            "warning: the configuration of the operator managing namespace default (ConfigMap dynamo-system/dynamo-operator-config) cannot be read: it does not exist; rendering with the defaults"
        ),
        "{}",
        text(&out.stderr)
    );
    let worker = deployment(&sim, "mocker-agg-worker");
    assert_eq!(env_value(&worker, "ETCD_ENDPOINTS"), None);
}
