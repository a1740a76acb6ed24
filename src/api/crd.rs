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

/// Both CRDs, ready to serialise.
pub fn all() -> Vec<CustomResourceDefinition> {
    vec![graph_crd(), component_crd()]
}

/// The openAPIV3Schema of every kind, keyed by kind, as compact JSON without descriptions:
/// what `src/api/crd_schemas.json` holds for validation at run time.
pub fn schemas_json() -> String {
    let map: serde_json::Map<String, Value> = all()
        .into_iter()
        .map(|crd| {
            let schema = crd.spec.versions[0]
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref());
            let mut schema = serde_json::to_value(schema).expect("schema serialises");
            // Validation needs no descriptions; without them the JSON parses twice as fast.
            strip_descriptions_below(&mut schema);
            schema.as_object_mut().map(|m| m.remove("description"));
            (crd.spec.names.kind.clone(), schema)
        })
        .collect();
    serde_json::to_string(&map).expect("schemas serialise") + "\n"
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
