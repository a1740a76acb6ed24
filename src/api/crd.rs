//! The CRDs generated from the types, with what the derive cannot express: CEL validations,
//! descriptions dropped inside embedded core types (the upstream DGD CRD is ~855 KB), and the
//! relaxed `containers` of `extraPodSpec`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use schemars::{Schema, SchemaGenerator, json_schema};
use serde_json::{Value, json};

use super::{DynamoComponentDeployment, DynamoGraphDeployment};

/// Schema of a free-form object kept as written (`x-kubernetes-preserve-unknown-fields`).
pub fn free_form_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true, "nullable": true })
}

/// Schema of a list of free-form objects.
pub fn free_form_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "nullable": true,
        "items": { "type": "object", "x-kubernetes-preserve-unknown-fields": true }
    })
}

/// Namespace of the conversion webhook's Service as the committed CRDs name it: the default
/// installation's. The operator rewrites `clientConfig` to its own Service (or URL) and
/// injects the CA bundle on startup (`cluster::conversion`).
pub const WEBHOOK_SERVICE_NAMESPACE: &str = "dynamo-system";
/// Name of the conversion webhook's Service (`dynamoctl install` and the chart create it).
pub const WEBHOOK_SERVICE_NAME: &str = "dynamo-operator-webhook";
/// Default name of the Secret holding the webhook's CA and serving certificate.
pub const WEBHOOK_SECRET_NAME: &str = "dynamo-operator-webhook-cert";
/// Path of the conversion endpoint.
pub const WEBHOOK_PATH: &str = "/convert";

/// Both CRDs, ready to serialise: each serves `v1alpha1` (listed first: what `versions[0]`
/// means to [`schemas_json`] and the API reference) and `v1beta1`, the storage version;
/// the API server converts between them through the operator's conversion webhook.
pub fn all() -> Vec<CustomResourceDefinition> {
    [graph_crd(), component_crd()]
        .into_iter()
        .zip(v1beta1_crds())
        .map(|(alpha, beta)| two_versions(alpha, beta))
        .collect()
}

/// The `nvidia.com/v1beta1` CRDs alone (one version each): their schemas validate v1beta1
/// input client-side, and [`all`] takes their version entry.
pub fn v1beta1_crds() -> Vec<CustomResourceDefinition> {
    vec![graph_crd_v1beta1(), component_crd_v1beta1()]
}

fn two_versions(
    mut alpha: CustomResourceDefinition,
    beta: CustomResourceDefinition,
) -> CustomResourceDefinition {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
        CustomResourceConversion, ServiceReference, WebhookClientConfig, WebhookConversion,
    };
    let mut stored = beta.spec.versions[0].clone();
    stored.storage = true;
    alpha.spec.versions[0].storage = false;
    alpha.spec.versions.push(stored);
    alpha.spec.conversion = Some(CustomResourceConversion {
        strategy: "Webhook".into(),
        webhook: Some(WebhookConversion {
            conversion_review_versions: vec!["v1".into()],
            client_config: Some(WebhookClientConfig {
                service: Some(ServiceReference {
                    namespace: WEBHOOK_SERVICE_NAMESPACE.into(),
                    name: WEBHOOK_SERVICE_NAME.into(),
                    path: Some(WEBHOOK_PATH.into()),
                    port: Some(443),
                }),
                ..Default::default()
            }),
        }),
    });
    alpha
}

/// The openAPIV3Schema of every kind, as compact JSON without descriptions: what
/// `src/api/crd_schemas.json` holds for validation at run time. v1alpha1 schemas are keyed by
/// kind, v1beta1 schemas by `nvidia.com/v1beta1/<kind>`.
pub fn schemas_json() -> String {
    let entry = |crd: CustomResourceDefinition, key: String| {
        let schema = crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref());
        let mut schema = serde_json::to_value(schema).expect("schema serialises");
        // Validation needs no descriptions; without them the JSON parses twice as fast.
        strip_descriptions_below(&mut schema);
        schema.as_object_mut().map(|m| m.remove("description"));
        (key, schema)
    };
    let mut map: serde_json::Map<String, Value> = all()
        .into_iter()
        .map(|crd| {
            let key = crd.spec.names.kind.clone();
            entry(crd, key)
        })
        .collect();
    for crd in v1beta1_crds() {
        let key = format!("nvidia.com/v1beta1/{}", crd.spec.names.kind);
        let (k, v) = entry(crd, key);
        map.insert(k, v);
    }
    serde_json::to_string(&map).expect("schemas serialise") + "\n"
}

