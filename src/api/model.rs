//! DynamoModel (`dm`): a model served by the workers of a base model, as upstream's
//! `nvidia.com/v1alpha1` DynamoModel. A LoRA model (`modelType: lora`) is loaded by the
//! operator onto every worker endpoint of its base model (`POST /v1/loras`) and unloaded when
//! the DynamoModel is deleted; a base model's endpoints are only discovered and reported.
//!
//! The endpoints are found through the EndpointSlices of the base model's headless Service
//! `dynamo-model-<hash>` (rendered for every service with a `modelRef`), selected by the label
//! `nvidia.com/dynamo-base-model-hash`. Upstream validates with a webhook; here the same
//! rules are CEL rules of the CRD, checked by `dynamoctl` before anything is sent.
//!
//! Only `v1alpha1` exists, as upstream's (there is no v1beta1 DynamoModel).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The model a DynamoModel describes and where its endpoints are.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "nvidia.com",
    version = "v1alpha1",
    kind = "DynamoModel",
    namespaced,
    status = "DynamoModelStatus",
    shortname = "dm",
    doc = "DynamoModel is a model served by the workers of a base model; a LoRA model is loaded onto every worker endpoint of its base model and unloaded when deleted.",
    printcolumn = r#"{"name":"BaseModel","type":"string","jsonPath":".spec.baseModelName","description":"Base model name"}"#,
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.modelType","description":"Model type"}"#,
    printcolumn = r#"{"name":"Ready","type":"integer","jsonPath":".status.readyEndpoints","description":"Ready endpoints"}"#,
    printcolumn = r#"{"name":"Total","type":"integer","jsonPath":".status.totalEndpoints","description":"Total endpoints"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DynamoModelSpec {
    /// The full model identifier, e.g. `meta-llama/Llama-3.3-70B-Instruct-lora`; the name a
    /// LoRA is loaded under (`lora_name`).
    #[schemars(length(min = 1))]
    pub model_name: String,
    /// The base model whose workers serve this model: the `modelRef.name` of their services.
    /// Immutable.
    #[schemars(length(min = 1))]
    pub base_model_name: String,
    /// `base` (the default), `lora` or `adapter`. Only `lora` models are loaded onto workers.
    /// Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<ModelType>,
    /// Where the model comes from; required for `lora`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ModelSource>,
}

/// The kind of model: `base` (the default), `lora` or `adapter`; only `lora` models are
/// loaded onto workers. Immutable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelType {
    /// A base model: endpoints are discovered, nothing is loaded.
    #[default]
    Base,
    /// A LoRA adapter, loaded onto every worker of the base model.
    Lora,
    /// Another adapter kind: treated as a base model.
    Adapter,
}

/// Where a model comes from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelSource {
    /// The model's URI: `s3://bucket/path`, `hf://org/model@revision` or
    /// `file:///path`.
    pub uri: String,
}

/// One worker endpoint (pod) of the base model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointInfo {
    /// The endpoint's base URL, e.g. `http://10.0.1.5:9090`.
    pub address: String,
    /// The pod behind the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
    /// For a LoRA model: whether loading it on this endpoint succeeded. Always false for
    /// other models (nothing is loaded).
    pub ready: bool,
    /// Upstream's rolling-upgrade fallback for legacy prefill workers; never set by
    /// dynamoctl, kept so objects written by upstream's operator keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lora_fallback_covered: Option<bool>,
}

/// Observed state of a model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DynamoModelStatus {
    /// Every worker endpoint of the base model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<EndpointInfo>>,
    /// Endpoints that are ready (for a LoRA model: it is loaded there).
    #[serde(default)]
    pub ready_endpoints: i64,
    /// Upstream's count of fallback-covered legacy prefill endpoints; never set by dynamoctl.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lora_fallback_covered_endpoints: Option<i64>,
    /// All endpoints.
    #[serde(default)]
    pub total_endpoints: i64,
    /// `ServicesFound` and `EndpointsReady`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}

impl DynamoModel {
    /// Whether the model is a LoRA, loaded onto the workers.
    pub fn is_lora(&self) -> bool {
        self.spec.model_type == Some(ModelType::Lora)
    }
}

/// The plural resource name, as RBAC rules and `kubectl` spell it.
pub const PLURAL: &str = "dynamomodels";
/// The finalizer that unloads a LoRA before its DynamoModel goes: upstream's, so models
/// created under upstream's operator are finalized the same way.
pub const FINALIZER: &str = "nvidia.com/finalizer";
/// Condition: the base model's Service (its EndpointSlices) was found.
pub const CONDITION_SERVICES_FOUND: &str = "ServicesFound";
/// Condition: every endpoint is ready (LoRA: loaded), or endpoints exist (base model).
pub const CONDITION_ENDPOINTS_READY: &str = "EndpointsReady";
/// The port of a worker's system server, where `/v1/loras` is served (upstream's
/// `DynamoSystemPort`), used when an EndpointSlice names no `system` port.
pub const SYSTEM_PORT: i32 = 9090;
/// The name of that port in the model Service and its EndpointSlices.
pub const SYSTEM_PORT_NAME: &str = "system";

