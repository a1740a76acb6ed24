//! Upstream's v1beta1 graphs: every one renders to its reviewed golden, or is refused by name
//! for a documented unsupported feature (multinode, or a field listed in
//! docs/compatibility.md); and every v1alpha1 upstream example, converted to v1beta1, renders
//! to the same Deployments and Services as the original.

mod common;

use common::{assert_golden, dynamoctl, repo};
use dynamoctl::api::convert::{self, V1BETA1};
use dynamoctl::manifest;
use dynamoctl::render::{RenderOptions, render_all};
use serde_json::Value;

const FIXTURES: &str = "tests/fixtures/upstream-v1beta1";
/// Not a graph: upstream's v1beta1 DGD CRD, kept to check our schema against it.
const UPSTREAM_CRD: &str =
    "deploy__operator__config__crd__bases__nvidia.com_dynamographdeployments.yaml";

fn fixtures(dir: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(repo().join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".yaml") && f != UPSTREAM_CRD)
        .collect();
    files.sort();
    files
}

#[test]
fn upstream_v1beta1_graphs_render_to_their_goldens_or_are_refused_by_name() {
    let dir = repo().join(FIXTURES);
    let files = fixtures(FIXTURES);
    assert!(files.len() >= 100, "the v1beta1 fixtures are missing");
    let (mut rendered, mut refused) = (0, 0);
    for file in files {
        let out = dynamoctl(&dir, &["render", &file]);
        let stem = file.trim_end_matches(".yaml");
        if out.status.code() == Some(2) {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let multinode = stderr.contains("no multinode orchestrator is available");
            assert!(
                multinode || stderr.contains("which dynamoctl does not support yet"),
                "{file} is refused for an undocumented reason: {stderr}"
            );
            if multinode {
                multinode_renders(&dir, &file, stem);
            }
            assert!(out.stdout.is_empty());
            assert_golden(
                std::path::Path::new(&format!("tests/golden/upstream-v1beta1/{stem}.stderr")),
                &out.stderr,
            );
            refused += 1;
        } else {
            assert_eq!(
                out.status.code(),
                Some(0),
                "{file}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                !String::from_utf8_lossy(&out.stdout).contains(": null"),
                "{file}"
            );
            assert_golden(
                std::path::Path::new(&format!("tests/golden/upstream-v1beta1/{stem}.yaml")),
                &out.stdout,
            );
            rendered += 1;
        }
    }
    // Today: 82 render; 21 are refused (13 multinode; 8 for epp, GMS, failover, checkpoint).
    assert!(rendered >= 82, "only {rendered} graphs render");
    assert_eq!(rendered + refused, 103);
}

/// A multinode graph renders under Grove and under LeaderWorkerSet, given an operator
/// configuration that enables them, or is refused by name for a feature not supported yet.
fn multinode_renders(dir: &std::path::Path, file: &str, stem: &str) {
    for orchestrator in ["grove", "lws"] {
        let config = repo().join(format!(
            "tests/fixtures/operator-config/{orchestrator}.yaml"
        ));
        let out = dynamoctl(
            dir,
            &[
                "render",
                file,
                "--operator-config",
                config.to_str().unwrap(),
            ],
        );
        let golden = format!("tests/golden/upstream-v1beta1/{orchestrator}/{stem}");
        if out.status.code() == Some(2) {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("which dynamoctl does not support yet"),
                "{file} under {orchestrator}: {stderr}"
            );
            assert_golden(
                std::path::Path::new(&format!("{golden}.stderr")),
                &out.stderr,
            );
        } else {
            assert_eq!(
                out.status.code(),
                Some(0),
                "{file} under {orchestrator}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_golden(std::path::Path::new(&format!("{golden}.yaml")), &out.stdout);
        }
    }
}

#[test]
fn shared_examples_are_the_vendored_fixtures() {
    let shared = repo().join("../shared/examples/upstream-v1beta1");
    let Ok(entries) = std::fs::read_dir(&shared) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let ours = repo().join(FIXTURES).join(path.file_name().unwrap());
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&ours).unwrap_or_default(),
            "{}",
            path.display()
        );
    }
}

/// Deployments and Services of a rendered manifest, by kind and name.
fn workloads(file: &str, text: &str) -> Result<Vec<Value>, String> {
    let parsed = manifest::parse(file, text, "default").map_err(|p| format!("{p:?}"))?;
    let objects: Vec<_> = parsed.manifests.into_iter().map(|m| m.object).collect();
    let out = render_all(&objects, &RenderOptions::default()).map_err(|(_, e)| e.to_string())?;
    Ok(out
        .into_iter()
        .filter(|o| matches!(o["kind"].as_str(), Some("Deployment" | "Service")))
        .collect())
}

