//! The `DynamoWorkerMetadata` CRD (`dynamoworkermetadatas.nvidia.com`), exactly as upstream's
//! CRDs chart ships it. Every worker writes one object of this kind under Kubernetes discovery
//! (the runtime's default backend); the operator never reads it, so there is no Rust type, only
//! the CRD: `spec.data` is the runtime's own discovery blob, kept as written.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::json;

/// The CRD, ready to serialise; `dynamoctl generate` writes it next to the other CRDs.
pub fn crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": "dynamoworkermetadatas.nvidia.com",
            // Helm must never delete a CRD (and with it every worker's metadata) on uninstall.
            "annotations": { "helm.sh/resource-policy": "keep" },
        },
        "spec": {
            "group": "nvidia.com",
            "names": {
                "kind": "DynamoWorkerMetadata",
                "listKind": "DynamoWorkerMetadataList",
                "plural": "dynamoworkermetadatas",
                "singular": "dynamoworkermetadata",
                "shortNames": ["dwm"],
            },
            "scope": "Namespaced",
            "versions": [{
                "name": "v1alpha1",
                "served": true,
                "storage": true,
                "schema": { "openAPIV3Schema": {
                    "type": "object",
                    "description": "DynamoWorkerMetadata stores discovery metadata for a Dynamo worker pod",
                    "properties": {
                        "apiVersion": { "type": "string", "description": "APIVersion defines the versioned schema of this representation" },
                        "kind": { "type": "string", "description": "Kind is a string value representing the REST resource" },
                        "metadata": { "type": "object" },
                        "spec": {
                            "type": "object",
                            "description": "Spec contains the worker metadata",
                            "required": ["data"],
                            "properties": {
                                "data": {
                                    "type": "object",
                                    "description": "Raw JSON blob containing DiscoveryMetadata",
                                    "x-kubernetes-preserve-unknown-fields": true,
                                },
                            },
                        },
                    },
                }},
                "additionalPrinterColumns": [{
                    "name": "Age",
                    "type": "date",
                    "jsonPath": ".metadata.creationTimestamp",
                }],
            }],
        },
    }))
    .expect("the DynamoWorkerMetadata CRD is a CustomResourceDefinition")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_structural_and_namespaced() {
        let crd = crd();
        assert_eq!(crd.spec.scope, "Namespaced");
        let schema = serde_json::to_value(
            crd.spec.versions[0]
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref()),
        )
        .unwrap();
        assert!(crate::api::schema::structural_violations(&schema).is_empty());
        assert_eq!(schema["properties"]["spec"]["required"], json!(["data"]));
    }
}
