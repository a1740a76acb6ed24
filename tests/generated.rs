//! The committed generated files (CRDs, completions, man pages, API reference) match the code,
//! and the CRDs are structural schemas the API server accepts.

mod common;

use common::{assert_golden, repo};
use serde_json::Value;

#[test]
fn generated_files_are_up_to_date() {
    for (path, content) in dynamoctl::cli::generate::files() {
        assert_golden(&path, &content);
    }
}

/// The committed CRDs of the types (graph and component); the DynamoWorkerMetadata CRD has
/// a free-form spec and the scaling adapters' and DynamoModels' embed no pod, so each is
/// checked on its own.
fn committed_crds() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(repo().join("crds")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let docs = dynamoctl::yaml::parse_documents(&text).unwrap();
        assert_eq!(docs.len(), 1, "{}", path.display());
        let kind = &docs[0].value["spec"]["names"]["kind"];
        if kind == "DynamoWorkerMetadata"
            || kind == "DynamoGraphDeploymentScalingAdapter"
            || kind == "DynamoModel"
        {
            continue;
        }
        out.push((path.display().to_string(), docs[0].value.clone()));
    }
    assert_eq!(out.len(), 2);
    out
}

#[test]
fn scaling_adapter_crd_is_structural_with_upstreams_names_and_scale() {
    let text = common::sim::read("crds/nvidia.com_dynamographdeploymentscalingadapters.yaml");
    let crd = &dynamoctl::yaml::parse_documents(&text).unwrap()[0].value;
    assert_eq!(
        crd["metadata"]["name"],
        "dynamographdeploymentscalingadapters.nvidia.com"
    );
    assert_eq!(
        crd["metadata"]["annotations"]["helm.sh/resource-policy"],
        "keep"
    );
    assert_eq!(
        crd["spec"]["names"]["shortNames"],
        serde_json::json!(["dgdsa"])
    );
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert!(version["subresources"]["status"].is_object());
    assert_eq!(
        version["subresources"]["scale"]["labelSelectorPath"],
        ".status.selector"
    );
    let schema = &version["schema"]["openAPIV3Schema"];
    assert!(dynamoctl::api::schema::structural_violations(schema).is_empty());
}

#[test]
fn dynamo_model_crd_is_structural_with_upstreams_names() {
    let text = common::sim::read("crds/nvidia.com_dynamomodels.yaml");
    let crd = &dynamoctl::yaml::parse_documents(&text).unwrap()[0].value;
    assert_eq!(crd["metadata"]["name"], "dynamomodels.nvidia.com");
    assert_eq!(
        crd["metadata"]["annotations"]["helm.sh/resource-policy"],
        "keep"
    );
    assert_eq!(
        crd["spec"]["names"]["shortNames"],
        serde_json::json!(["dm"])
    );
    let versions = crd["spec"]["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1, "upstream serves v1alpha1 only");
    assert_eq!(versions[0]["name"], "v1alpha1");
    assert!(versions[0]["subresources"]["status"].is_object());
    let schema = &versions[0]["schema"]["openAPIV3Schema"];
    assert!(dynamoctl::api::schema::structural_violations(schema).is_empty());
    assert_eq!(
        schema["properties"]["spec"]["required"],
        serde_json::json!(["baseModelName", "modelName"])
    );
}

#[test]
fn worker_metadata_crd_is_upstreams() {
    let text = common::sim::read("crds/nvidia.com_dynamoworkermetadatas.yaml");
    let crd = &dynamoctl::yaml::parse_documents(&text).unwrap()[0].value;
    assert_eq!(crd["metadata"]["name"], "dynamoworkermetadatas.nvidia.com");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    assert_eq!(
        crd["spec"]["names"]["shortNames"],
        serde_json::json!(["dwm"])
    );
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    let schema = &version["schema"]["openAPIV3Schema"];
    assert!(dynamoctl::api::schema::structural_violations(schema).is_empty());
    assert_eq!(
        schema["properties"]["spec"]["properties"]["data"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
}

#[test]
fn crds_are_structural_and_small() {
    for (path, crd) in committed_crds() {
        // Client-side `kubectl apply` stores the object as compact JSON in an annotation, and
        // an object's annotations may hold at most 256 KiB: that, not the YAML file's size
        // (indentation makes it ~3x larger), is the limit (`real_conversion` applies them so).
        let size = serde_json::to_string(&crd).unwrap().len();
        assert!(
            size < 256 * 1024,
            "{path} is {size} bytes as JSON; keep each CRD under 256 KiB"
        );
        for version in crd["spec"]["versions"].as_array().unwrap() {
            let schema = &version["schema"]["openAPIV3Schema"];
            let violations = dynamoctl::api::schema::structural_violations(schema);
            assert!(
                violations.is_empty(),
                "{path} is not structural:\n{}",
                violations.join("\n")
            );
            // extraPodSpec keeps full validation of the pod spec, not a free-form object.
            let text = serde_json::to_string(schema).unwrap();
            assert!(!text.contains("\"$ref\""), "{path} has $ref");
            assert!(
                text.contains("\"topologySpreadConstraints\""),
                "{path} lost the PodSpec schema"
            );
        }
        assert_eq!(
            crd["metadata"]["annotations"]["helm.sh/resource-policy"],
            "keep"
        );
    }
}

#[test]
fn crd_descriptions_are_kept_for_our_fields_only() {
    for (path, crd) in committed_crds() {
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let service = schema
            .pointer("/properties/spec/properties/services/additionalProperties")
            .unwrap_or_else(|| &schema["properties"]["spec"]);
        assert!(
            service
                .pointer("/properties/replicas/description")
                .is_some(),
            "{path}"
        );
        let pod = &service["properties"]["extraPodSpec"];
        assert!(
            pod.get("description").is_some(),
            "{path}: extraPodSpec keeps its own description"
        );
        assert!(
            pod.pointer("/properties/affinity/description").is_none(),
            "{path}: descriptions inside core types are dropped"
        );
    }
}
