//! Grove: a whole graph becomes one PodCliqueSet named after the graph (audit §3.2). Each
//! single-node service is a clique `<service>`; each multinode service is a leader clique
//! `<service>-ldr` (1 pod) and a worker clique `<service>-wkr` (nodeCount − 1 pods) tied
//! together by a PodCliqueScalingGroup `<service>` whose replicas are the service's.
//! Services, Ingresses and model Services are rendered as for Deployments, selecting leader
//! pods only for multinode services. No DynamoComponentDeployments: the PodCliqueSet
//! replaces them, as upstream does.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{
    ANNOTATION_KAI_QUEUE, DEFAULT_GROVE_TERMINATION_DELAY, DEFAULT_KAI_QUEUE, KAI_SCHEDULER,
    LABEL_KAI_QUEUE, Node, NodeRole, Topology,
};
use crate::api::consts::*;
use crate::api::{BackendFramework, DynamoComponentDeployment, DynamoGraphDeployment};
use crate::render::component::{Resolved, resolve, services};
use crate::render::labels::{metadata, owner_references, recommended};
use crate::render::pod::backend_of;
use crate::render::{RenderError, RenderOptions, in_graph};

/// API version of Grove's objects.
pub const API_VERSION: &str = "grove.io/v1alpha1";

/// The PodCliqueSet of a graph and every component's Services. `components` are the graph's
/// components as [`crate::render::graph`] resolves them (not rendered as objects).
pub fn graph_objects(
    dgd: &DynamoGraphDeployment,
    components: &[DynamoComponentDeployment],
    opts: &RenderOptions,
) -> Result<Vec<Value>, RenderError> {
    let name = dgd.metadata.name.clone().unwrap_or_default();
    let namespace = dgd
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let owner = owner_references(dgd);
    let kai_queue = opts.orchestrators.kai.then(|| kai_queue(dgd));
    let mut cliques = Vec::new();
    let mut groups = Vec::new();
    let mut explicit = false;
    let mut out = Vec::new();
    for dcd in components {
        let at = |e: RenderError| in_graph(e, dgd, dcd);
        let mut r = resolve(dcd).map_err(at)?;
        r.owner = owner.clone();
        let service = Service::of(&r, opts, kai_queue.as_deref()).map_err(at)?;
        explicit |= service
            .cliques
            .iter()
            .any(|c| c["spec"].get("startsAfter").is_some());
        cliques.extend(service.cliques);
        groups.extend(service.group);
        out.extend(services(&r, opts).map_err(at)?);
    }
    let mut labels = recommended(&name, "podcliqueset", &name);
    labels.insert(LABEL_GRAPH.into(), name.clone());
    let mut template = json!({
        "headlessServiceConfig": { "publishNotReadyAddresses": true },
        "cliqueStartupType": if explicit { "CliqueStartupTypeExplicit" } else { "CliqueStartupTypeAnyOrder" },
        "terminationDelay": opts.orchestrators.grove_termination_delay.as_deref().unwrap_or(DEFAULT_GROVE_TERMINATION_DELAY),
        "cliques": cliques,
    });
    if !groups.is_empty() {
        template["podCliqueScalingGroups"] = json!(groups);
    }
    out.push(json!({
        "apiVersion": API_VERSION,
        "kind": "PodCliqueSet",
        "metadata": metadata(&name, &namespace, &labels, &BTreeMap::new(), owner.as_ref()),
        "spec": { "replicas": 1, "template": template },
    }));
    Ok(out)
}

/// The Kai queue of a graph: its annotation (trimmed) or `dynamo`.
fn kai_queue(dgd: &DynamoGraphDeployment) -> String {
    dgd.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_KAI_QUEUE))
        .map(|q| q.trim())
        .filter(|q| !q.is_empty())
        .unwrap_or(DEFAULT_KAI_QUEUE)
        .to_string()
}

/// The cliques (and scaling group) of one service.
struct Service {
    cliques: Vec<Value>,
    group: Option<Value>,
}

impl Service {
    fn of(
        r: &Resolved<'_>,
        opts: &RenderOptions,
        kai: Option<&str>,
    ) -> Result<Service, RenderError> {
        let key = r.labels[LABEL_COMPONENT].to_lowercase();
        let replicas = r.dcd.spec.component.replicas.unwrap_or(1);
        if r.nodes <= 1 {
            let pod = r.pod(opts, None)?;
            return Ok(Service {
                cliques: vec![clique(r, &key, replicas, pod, kai)],
                group: None,
            });
        }
        let node = |role| Node {
            role,
            count: r.nodes,
            topology: Topology::Grove,
            service: &key,
        };
        let (leader_name, worker_name) = (format!("{key}-ldr"), format!("{key}-wkr"));
        let mut leader = clique(
            r,
            &leader_name,
            1,
            r.pod(opts, Some(node(NodeRole::Leader)))?,
            kai,
        );
        let worker = clique(
            r,
            &worker_name,
            r.nodes - 1,
            r.pod(opts, Some(node(NodeRole::Worker)))?,
            kai,
        );
        // mpirun on the leader connects to the workers' sshd: start the workers first.
        if backend_of(r.dcd, &|p, m| r.err(p, m))? == Some(BackendFramework::Trtllm) {
            leader["spec"]["startsAfter"] = json!([worker_name]);
        }
        Ok(Service {
            group: Some(json!({
                "name": key,
                "cliqueNames": [leader_name, worker_name],
                "replicas": replicas,
                "minAvailable": 1,
            })),
            cliques: vec![leader, worker],
        })
    }
}