/// v1alpha1 examples whose workloads need the private payload to render the same after
/// conversion, and why.
const PAYLOAD_NEEDED: &[(&str, &str)] = &[
    (
        "deploy__discovery__dgd.yaml",
        "componentType prefill/decode is worker + subComponentType in v1beta1",
    ),
    (
        "recipes__gpt-oss-120b__trtllm__agg__deploy.yaml",
        "componentType main is outside the v1beta1 type enum",
    ),
    (
        "recipes__llama-3-70b__vllm__disagg-single-node__deploy.yaml",
        "requests.gpu, which v1alpha1 render drops, is a GPU request in v1beta1",
    ),
    (
        "recipes__qwen3-32b__vllm__disagg-kv-router__deploy.yaml",
        "requests.gpu, which v1alpha1 render drops, is a GPU request in v1beta1",
    ),
];

fn to_v1beta1(text: &str, keep_payload: bool) -> String {
    let mut out = String::new();
    for doc in dynamoctl::yaml::parse_documents(text).unwrap() {
        let mut v = convert::convert_value(&doc.value, V1BETA1).unwrap();
        if !keep_payload
            && let Some(a) = v
                .pointer_mut("/metadata/annotations")
                .and_then(Value::as_object_mut)
        {
            a.retain(|k, _| !convert::preserve::is_private(k));
        }
        out.push_str("---\n");
        out.push_str(&dynamoctl::yaml::to_string(&v).unwrap());
    }
    out
}

#[test]
fn v1alpha1_examples_converted_to_v1beta1_render_the_same_workloads() {
    let mut compared = 0;
    for file in fixtures("tests/fixtures/upstream") {
        let text =
            std::fs::read_to_string(repo().join("tests/fixtures/upstream").join(&file)).unwrap();
        let Ok(original) = workloads(&file, &text) else {
            continue; // refused (multinode) in both versions, checked by the goldens
        };
        // With the private payload (what `dynamoctl convert` writes): exactly the same.
        let converted = workloads(&file, &to_v1beta1(&text, true)).unwrap();
        assert_eq!(converted, original, "{file}");
        // Without it (the v1beta1 fields alone) the pods are the same too, because the
        // conversion composes the pod template the way render composes the pod, except where
        // the v1alpha1 graph uses what v1beta1 cannot say (that is what the payload is for).
        let bare = workloads(&file, &to_v1beta1(&text, false)).unwrap();
        match PAYLOAD_NEEDED.iter().find(|(f, _)| *f == file) {
            Some((_, why)) => {
                assert_ne!(bare, original, "{file} no longer needs its payload ({why})")
            }
            None => assert_eq!(bare, original, "{file} (payload removed)"),
        }
        compared += 1;
    }
    assert!(compared >= 15, "only {compared} examples compared");
}

/// Our v1beta1 graph schema has exactly upstream's fields (spec, components, podTemplate
/// aside), read from upstream's own CRD at 2a6da14.
#[test]
fn v1beta1_fields_are_upstreams() {
    let text = std::fs::read_to_string(repo().join(FIXTURES).join(UPSTREAM_CRD)).unwrap();
    let crd = dynamoctl::yaml::parse_documents(&text)
        .unwrap()
        .remove(0)
        .value;
    let version = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "v1beta1")
        .unwrap();
    let theirs = &version["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let ours: Value = serde_json::from_str(include_str!("../src/api/crd_schemas.json")).unwrap();
    let ours = &ours["nvidia.com/v1beta1/DynamoGraphDeployment"]["properties"]["spec"];
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(ours), keys(theirs), "spec");
    let item = |v: &Value| v["properties"]["components"]["items"].clone();
    assert_eq!(keys(&item(ours)), keys(&item(theirs)), "spec.components[]");
    assert_eq!(
        ours["properties"]["components"]["maxItems"],
        theirs["properties"]["components"]["maxItems"]
    );
    assert_eq!(
        item(ours)["properties"]["type"]["enum"],
        item(theirs)["properties"]["type"]["enum"]
    );
}

/// A v1beta1 DynamoComponentDeployment renders like its v1alpha1 form.
#[test]
fn v1beta1_component_deployments_render() {
    let beta = "apiVersion: nvidia.com/v1beta1\nkind: DynamoComponentDeployment\nmetadata: {name: g-worker}\n\
        spec:\n  backendFramework: vllm\n  name: worker\n  type: worker\n  replicas: 2\n  podTemplate:\n    spec:\n      containers:\n\
        \x20     - name: main\n        image: img:1\n        command: [python3, -m, dynamo.vllm]\n        resources: {limits: {nvidia.com/gpu: \"1\"}}\n";
    let alpha = "apiVersion: nvidia.com/v1alpha1\nkind: DynamoComponentDeployment\nmetadata: {name: g-worker}\n\
        spec:\n  backendFramework: vllm\n  serviceName: worker\n  componentType: worker\n  replicas: 2\n  resources: {limits: {gpu: \"1\"}}\n\
        \x20 extraPodSpec:\n    mainContainer:\n      image: img:1\n      command: [python3, -m, dynamo.vllm]\n";
    let rendered = workloads("beta.yaml", beta).unwrap();
    assert_eq!(rendered, workloads("alpha.yaml", alpha).unwrap());
    let deployment = &rendered[0];
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"],
        "1"
    );
}