fn graph_crd_v1beta1() -> CustomResourceDefinition {
    let mut crd = crate::api::v1beta1::DynamoGraphDeployment::crd();
    edit_schema(&mut crd, |schema| {
        let spec = &mut schema["properties"]["spec"];
        add_rule(
            spec,
            "has(self.components) && size(self.components) > 0",
            "spec.components must contain at least one component",
        );
        add_rule(
            spec,
            "has(self.backendFramework) == has(oldSelf.backendFramework) && (!has(self.backendFramework) || self.backendFramework == oldSelf.backendFramework)",
            "spec.backendFramework is immutable",
        );
        let components = &mut spec["properties"]["components"];
        add_rule(
            components,
            "self.filter(c, has(c.type) && c.type == 'epp').size() <= 1",
            "at most one component may have type epp",
        );
        add_rule(
            components,
            "self.all(c1, self.filter(c2, c2.name.lowerAscii() == c1.name.lowerAscii()).size() == 1)",
            "component names must be unique case-insensitively",
        );
        // A list-map key must be required, and has no default (the derive's `""` would
        // violate its own minLength, which the API server refuses).
        components["items"]["required"] = json!(["name"]);
        drop_default(&mut components["items"]["properties"]["name"]);
        add_v1beta1_component_rules(&mut components["items"]);
        strip_embedded_descriptions(spec);
    });
    crd
}

fn component_crd_v1beta1() -> CustomResourceDefinition {
    let mut crd = crate::api::v1beta1::DynamoComponentDeployment::crd();
    edit_schema(&mut crd, |schema| {
        let spec = &mut schema["properties"]["spec"];
        add_rule(
            spec,
            "has(self.backendFramework) == has(oldSelf.backendFramework) && (!has(self.backendFramework) || self.backendFramework == oldSelf.backendFramework)",
            "spec.backendFramework is immutable",
        );
        add_v1beta1_component_rules(spec);
        drop_default(&mut spec["properties"]["name"]);
        strip_embedded_descriptions(spec);
    });
    crd
}

fn drop_default(node: &mut Value) {
    if let Some(map) = node.as_object_mut() {
        map.remove("default");
    }
}

fn add_v1beta1_component_rules(component: &mut Value) {
    add_rule(
        component,
        "!has(self.eppConfig) || (has(self.type) && self.type == 'epp')",
        "eppConfig may only be set when type is epp",
    );
    // The pod template's metadata: only labels and annotations mean anything to the
    // operator; the full ObjectMeta schema would add ~10 KB per version for nothing.
    component["properties"]["podTemplate"]["properties"]["metadata"] = json!({
        "type": "object",
        "nullable": true,
        "properties": {
            "annotations": { "type": "object", "additionalProperties": { "type": "string" } },
            "labels": { "type": "object", "additionalProperties": { "type": "string" } }
        }
    });
}

fn graph_crd() -> CustomResourceDefinition {
    let mut crd = DynamoGraphDeployment::crd();
    edit_schema(&mut crd, |schema| {
        let spec = &mut schema["properties"]["spec"];
        add_rule(
            spec,
            "has(self.services) && size(self.services) > 0",
            "spec.services must contain at least one service",
        );
        add_rule(
            spec,
            "has(self.backendFramework) == has(oldSelf.backendFramework) && (!has(self.backendFramework) || self.backendFramework == oldSelf.backendFramework)",
            "spec.backendFramework is immutable",
        );
        add_pvc_rules(&mut spec["properties"]["pvcs"]["items"]);
        add_component_rules(&mut spec["properties"]["services"]["additionalProperties"]);
        strip_embedded_descriptions(spec);
    });
    crd
}

fn component_crd() -> CustomResourceDefinition {
    let mut crd = DynamoComponentDeployment::crd();
    edit_schema(&mut crd, |schema| {
        let spec = &mut schema["properties"]["spec"];
        add_rule(
            spec,
            "has(self.backendFramework) == has(oldSelf.backendFramework) && (!has(self.backendFramework) || self.backendFramework == oldSelf.backendFramework)",
            "spec.backendFramework is immutable",
        );
        add_component_rules(spec);
        strip_embedded_descriptions(spec);
    });
    crd
}

fn edit_schema(crd: &mut CustomResourceDefinition, edit: impl Fn(&mut Value)) {
    for version in &mut crd.spec.versions {
        let Some(validation) = version.schema.as_mut() else {
            continue;
        };
        let Some(props) = validation.open_api_v3_schema.take() else {
            continue;
        };
        let mut schema = serde_json::to_value(props).expect("schema serialises");
        edit(&mut schema);
        validation.open_api_v3_schema =
            Some(serde_json::from_value(schema).expect("edited schema is a JSONSchemaProps"));
    }
    // Helm must never delete the CRDs (and with them every graph) on uninstall.
    crd.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert("helm.sh/resource-policy".to_string(), "keep".to_string());
}