/// The URI schemes a LoRA source may use, as upstream's validation accepts them.
const SOURCE_SCHEMES: [&str; 3] = ["s3://", "hf://", "file:///"];

/// First 8 hex digits of the SHA-256 of a base model name (upstream's `HashModelName`): the
/// value of `nvidia.com/dynamo-base-model-hash` on worker pods, the model Service
/// `dynamo-model-<hash>` and its EndpointSlices.
pub fn base_model_hash(base_model_name: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, base_model_name.as_bytes());
    digest.as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The CRD, ready to serialise; `dynamoctl generate` writes it next to the other CRDs.
pub fn crd() -> CustomResourceDefinition {
    let mut crd = DynamoModel::crd();
    // Helm must never delete a CRD (and with it every model) on uninstall.
    crd.metadata.annotations = Some(
        [("helm.sh/resource-policy".to_string(), "keep".to_string())]
            .into_iter()
            .collect(),
    );
    for version in &mut crd.spec.versions {
        let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.take())
        else {
            continue;
        };
        let mut schema = serde_json::to_value(schema).expect("schema serialises");
        add_rules(&mut schema["properties"]["spec"]);
        version
            .schema
            .as_mut()
            .expect("schema present")
            .open_api_v3_schema =
            Some(serde_json::from_value(schema).expect("edited schema is a JSONSchemaProps"));
    }
    crd
}

/// Upstream's webhook rules, as CEL: a LoRA needs a source with a supported scheme, and the
/// base model and the type never change (endpoint discovery hangs on them).
fn add_rules(spec: &mut Value) {
    spec["properties"]["modelType"]["default"] = json!("base");
    let is_lora = "has(self.modelType) && self.modelType == 'lora'";
    let schemes = SOURCE_SCHEMES
        .iter()
        .map(|s| format!("self.source.uri.startsWith('{s}')"))
        .collect::<Vec<_>>()
        .join(" || ");
    spec["x-kubernetes-validations"] = json!([
        {
            "rule": format!("!({is_lora}) || has(self.source)"),
            "message": "spec.source is required when spec.modelType is \"lora\"",
        },
        {
            "rule": format!("!({is_lora}) || !has(self.source) || {schemes}"),
            "message": "spec.source.uri must start with \"s3://\", \"hf://\" or \"file:///\" when spec.modelType is \"lora\"",
        },
        {
            "rule": "self.baseModelName == oldSelf.baseModelName",
            "message": "spec.baseModelName is immutable: create a new DynamoModel instead",
        },
        {
            "rule": "has(self.modelType) == has(oldSelf.modelType) && (!has(self.modelType) || self.modelType == oldSelf.modelType)",
            "message": "spec.modelType is immutable: create a new DynamoModel instead",
        },
    ]);
}

