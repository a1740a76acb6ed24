//! The cluster side of the conversion webhook: the certificate Secret (created if missing,
//! reused while valid, rotated before expiry), the CRDs' `spec.conversion.webhook.clientConfig`
//! (Service or URL, and the CA bundle), and storage migration (objects stored as v1alpha1
//! rewritten as v1beta1, then `status.storedVersions` trimmed), as upstream's `internal/cert`
//! and `internal/crdmigrator` do.

use std::collections::BTreeMap;
use std::time::SystemTime;

use base64::Engine;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};

use super::ClusterError;
use crate::webhook::certs::{self, Bundle, Verdict};

/// The CRDs whose conversion the operator serves.
pub const CRD_NAMES: [&str; 2] = [
    "dynamographdeployments.nvidia.com",
    "dynamocomponentdeployments.nvidia.com",
];
/// The storage version every object ends up in.
pub const STORAGE_VERSION: &str = "v1beta1";
/// Annotation of the Secret: the host names its serving certificate was issued for.
pub const HOSTS_ANNOTATION: &str = "nvidia.com/webhook-hosts";
/// Field manager of the operator's writes here.
const MANAGER: &str = "dynamo-operator";

fn rejected(object: &str, e: kube::Error) -> ClusterError {
    ClusterError::from_kube(object, "the API server", e)
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

fn bundle_of(secret: &Secret) -> Option<Bundle> {
    let data = secret.data.as_ref()?;
    let text = |key: &str| {
        data.get(key)
            .and_then(|b| String::from_utf8(b.0.clone()).ok())
    };
    Some(Bundle {
        ca_cert: text(certs::CA_CERT)?,
        ca_key: text(certs::CA_KEY)?,
        cert: text(certs::TLS_CERT)?,
        key: text(certs::TLS_KEY)?,
    })
}

fn secret_data(b: &Bundle) -> BTreeMap<String, ByteString> {
    [
        (certs::CA_CERT, &b.ca_cert),
        (certs::CA_KEY, &b.ca_key),
        (certs::TLS_CERT, &b.cert),
        (certs::TLS_KEY, &b.key),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), ByteString(v.clone().into_bytes())))
    .collect()
}

/// The certificates in Secret `namespace/name`, made or renewed as [`certs::judge`] says.
/// Replicas race safely: a write that loses (409) re-reads and takes the winner's.
pub async fn ensure_certificate(
    client: &Client,
    namespace: &str,
    name: &str,
    hosts: &[String],
    now: SystemTime,
) -> Result<Bundle, ClusterError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let object = format!("Secret {namespace}/{name}");
    let joined = hosts.join(",");
    for _ in 0..3 {
        let live = api.get_opt(name).await.map_err(|e| rejected(&object, e))?;
        let existing = live.as_ref().and_then(bundle_of);
        let hosts_match = live
            .as_ref()
            .and_then(|s| s.metadata.annotations.as_ref())
            .and_then(|a| a.get(HOSTS_ANNOTATION))
            == Some(&joined);
        let verdict = certs::judge(existing.as_ref(), hosts_match, now);
        if verdict == Verdict::Keep
            && let Some(b) = existing
        {
            return Ok(b);
        }
        let bundle = certs::issue(existing.as_ref(), verdict, hosts, now).map_err(|message| {
            ClusterError::Rejected {
                object: object.clone(),
                code: 500,
                message,
            }
        })?;
        tracing::info!(secret = %object, ?verdict, "writing the webhook certificates");
        let mut secret = live.unwrap_or_default();
        secret.metadata.name = Some(name.to_string());
        secret.metadata.namespace = Some(namespace.to_string());
        secret
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(HOSTS_ANNOTATION.into(), joined.clone());
        secret.type_ = Some("kubernetes.io/tls".into());
        secret.data = Some(secret_data(&bundle));
        let written = if secret.metadata.resource_version.is_some() {
            api.replace(name, &PostParams::default(), &secret).await
        } else {
            api.create(&PostParams::default(), &secret).await
        };
        match written {
            Ok(_) => return Ok(bundle),
            Err(e) if is_status(&e, 409) => continue,
            Err(e) => return Err(rejected(&object, e)),
        }
    }
    Err(ClusterError::Conflict {
        object,
        message: "the Secret kept changing while the certificates were written".into(),
    })
}

/// Where the API server reaches the webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// In the cluster: `clientConfig.service` (port 443 of the Service, path `/convert`).
    Service {
        /// The Service's namespace.
        namespace: String,
        /// The Service's name.
        name: String,
    },
    /// Outside the cluster (a locally run operator): `clientConfig.url`.
    Url(String),
}

/// The `clientConfig` the CRDs should carry for `endpoint` and the CA bundle (PEM).
pub fn client_config(endpoint: &Endpoint, ca_pem: &str) -> Value {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    match endpoint {
        Endpoint::Service { namespace, name } => json!({
            "service": { "namespace": namespace, "name": name,
                         "path": crate::api::crd::WEBHOOK_PATH, "port": 443 },
            "caBundle": ca,
        }),
        Endpoint::Url(url) => json!({ "url": url, "caBundle": ca }),
    }
}

