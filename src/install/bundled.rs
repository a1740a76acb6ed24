//! The bundled etcd and NATS (`--with-etcd`, `--with-nats`; the chart's `global.etcd.install`,
//! `global.nats.install`): one StatefulSet each from the official image, a headless Service
//! for its stable pod name and a client Service the operator's configuration points at. Meant
//! for clusters without their own; the operator does not manage them (no RBAC for them).

use serde_json::{Value, json};

use super::config::bundled_host;
use super::objects::NONROOT_UID;
use super::{Bundled, InstallOptions};
use crate::api::consts::{LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME, LABEL_PART_OF, MANAGED_BY};

/// etcd's official image (the project's own registry), pinned.
pub const ETCD_IMAGE: &str = "gcr.io/etcd-development/etcd:v3.6.7";
/// NATS's official image, pinned.
pub const NATS_IMAGE: &str = "nats:2.12.4-alpine";

/// Where each keeps its data (an emptyDir, or the PVC when storage is asked for).
const DATA_DIR: &str = "/data";

/// One bundled component.
struct Component {
    name: &'static str,
    image: &'static str,
    command: Vec<String>,
    /// `(name, port)`; the first is the client port the Service exposes.
    ports: &'static [(&'static str, u16)],
    /// `(liveness path, readiness path, port name)`.
    probes: (&'static str, &'static str, &'static str),
}

/// The objects of the bundled etcd and NATS that `opts` asks for, in apply order.
pub fn objects(opts: &InstallOptions) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(b) = &opts.etcd {
        out.extend(stateful(opts, &etcd(opts), b));
    }
    if let Some(b) = &opts.nats {
        out.extend(stateful(opts, &nats(), b));
    }
    out
}

/// The names every bundled object of `component` may have, for uninstall.
pub fn names(instance: &str, component: &str) -> [String; 2] {
    [
        format!("{instance}-{component}"),
        format!("{instance}-{component}-headless"),
    ]
}

fn etcd(opts: &InstallOptions) -> Component {
    Component {
        name: "etcd",
        image: ETCD_IMAGE,
        command: vec![
            "/usr/local/bin/etcd".into(),
            format!("--data-dir={DATA_DIR}/etcd"),
            "--listen-client-urls=http://0.0.0.0:2379".into(),
            format!(
                "--advertise-client-urls=http://{}:2379",
                bundled_host(opts, "etcd")
            ),
        ],
        // One member: its peer port stays on localhost.
        ports: &[("client", 2379)],
        probes: ("/livez", "/readyz", "client"),
    }
}

fn nats() -> Component {
    Component {
        name: "nats",
        image: NATS_IMAGE,
        command: vec![
            "nats-server".into(),
            "--port=4222".into(),
            "--http_port=8222".into(),
            // JetStream, which the runtime's event plane and KV use when NATS is chosen.
            "--jetstream".into(),
            format!("--store_dir={DATA_DIR}/jetstream"),
        ],
        ports: &[("client", 4222), ("monitor", 8222)],
        probes: ("/healthz", "/healthz", "monitor"),
    }
}

fn labels(opts: &InstallOptions, c: &Component) -> Value {
    json!({
        LABEL_NAME: c.name,
        LABEL_INSTANCE: opts.instance,
        LABEL_PART_OF: "dynamo",
        LABEL_MANAGED_BY: MANAGED_BY,
    })
}

