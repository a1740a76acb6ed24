//! DynamoModels on a real API server, handled by the operator a namespace-scoped install put
//! there, running with its own ServiceAccount: the installed RBAC (dynamomodels, their status,
//! EndpointSlices) is what lets it work. No worker is called (see tests/model.rs for the LoRA
//! HTTP calls, on the simulator): a base model's endpoints are only reported, and the LoRA's
//! base model has no EndpointSlice.

mod common;

use std::time::Duration;

use common::real::{cluster_with_crds, get_json, ok, run_installed_operator, wait_for};
use common::sim::temp_file;
use serde_json::Value;

fn condition(model: &Value, type_: &str) -> Option<Value> {
    model["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .cloned()
}

#[test]
fn the_installed_operator_handles_models_with_its_own_rbac() {
    let Some(c) = cluster_with_crds() else { return };
    let ns = c.namespace("real-model");
    ok(&c.dynamoctl(&[
        "install",
        "--namespace-scoped",
        "-n",
        &ns,
        "--wait",
        "--timeout",
        "180s",
    ]));
    let Some(_operator) = run_installed_operator(c, &ns) else {
        return;
    };

    // sha256("Qwen/Qwen3-0.6B")[..8] = fb68f5a6. A documentation address: never called,
    // since only LoRAs are loaded.
    let objects = format!(
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: model-slice\n  namespace: {ns}\n  labels:\n    nvidia.com/dynamo-base-model-hash: fb68f5a6\n    kubernetes.io/service-name: dynamo-model-fb68f5a6\n    endpointslice.kubernetes.io/managed-by: dynamoctl-test\naddressType: IPv4\nports:\n- name: system\n  port: 9090\n  protocol: TCP\nendpoints:\n- addresses: [192.0.2.10]\n  conditions: {{ready: true}}\n  targetRef: {{kind: Pod, name: worker-0, namespace: {ns}, uid: uid-worker-0}}\n---\napiVersion: nvidia.com/v1alpha1\nkind: DynamoModel\nmetadata:\n  name: base\n  namespace: {ns}\nspec:\n  modelName: Qwen/Qwen3-0.6B\n  baseModelName: Qwen/Qwen3-0.6B\n---\napiVersion: nvidia.com/v1alpha1\nkind: DynamoModel\nmetadata:\n  name: lora\n  namespace: {ns}\nspec:\n  modelName: org/lora\n  baseModelName: org/no-workers-yet\n  modelType: lora\n  source:\n    uri: hf://org/lora\n"
    );
    let file = temp_file(&format!("{ns}-models.yaml"), &objects);
    ok(&c.dynamoctl(&["apply", file.to_str().unwrap()]));

    let model = |name: &str| get_json(c, &["get", "dynamomodel", "-n", &ns, name]);
    let mut base = Value::Null;
    wait_for(
        Duration::from_secs(60),
        "the base model's endpoints",
        || {
            base = model("base").unwrap_or(Value::Null);
            condition(&base, "EndpointsReady").is_some_and(|c| c["reason"] == "EndpointsDiscovered")
        },
    );
    assert_eq!(base["status"]["totalEndpoints"], 1);
    assert_eq!(
        base["status"]["endpoints"][0]["address"],
        "http://192.0.2.10:9090"
    );
    assert_eq!(base["metadata"]["finalizers"][0], "nvidia.com/finalizer");
    wait_for(Duration::from_secs(60), "the LoRA without workers", || {
        model("lora").is_some_and(|m| {
            condition(&m, "ServicesFound").is_some_and(|c| c["reason"] == "NoServicesFound")
                && m["metadata"]["finalizers"][0] == "nvidia.com/finalizer"
        })
    });

    // Deletion completes: the operator may remove its finalizer.
    ok(&c
        .kubectl(&[
            "delete",
            "dynamomodel",
            "-n",
            &ns,
            "base",
            "lora",
            "--wait=false",
        ])
        .expect("kubectl is installed"));
    let exists = |name: &str| {
        c.kubectl(&["get", "dynamomodel", "-n", &ns, name])
            .is_some_and(|o| o.status.success())
    };
    wait_for(Duration::from_secs(60), "both models gone", || {
        !exists("base") && !exists("lora")
    });
}