fn add_rule(node: &mut Value, rule: &str, message: &str) {
    let rules = node
        .as_object_mut()
        .expect("schema node is an object")
        .entry("x-kubernetes-validations")
        .or_insert_with(|| json!([]));
    rules
        .as_array_mut()
        .expect("validations are a list")
        .push(json!({ "rule": rule, "message": message }));
}

fn add_pvc_rules(pvc: &mut Value) {
    add_rule(
        pvc,
        "!has(self.create) || !self.create || (has(self.size) && has(self.storageClass) && has(self.volumeAccessMode))",
        "a PVC with create: true needs size, storageClass and volumeAccessMode",
    );
}

fn add_component_rules(component: &mut Value) {
    let props = &mut component["properties"];
    add_rule(
        &mut props["ingress"],
        "!has(self.enabled) || !self.enabled || (has(self.host) && self.host != '')",
        "ingress.host is required when ingress.enabled is true",
    );
    add_rule(
        &mut props["sharedMemory"],
        "(has(self.disabled) && self.disabled) || has(self.size)",
        "sharedMemory.size is required unless sharedMemory.disabled is true",
    );
    add_rule(
        &mut props["volumeMounts"]["items"],
        "has(self.mountPoint) || (has(self.useAsCompilationCache) && self.useAsCompilationCache)",
        "volumeMounts[].mountPoint is required unless useAsCompilationCache is true",
    );
    // Upstream's examples give only `mainContainer`; the generated pod supplies containers.
    // mainContainer is merged over the generated one, which has the name `main`.
    let extra = &mut props["extraPodSpec"];
    for pointer in ["", "/properties/mainContainer"] {
        if let Some(map) = extra.pointer_mut(pointer).and_then(Value::as_object_mut) {
            map.remove("required");
        }
    }
}

/// Fields whose schema comes from Kubernetes core types: their own description stays (it is
/// ours), everything below loses its description.
const EMBEDDED_CORE_FIELDS: &[&str] = &[
    "extraPodSpec",
    "podTemplate",
    "env",
    "livenessProbe",
    "readinessProbe",
    "envs",
    "claims",
    "conditions",
];

fn strip_embedded_descriptions(node: &mut Value) {
    if let Some(map) = node.as_object_mut() {
        for (key, child) in map.iter_mut() {
            if key == "properties" {
                if let Some(props) = child.as_object_mut() {
                    for (name, prop) in props.iter_mut() {
                        if EMBEDDED_CORE_FIELDS.contains(&name.as_str()) {
                            strip_descriptions_below(prop);
                        } else {
                            strip_embedded_descriptions(prop);
                        }
                    }
                }
            } else {
                strip_embedded_descriptions(child);
            }
        }
    }
}

fn strip_descriptions_below(node: &mut Value) {
    fn strip(node: &mut Value) {
        match node {
            Value::Object(map) => {
                map.remove("description");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    if let Some(map) = node.as_object_mut() {
        for (key, child) in map.iter_mut() {
            if key != "description" {
                strip(child);
            }
        }
    }
}

/// The size that limits client-side `kubectl apply`: the CRD as compact JSON, which kubectl
/// stores in the `kubectl.kubernetes.io/last-applied-configuration` annotation (all
/// annotations of an object together may hold at most 256 KiB).
pub fn last_applied_size(crd: &CustomResourceDefinition) -> usize {
    serde_json::to_string(crd).expect("CRD serialises").len()
}

#[cfg(test)]
mod size {
    /// Both CRDs serve two versions and still fit client-side apply's annotation, with room
    /// for growth. Run with `--nocapture` to see the numbers (docs/benchmarks.md).
    #[test]
    fn two_version_crds_fit_client_side_apply() {
        for crd in super::all() {
            let names: Vec<(&str, bool, bool)> = crd
                .spec
                .versions
                .iter()
                .map(|v| (v.name.as_str(), v.served, v.storage))
                .collect();
            assert_eq!(names, [("v1alpha1", true, false), ("v1beta1", true, true)]);
            let json = super::last_applied_size(&crd);
            let yaml = crate::yaml::to_string(&crd).unwrap().len();
            println!(
                "{}: {yaml} bytes as YAML, {json} bytes as the last-applied annotation",
                crd.spec.names.kind
            );
            assert!(json < 200 * 1024, "{json}");
        }
    }
}
