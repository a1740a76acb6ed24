//! Multinode components without Grove: per replica i, a LeaderWorkerSet `<component>-<i>`
//! (one group of `nodeCount` pods) and a Volcano PodGroup `<component>-<i>` that gangs the
//! group's pods (audit §3.3). Scaling changes how many indices exist; the operator deletes
//! the surplus ones.

use serde_json::{Value, json};

use super::{LABEL_INSTANCE_ID, LABEL_ROLE, Node, NodeRole, Topology};
use crate::api::consts::*;
use crate::render::component::Resolved;
use crate::render::labels::metadata;
use crate::render::{RenderError, RenderOptions};

/// API version of LeaderWorkerSets.
pub const LWS_API_VERSION: &str = "leaderworkerset.x-k8s.io/v1";
/// API version of Volcano PodGroups.
pub const PODGROUP_API_VERSION: &str = "scheduling.volcano.sh/v1beta1";
/// Annotation Volcano reads a pod's gang from.
const ANNOTATION_GROUP_NAME: &str = "scheduling.k8s.io/group-name";

/// The PodGroups and LeaderWorkerSets of a multinode component, replica by replica.
pub(crate) fn workloads(r: &Resolved<'_>, opts: &RenderOptions) -> Result<Vec<Value>, RenderError> {
    let service = r
        .dcd
        .spec
        .component
        .service_name
        .as_deref()
        .unwrap_or(&r.name);
    let node = |role| Node {
        role,
        count: r.nodes,
        topology: Topology::Lws,
        service,
    };
    let leader = r.pod(opts, Some(node(NodeRole::Leader)))?;
    let worker = r.pod(opts, Some(node(NodeRole::Worker)))?;
    let replicas = r.dcd.spec.component.replicas.unwrap_or(1).max(0);
    let mut out = Vec::new();
    for i in 0..replicas {
        let name = format!("{}-{i}", r.name);
        let mut labels = r.labels.clone();
        labels.insert(LABEL_INSTANCE_ID.into(), i.to_string());
        out.push(json!({
            "apiVersion": PODGROUP_API_VERSION,
            "kind": "PodGroup",
            "metadata": metadata(&name, &r.namespace, &labels, &Default::default(), r.owner.as_ref()),
            "spec": { "minMember": r.nodes },
        }));
        out.push(json!({
            "apiVersion": LWS_API_VERSION,
            "kind": "LeaderWorkerSet",
            "metadata": metadata(&name, &r.namespace, &labels, &r.annotations, r.owner.as_ref()),
            "spec": {
                "replicas": 1,
                "startupPolicy": "LeaderCreated",
                "leaderWorkerTemplate": {
                    "size": r.nodes,
                    "leaderTemplate": ganged(&leader, &name, i),
                    "workerTemplate": ganged(&worker, &name, i),
                },
            },
        }));
    }
    Ok(out)
}

/// A pod template joined to PodGroup `group`: Volcano schedules it, as one gang.
fn ganged(pod: &Value, group: &str, instance: i32) -> Value {
    let mut pod = pod.clone();
    let meta = &mut pod["metadata"];
    if let Some(labels) = meta["labels"].as_object_mut() {
        // The selector label names the component; LWS pods are selected by role instead.
        labels.remove(LABEL_SELECTOR);
        labels.insert(LABEL_INSTANCE_ID.into(), json!(instance.to_string()));
        debug_assert!(labels.contains_key(LABEL_ROLE));
    }
    meta["annotations"][ANNOTATION_GROUP_NAME] = json!(group);
    pod["spec"]["schedulerName"] = json!("volcano");
    pod
}