/// A clique running `pod`: its labels go to the clique and its pods; annotations are the
/// service's and the pod's.
fn clique(r: &Resolved<'_>, name: &str, replicas: i32, pod: Value, kai: Option<&str>) -> Value {
    let mut labels = pod["metadata"]["labels"].clone();
    let mut annotations = r.annotations.clone();
    if let Some(a) = pod["metadata"]["annotations"].as_object() {
        annotations.extend(
            a.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())),
        );
    }
    let mut spec = pod["spec"].clone();
    if let Some(queue) = kai {
        // A scheduler the user chose stays.
        let own = spec.get("schedulerName").and_then(Value::as_str);
        if own.is_none_or(|s| s == KAI_SCHEDULER) {
            spec["schedulerName"] = json!(KAI_SCHEDULER);
            labels[LABEL_KAI_QUEUE] = json!(queue);
        }
    }
    let mut c = json!({
        "name": name,
        "labels": labels,
        "spec": {
            "roleName": name,
            "replicas": replicas,
            "minAvailable": 1,
            "podSpec": spec,
        },
    });
    if !annotations.is_empty() {
        c["annotations"] = json!(annotations);
    }
    c
}

#[cfg(test)]
mod tests {
    use crate::api::DynamoGraphDeployment;
    use crate::render::{Orchestrators, RenderOptions, graph};
    use serde_json::{Value, json};

    fn dgd(annotations: Value, scheduler: Option<&str>) -> DynamoGraphDeployment {
        let mut pod = json!({});
        if let Some(s) = scheduler {
            pod["schedulerName"] = json!(s);
        }
        serde_json::from_value(json!({
            "apiVersion": "nvidia.com/v1alpha1",
            "kind": "DynamoGraphDeployment",
            "metadata": { "name": "g", "namespace": "ns", "annotations": annotations },
            "spec": { "services": {
                "Frontend": { "componentType": "frontend", "extraPodSpec": pod },
                "decode": {
                    "componentType": "worker",
                    "multinode": { "nodeCount": 3 },
                    "resources": { "limits": { "gpu": "8" } },
                    "extraPodSpec": { "mainContainer": { "command": ["python3", "-m", "dynamo.sglang"] } },
                },
            }},
        }))
        .unwrap()
    }

    fn opts(o: Orchestrators) -> RenderOptions {
        RenderOptions {
            orchestrators: o,
            ..Default::default()
        }
    }

    fn pcs(dgd: &DynamoGraphDeployment, o: Orchestrators) -> Value {
        let children = graph(dgd, &opts(o)).unwrap();
        assert!(children.components.is_empty(), "no DCDs under Grove");
        children
            .objects
            .into_iter()
            .find(|o| o["kind"] == "PodCliqueSet")
            .unwrap()
    }

    #[test]
    fn kai_schedules_every_clique_from_the_graph_queue() {
        let o = Orchestrators {
            grove: true,
            kai: true,
            ..Default::default()
        };
        let set = pcs(
            &dgd(
                json!({ "nvidia.com/kai-scheduler-queue": " team-a " }),
                None,
            ),
            o.clone(),
        );
        for c in set["spec"]["template"]["cliques"].as_array().unwrap() {
            assert_eq!(c["spec"]["podSpec"]["schedulerName"], "kai-scheduler");
            assert_eq!(c["labels"]["kai.scheduler/queue"], "team-a");
        }
        // A scheduler the user chose stays, and that clique gets no queue.
        let set = pcs(&dgd(json!({}), Some("my-scheduler")), o);
        let frontend = &set["spec"]["template"]["cliques"][0];
        assert_eq!(frontend["spec"]["podSpec"]["schedulerName"], "my-scheduler");
        assert!(frontend["labels"].get("kai.scheduler/queue").is_none());
        assert_eq!(
            set["spec"]["template"]["cliques"][1]["labels"]["kai.scheduler/queue"],
            "dynamo"
        );
    }

    #[test]
    fn sizes_and_termination_delay_follow_the_spec_and_configuration() {
        let o = Orchestrators {
            grove: true,
            grove_termination_delay: Some("4h".into()),
            ..Default::default()
        };
        let set = pcs(&dgd(json!({}), None), o);
        let t = &set["spec"]["template"];
        assert_eq!(t["terminationDelay"], "4h");
        let sizes: Vec<(String, i64)> = t["cliques"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["spec"]["replicas"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            sizes,
            vec![
                ("frontend".into(), 1),
                ("decode-ldr".into(), 1),
                ("decode-wkr".into(), 2)
            ]
        );
        assert_eq!(
            t["podCliqueScalingGroups"],
            json!([{ "name": "decode", "cliqueNames": ["decode-ldr", "decode-wkr"], "replicas": 1, "minAvailable": 1 }])
        );
        assert_eq!(t["cliqueStartupType"], "CliqueStartupTypeAnyOrder");
    }

    #[test]
    fn an_opted_out_graph_uses_lws_or_says_why_it_cannot() {
        let out = dgd(json!({ "nvidia.com/enable-grove": "False" }), None);
        let both = Orchestrators {
            grove: true,
            lws: true,
            ..Default::default()
        };
        let children = graph(&out, &opts(both)).unwrap();
        assert_eq!(children.components.len(), 2, "components, rendered as LWS");
        let e = graph(
            &out,
            &opts(Orchestrators {
                grove: true,
                ..Default::default()
            }),
        )
        .unwrap_err();
        assert!(e.message.contains("opts out of Grove"), "{e}");
        assert_eq!(e.path.join("."), "spec.services.decode.multinode.nodeCount");
    }
}