/// Every problem with a DynamoModel document, as (path, message): its schema and CEL rules
/// as the API server enforces them, so `dynamoctl` refuses bad input before anything is
/// sent. Empty for a valid model.
pub fn check(value: &Value) -> Vec<(Vec<String>, String)> {
    static SCHEMA: std::sync::OnceLock<super::schema::ObjectSchema> = std::sync::OnceLock::new();
    let schema = SCHEMA.get_or_init(|| {
        let crd = crd();
        let schema = crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref());
        super::schema::ObjectSchema::new(serde_json::to_value(schema).expect("schema serialises"))
    });
    schema
        .validate(value, None)
        .into_iter()
        .map(|v| (v.path, v.message))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(spec: Value) -> Value {
        json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoModel", "metadata": {"name": "m"}, "spec": spec})
    }

    fn paths(problems: &[(Vec<String>, String)]) -> Vec<String> {
        problems.iter().map(|(p, _)| p.join(".")).collect()
    }

    #[test]
    fn crd_is_structural_with_upstreams_names_columns_and_default() {
        let crd = crd();
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some("dynamomodels.nvidia.com")
        );
        assert_eq!(crd.spec.names.short_names, Some(vec!["dm".to_string()]));
        let v = &crd.spec.versions[0];
        assert_eq!(v.name, "v1alpha1");
        assert!(v.subresources.as_ref().unwrap().status.is_some());
        let columns: Vec<&str> = v
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(columns, ["BaseModel", "Type", "Ready", "Total", "Age"]);
        let schema =
            serde_json::to_value(v.schema.as_ref().unwrap().open_api_v3_schema.as_ref()).unwrap();
        assert!(crate::api::schema::structural_violations(&schema).is_empty());
        let spec = &schema["properties"]["spec"];
        assert_eq!(spec["required"], json!(["baseModelName", "modelName"]));
        assert_eq!(spec["properties"]["modelType"]["default"], "base");
        assert_eq!(
            spec["properties"]["modelType"]["enum"],
            json!(["base", "lora", "adapter"])
        );
        assert_eq!(spec["properties"]["source"]["required"], json!(["uri"]));
    }

    #[test]
    fn valid_models_pass() {
        for spec in [
            json!({"modelName": "m", "baseModelName": "Qwen/Qwen3-0.6B"}),
            json!({"modelName": "m", "baseModelName": "b", "modelType": "lora", "source": {"uri": "hf://org/lora@abc"}}),
            json!({"modelName": "m", "baseModelName": "b", "modelType": "lora", "source": {"uri": "s3://bucket/lora"}}),
            json!({"modelName": "m", "baseModelName": "b", "modelType": "lora", "source": {"uri": "file:///models/lora"}}),
            json!({"modelName": "m", "baseModelName": "b", "modelType": "adapter"}),
        ] {
            assert!(check(&model(spec.clone())).is_empty(), "{spec}");
        }
    }

    #[test]
    fn missing_and_empty_names_are_refused_at_their_field() {
        let bad = check(&model(json!({"modelName": ""})));
        assert_eq!(paths(&bad), ["spec", "spec.modelName"], "{bad:?}");
        assert_eq!(bad[0].1, "required field \"baseModelName\" is missing");
        assert!(bad[1].1.contains("must not be empty"), "{bad:?}");
        let bad = check(&model(json!({"baseModelName": "b", "modelType": "qlora"})));
        assert!(
            bad.iter()
                .any(|(_, m)| m.contains("\"modelName\" is missing")),
            "{bad:?}"
        );
        assert!(
            paths(&bad).contains(&"spec.modelType".to_string()),
            "{bad:?}"
        );
    }

    #[test]
    fn a_lora_needs_a_source_with_a_supported_scheme() {
        let bad = check(&model(
            json!({"modelName": "m", "baseModelName": "b", "modelType": "lora"}),
        ));
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(bad[0].1.contains("spec.source is required"), "{bad:?}");
        let bad = check(&model(
            json!({"modelName": "m", "baseModelName": "b", "modelType": "lora", "source": {"uri": "https://x/y"}}),
        ));
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(bad[0].1.contains("must start with"), "{bad:?}");
        // A base model's source is not looked at, as upstream's webhook.
        assert!(
            check(&model(
                json!({"modelName": "m", "baseModelName": "b", "source": {"uri": "https://x"}})
            ))
            .is_empty()
        );
    }

    #[test]
    fn base_model_and_type_are_immutable() {
        let schema = serde_json::to_value(
            crd().spec.versions[0]
                .schema
                .as_ref()
                .unwrap()
                .open_api_v3_schema
                .as_ref(),
        )
        .unwrap();
        let schema = crate::api::schema::ObjectSchema::new(schema);
        let old = model(json!({"modelName": "m", "baseModelName": "b", "modelType": "base"}));
        let moved = model(
            json!({"modelName": "m", "baseModelName": "c", "modelType": "lora", "source": {"uri": "hf://x"}}),
        );
        let bad = schema.validate(&moved, Some(&old));
        let messages: Vec<&str> = bad.iter().map(|v| v.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("baseModelName is immutable")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("modelType is immutable")),
            "{messages:?}"
        );
        let renamed = model(json!({"modelName": "m2", "baseModelName": "b", "modelType": "base"}));
        assert!(schema.validate(&renamed, Some(&old)).is_empty());
    }

    #[test]
    fn the_hash_is_upstreams() {
        // `printf Qwen/Qwen3-0.6B | sha256sum | cut -c1-8`
        assert_eq!(base_model_hash("Qwen/Qwen3-0.6B"), "fb68f5a6");
    }

    #[test]
    fn only_lora_models_are_loaded() {
        let m = |t: Option<ModelType>| {
            DynamoModel::new(
                "m",
                DynamoModelSpec {
                    model_type: t,
                    ..Default::default()
                },
            )
        };
        assert!(m(Some(ModelType::Lora)).is_lora());
        assert!(!m(Some(ModelType::Base)).is_lora());
        assert!(!m(Some(ModelType::Adapter)).is_lora());
        assert!(!m(None).is_lora());
    }
}