fn stateful(opts: &InstallOptions, c: &Component, bundled: &Bundled) -> Vec<Value> {
    let [name, headless] = names(&opts.instance, c.name);
    let selector = json!({ LABEL_NAME: c.name, LABEL_INSTANCE: opts.instance });
    let meta = |name: &str| json!({ "name": name, "namespace": opts.namespace, "labels": labels(opts, c) });
    let service_ports: Vec<Value> = c
        .ports
        .iter()
        .map(|(n, p)| json!({ "name": n, "port": p, "targetPort": n, "protocol": "TCP" }))
        .collect();
    let probe = |path: &str, delay: i32| {
        json!({
            "httpGet": { "path": path, "port": c.probes.2 },
            "initialDelaySeconds": delay,
            "periodSeconds": 10,
        })
    };
    let mut pod_volumes = vec![];
    let mut claims = vec![];
    match &bundled.storage {
        Some(size) => claims.push(json!({
            "metadata": { "name": "data" },
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": { "requests": { "storage": size } },
            },
        })),
        None => pod_volumes.push(json!({ "name": "data", "emptyDir": {} })),
    }
    let mut spec = json!({
        "serviceName": headless,
        "replicas": 1,
        "selector": { "matchLabels": selector },
        "template": {
            "metadata": { "labels": labels(opts, c) },
            "spec": {
                "automountServiceAccountToken": false,
                "enableServiceLinks": false,
                // The Kubernetes "restricted" Pod Security Standard; fsGroup makes the data
                // volume writable for the non-root user.
                "securityContext": {
                    "runAsNonRoot": true,
                    "runAsUser": NONROOT_UID,
                    "runAsGroup": NONROOT_UID,
                    "fsGroup": NONROOT_UID,
                    "seccompProfile": { "type": "RuntimeDefault" },
                },
                "containers": [{
                    "name": c.name,
                    "image": c.image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": c.command,
                    "ports": c.ports.iter().map(|(n, p)| json!({ "name": n, "containerPort": p, "protocol": "TCP" })).collect::<Vec<_>>(),
                    "livenessProbe": probe(c.probes.0, 10),
                    "readinessProbe": probe(c.probes.1, 5),
                    "resources": {
                        "requests": { "cpu": "100m", "memory": "128Mi" },
                        "limits": { "memory": "1Gi" },
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": false,
                        "capabilities": { "drop": ["ALL"] },
                        "readOnlyRootFilesystem": true,
                        "runAsNonRoot": true,
                    },
                    "volumeMounts": [{ "name": "data", "mountPath": DATA_DIR }],
                }],
            },
        },
    });
    if !pod_volumes.is_empty() {
        spec["template"]["spec"]["volumes"] = json!(pod_volumes);
    }
    if !claims.is_empty() {
        spec["volumeClaimTemplates"] = json!(claims);
    }
    vec![
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(&headless),
            "spec": {
                "clusterIP": "None",
                // Peers and clients find the pod by name before it is ready.
                "publishNotReadyAddresses": true,
                "selector": selector,
                "ports": service_ports,
            },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(&name),
            "spec": { "selector": selector, "ports": [service_ports[0]] },
        }),
        json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": meta(&name),
            "spec": spec,
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_unless_asked() {
        assert!(objects(&InstallOptions::default()).is_empty());
    }

    #[test]
    fn etcd_and_nats_with_and_without_storage() {
        let opts = InstallOptions {
            etcd: Some(Bundled {
                storage: Some("2Gi".into()),
            }),
            nats: Some(Bundled::default()),
            ..InstallOptions::default()
        };
        let objs = objects(&opts);
        let names: Vec<(&str, &str)> = objs
            .iter()
            .map(|o| {
                (
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["name"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("Service", "dynamo-platform-etcd-headless"),
                ("Service", "dynamo-platform-etcd"),
                ("StatefulSet", "dynamo-platform-etcd"),
                ("Service", "dynamo-platform-nats-headless"),
                ("Service", "dynamo-platform-nats"),
                ("StatefulSet", "dynamo-platform-nats"),
            ]
        );
        let etcd = &objs[2]["spec"];
        assert_eq!(
            etcd["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
            "2Gi"
        );
        assert!(etcd["template"]["spec"].get("volumes").is_none());
        let nats = &objs[5]["spec"];
        assert!(nats.get("volumeClaimTemplates").is_none());
        assert_eq!(
            nats["template"]["spec"]["volumes"][0]["emptyDir"],
            json!({})
        );
        let cmd = &nats["template"]["spec"]["containers"][0]["command"];
        assert!(cmd.as_array().unwrap().contains(&json!("--jetstream")));
        assert_eq!(objs[4]["spec"]["ports"][0]["port"], 4222);
    }
}