/// Points both CRDs' conversion at `config` (from [`client_config`]); a CRD that already says
/// so is not written. Returns how many were patched. A missing CRD is an error: the operator
/// does not serve without them.
pub async fn inject(client: &Client, config: &Value) -> Result<usize, ClusterError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut patched = 0;
    for name in CRD_NAMES {
        let object = format!("CustomResourceDefinition {name}");
        let live = api.get(name).await.map_err(|e| rejected(&object, e))?;
        let live = serde_json::to_value(&live).expect("a CRD serialises");
        let current = live.pointer("/spec/conversion/webhook/clientConfig");
        let strategy = live.pointer("/spec/conversion/strategy");
        if current == Some(config) && strategy == Some(&json!("Webhook")) {
            continue;
        }
        // Merge patch: the other of url/service is removed, the rest of the CRD untouched.
        let mut client_config = config.clone();
        for key in ["url", "service"] {
            if client_config.get(key).is_none() {
                client_config[key] = Value::Null;
            }
        }
        let patch = json!({ "spec": { "conversion": { "strategy": "Webhook", "webhook": {
            "conversionReviewVersions": ["v1"], "clientConfig": client_config } } } });
        api.patch(name, &params(), &Patch::Merge(&patch))
            .await
            .map_err(|e| rejected(&object, e))?;
        tracing::info!(crd = name, "conversion webhook configured");
        patched += 1;
    }
    Ok(patched)
}

fn params() -> PatchParams {
    PatchParams {
        field_manager: Some(MANAGER.into()),
        ..PatchParams::default()
    }
}

/// What one CRD's storage migration did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Migrated {
    /// The CRD.
    pub crd: String,
    /// `status.storedVersions` before.
    pub stored_before: Vec<String>,
    /// Objects rewritten in the storage version.
    pub rewritten: usize,
}

/// Rewrites every object of each CRD whose `status.storedVersions` is not just
/// [`STORAGE_VERSION`] (an empty update: the API server stores it again in the storage
/// version, converting through the webhook), then trims `storedVersions`. Objects deleted or
/// changed meanwhile (404/409) need no rewrite: whoever changed them stored them anew.
/// Idempotent; CRDs already trimmed cost one GET.
pub async fn migrate_storage(client: &Client) -> Result<Vec<Migrated>, ClusterError> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut out = Vec::new();
    for name in CRD_NAMES {
        let object = format!("CustomResourceDefinition {name}");
        let crd = crds.get(name).await.map_err(|e| rejected(&object, e))?;
        let stored = crd
            .status
            .as_ref()
            .and_then(|s| s.stored_versions.clone())
            .unwrap_or_default();
        if stored == [STORAGE_VERSION] {
            continue;
        }
        let resource = ApiResource {
            group: crd.spec.group.clone(),
            version: STORAGE_VERSION.into(),
            api_version: format!("{}/{STORAGE_VERSION}", crd.spec.group),
            kind: crd.spec.names.kind.clone(),
            plural: crd.spec.names.plural.clone(),
        };
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let mut rewritten = 0;
        let mut list = ListParams::default().limit(500);
        loop {
            let page = api
                .list_metadata(&list)
                .await
                .map_err(|e| rejected(&format!("list {}", resource.plural), e))?;
            for item in &page.items {
                let (Some(ns), Some(n)) = (&item.metadata.namespace, &item.metadata.name) else {
                    continue;
                };
                let namespaced: Api<DynamicObject> =
                    Api::namespaced_with(client.clone(), ns, &resource);
                // The resourceVersion makes it an update of exactly what was listed.
                let patch =
                    json!({ "metadata": { "resourceVersion": item.metadata.resource_version } });
                match namespaced.patch(n, &params(), &Patch::Merge(&patch)).await {
                    Ok(_) => rewritten += 1,
                    Err(e) if is_status(&e, 404) || is_status(&e, 409) => {}
                    Err(e) => {
                        return Err(rejected(&format!("{} {ns}/{n}", resource.kind), e));
                    }
                }
            }
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => list = list.continue_token(&token),
                _ => break,
            }
        }
        // Optimistic lock: a CRD changed meanwhile (a new version added) is looked at again
        // on the next pass instead of being trimmed blindly.
        let patch = json!({
            "metadata": { "resourceVersion": crd.metadata.resource_version },
            "status": { "storedVersions": [STORAGE_VERSION] },
        });
        crds.patch_status(name, &params(), &Patch::Merge(&patch))
            .await
            .map_err(|e| rejected(&object, e))?;
        tracing::info!(
            crd = name,
            ?stored,
            rewritten,
            "storage migrated to {STORAGE_VERSION}"
        );
        out.push(Migrated {
            crd: name.to_string(),
            stored_before: stored,
            rewritten,
        });
    }
    Ok(out)
}
