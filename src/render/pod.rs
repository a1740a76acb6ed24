//! The pod template of a component: role defaults, then the user's overrides, then what the
//! operator always injects (research notes §3.3–§3.6).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::backend::{self, Launch};
use super::defaults::{self, Role};
use super::merge::{env_by_name, override_non_empty};
use super::orchestrator::{LABEL_ROLE, Node};
use super::{RenderError, RenderOptions};
use crate::api::consts::*;
use crate::api::{BackendFramework, DynamoComponentDeployment};

/// Where a pod template comes from.
pub struct PodInputs<'a> {
    /// The component.
    pub dcd: &'a DynamoComponentDeployment,
    /// Name of the workload (and of its selector label).
    pub workload: &'a str,
    /// The graph the component belongs to.
    pub graph: &'a str,
    /// The Dynamo namespace.
    pub dynamo_namespace: &'a str,
    /// Labels of the workload, which pods inherit.
    pub labels: &'a BTreeMap<String, String>,
    /// Operator settings.
    pub opts: &'a RenderOptions,
    /// The pod's place in a multinode group; `None` for single-node components.
    pub node: Option<Node<'a>>,
}

/// Builds the pod template (`metadata` + `spec`) of a component.
pub fn template(
    input: &PodInputs<'_>,
    err: &dyn Fn(Vec<String>, String) -> RenderError,
) -> Result<Value, RenderError> {
    let spec = &input.dcd.spec.component;
    let role = Role::of(spec.component_type.as_deref());
    let namespace = input.dcd.metadata.namespace.as_deref().unwrap_or("default");
    let annotations = spec.annotations.clone().unwrap_or_default();
    let discovery = annotations
        .get(ANNOTATION_DISCOVERY_BACKEND)
        .cloned()
        .or_else(|| input.opts.discovery_backend.clone())
        .unwrap_or_else(|| "kubernetes".to_string());
    let extra = spec.extra_pod_spec.clone().unwrap_or_default();
    let user_main = extra
        .main_container
        .as_ref()
        .map(|c| serde_json::to_value(c).expect("container serialises"));

    // 1–2. Role defaults, then mainContainer over them.
    let mut main = defaults::container(role);
    if let Some(user) = &user_main {
        let default_env = Vec::new();
        let user_env = user
            .get("env")
            .and_then(Value::as_array)
            .unwrap_or(&default_env)
            .clone();
        // A user command replaces the default command *and* args, as Kubernetes' own
        // command/args pairing does (upstream would keep the default args, issue #2753).
        if user
            .get("command")
            .and_then(Value::as_array)
            .is_some_and(|c| !c.is_empty())
        {
            main.as_object_mut()
                .expect("container is an object")
                .remove("args");
        }
        override_non_empty(&mut main, user);
        main["env"] = Value::Array(user_env);
        // A startup probe with a handler replaces the default whole (upstream `graph.go`):
        // merged key by key, a user `exec` probe would keep the default `httpGet` too, and the
        // API server rejects a probe with two handlers. One without a handler (only timings,
        // as upstream's GKE example writes it) tunes the default instead of becoming a probe
        // with no handler, which the API server would reject as well.
        if let Some(p) = user.get("startupProbe").filter(|p| has_handler(p)) {
            main["startupProbe"] = p.clone();
        }
    }
    // 3. Service envs over mainContainer env; top-level probes replace the defaults.
    let service_env: Vec<Value> = spec
        .envs
        .iter()
        .flatten()
        .map(|e| serde_json::to_value(e).expect("env"))
        .collect();
    let mut env = env_by_name(
        main["env"].as_array().map_or(&[][..], Vec::as_slice),
        &service_env,
    );
    if let Some(p) = &spec.liveness_probe {
        main["livenessProbe"] = serde_json::to_value(p).expect("probe");
    }
    if let Some(p) = &spec.readiness_probe {
        main["readinessProbe"] = serde_json::to_value(p).expect("probe");
    }
    // 4. Resources, key by key over what mainContainer set; claims appended.
    apply_resources(&mut main, spec.resources.as_deref());
    // 5. envFrom and the injected env, which user env overrides.
    if let Some(secret) = &spec.env_from_secret {
        let mut from = main
            .get("envFrom")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        from.push(json!({ "secretRef": { "name": secret } }));
        main["envFrom"] = Value::Array(from);
    }
    let mut injected = defaults::env(role);
    injected.extend(standard_env(input, namespace, &discovery));
    env = env_by_name(&injected, &env);

    // 6. Volumes from volumeMounts and shared memory.
    let backend = backend(input.dcd, role, &main, err)?;
    let mut volumes = Vec::new();
    let mut mounts = main
        .get("volumeMounts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, vm) in spec.volume_mounts.iter().flatten().enumerate() {
        let cache = vm.use_as_compilation_cache == Some(true);
        let mount_point = match (&vm.mount_point, cache, backend) {
            (Some(p), _, _) => p.clone(),
            (None, true, Some(BackendFramework::Vllm)) => "/root/.cache/vllm".to_string(),
            _ => {
                return Err(err(
                    vec![
                        "spec".into(),
                        "volumeMounts".into(),
                        i.to_string(),
                        "mountPoint".into(),
                    ],
                    format!(
                        "volume \"{}\" needs a mountPoint (only vLLM has a default compilation cache path)",
                        vm.name
                    ),
                ));
            }
        };
        if cache && backend == Some(BackendFramework::Vllm) {
            env = env_by_name(
                &[json!({ "name": "VLLM_CACHE_ROOT", "value": mount_point })],
                &env,
            );
        }
        volumes.push(json!({ "name": vm.name, "persistentVolumeClaim": { "claimName": vm.name } }));
        mounts.push(json!({ "name": vm.name, "mountPath": mount_point }));
    }
    let shm = spec.shared_memory.clone().unwrap_or_default();
    if shm.disabled != Some(true) {
        let size = shm.size.map_or_else(|| "8Gi".to_string(), |q| q.0);
        volumes.push(json!({ "name": "shared-memory", "emptyDir": { "medium": "Memory", "sizeLimit": size } }));
        mounts.push(json!({ "name": "shared-memory", "mountPath": "/dev/shm" }));
    }
    if !mounts.is_empty() {
        main["volumeMounts"] = Value::Array(mounts);
    }
    main["env"] = Value::Array(env);

    // 7. Multinode: the backend's launch rules for this node.
    let node_extras = match &input.node {
        Some(node) => multinode(input, node, role, backend, &mut main, err)?,
        None => backend::PodExtras::default(),
    };

    // 8. Base pod spec, then extraPodSpec over it; operator volumes after the user's.
    let mut pod = json!({ "terminationGracePeriodSeconds": 60, "restartPolicy": "Always" });
    let user_pod = serde_json::to_value(&extra.pod_spec).expect("pod spec serialises");
    let user_containers = user_pod
        .get("containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    override_non_empty(&mut pod, &user_pod);
    let mut all_volumes = pod
        .get("volumes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    all_volumes.extend(volumes);
    all_volumes.extend(node_extras.volumes);
    if !all_volumes.is_empty() {
        pod["volumes"] = Value::Array(all_volumes);
    }
    if !node_extras.init_containers.is_empty() {
        let mut init = pod
            .get("initContainers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        init.extend(node_extras.init_containers);
        pod["initContainers"] = Value::Array(init);
    }
    // 9. fsGroup 1000 unless the user set any securityContext.
    if pod.get("securityContext").is_none() {
        pod["securityContext"] = json!({ "fsGroup": 1000 });
    }
    // 10. Service account, then containers with main last.
    if pod.get("serviceAccountName").is_none() {
        if role == Role::Planner {
            pod["serviceAccountName"] = json!(PLANNER_SERVICE_ACCOUNT);
        } else if discovery == "kubernetes" {
            pod["serviceAccountName"] = json!(format!("{}-k8s-service-discovery", input.graph));
        }
    }
    let mut containers = user_containers;
    containers.push(main);
    pod["containers"] = Value::Array(containers);

    Ok(json!({ "metadata": pod_metadata(input, role), "spec": pod }))
}

fn pod_metadata(input: &PodInputs<'_>, _role: Role) -> Value {
    let spec = &input.dcd.spec.component;
    let annotations = spec.annotations.clone().unwrap_or_default();
    let mut labels = input.labels.clone();
    if annotations
        .get(ANNOTATION_ENABLE_METRICS)
        .map(String::as_str)
        != Some("false")
    {
        labels.insert(LABEL_METRICS_ENABLED.into(), "true".into());
    }
    labels.insert(LABEL_GRAPH.into(), input.graph.into());
    labels.insert(LABEL_DYNAMO_NAMESPACE.into(), input.dynamo_namespace.into());
    if let Some(t) = &spec.component_type {
        labels.insert(LABEL_COMPONENT_TYPE.into(), t.clone());
    }
    if let Some(t) = &spec.sub_component_type {
        labels.insert(LABEL_SUB_COMPONENT_TYPE.into(), t.clone());
    }
    labels.insert(LABEL_SELECTOR.into(), input.workload.into());
    if let Some(node) = &input.node {
        labels.insert(LABEL_ROLE.into(), node.role.as_str().into());
    }
    let extra = spec.extra_pod_metadata.clone().unwrap_or_default();
    labels.extend(extra.labels.unwrap_or_default());
    let mut m = json!({ "labels": labels });
    if let Some(a) = extra.annotations.filter(|a| !a.is_empty()) {
        m["annotations"] = json!(a);
    }
    m
}

/// Checks a multinode service has what every backend's launch needs, then applies the
/// backend's rules to the main container; returns the volumes the pod needs for it.
fn multinode(
    input: &PodInputs<'_>,
    node: &Node<'_>,
    role: Role,
    backend: Option<BackendFramework>,
    main: &mut Value,
    err: &dyn Fn(Vec<String>, String) -> RenderError,
) -> Result<backend::PodExtras, RenderError> {
    let spec = &input.dcd.spec.component;
    let at = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    if role != Role::Worker {
        return Err(err(
            at(&["spec", "multinode"]),
            format!(
                "multinode is for workers (componentType worker, prefill or decode), not \"{}\"; remove multinode",
                spec.component_type.as_deref().unwrap_or_default()
            ),
        ));
    }
    let gpus = |item: Option<&crate::api::v1alpha1::ResourceItem>| {
        item.and_then(|i| i.gpu.as_deref())
            .and_then(|g| g.trim().parse::<i64>().ok())
            .filter(|g| *g > 0)
    };
    let resources = spec.resources.as_ref();
    let Some(gpu_limit) = gpus(resources.and_then(|r| r.limits.as_ref())) else {
        return Err(err(
            at(&["spec", "resources", "limits", "gpu"]),
            format!(
                "a multinode worker needs a whole number of GPUs per node in resources.limits.gpu (each of its {} nodes gets that many)",
                node.count
            ),
        ));
    };
    let Some(backend) = backend else {
        return Err(err(
            at(&["spec", "extraPodSpec", "mainContainer", "command"]),
            "cannot tell which engine this multinode worker runs, so not how to launch it across nodes: run python3 -m dynamo.vllm, dynamo.sglang or dynamo.trtllm in the command, or set backendFramework".to_string(),
        ));
    };
    let launch = Launch {
        node: *node,
        gpu_limit,
        gpus_per_node: gpus(resources.and_then(|r| r.requests.as_ref())).unwrap_or(gpu_limit),
        mpi_secret: input.opts.orchestrators.mpi_secret(),
        // The service's own annotations, then its pod annotations (v1beta1's podTemplate
        // metadata); the graph's were propagated into the former where the service has none.
        vllm_mp: backend::vllm::uses_mp(
            spec.annotations.iter().chain(
                spec.extra_pod_metadata
                    .iter()
                    .flat_map(|m| m.annotations.as_ref()),
            ),
        ),
    };
    backend::launch(backend, main, &launch)
        .map_err(|m| err(at(&["spec", "extraPodSpec", "mainContainer", "command"]), m))
}

fn standard_env(input: &PodInputs<'_>, namespace: &str, discovery: &str) -> Vec<Value> {
    let spec = &input.dcd.spec.component;
    let field = |path: &str| json!({ "fieldRef": { "fieldPath": path } });
    let mut env = vec![
        json!({ "name": "DYN_NAMESPACE", "value": input.dynamo_namespace }),
        json!({ "name": "DYN_COMPONENT", "value": spec.component_type.clone().unwrap_or_default() }),
        json!({ "name": "DYN_PARENT_DGD_K8S_NAME", "value": input.graph }),
        json!({ "name": "DYN_PARENT_DGD_K8S_NAMESPACE", "value": namespace }),
        json!({ "name": "POD_NAME", "valueFrom": field("metadata.name") }),
        json!({ "name": "POD_NAMESPACE", "valueFrom": field("metadata.namespace") }),
        json!({ "name": "POD_UID", "valueFrom": field("metadata.uid") }),
    ];
    if discovery != "etcd" {
        env.push(json!({ "name": "DYN_DISCOVERY_BACKEND", "value": "kubernetes" }));
    }
    let opts = input.opts;
    for (name, value) in [
        ("NATS_SERVER", &opts.nats_address),
        ("ETCD_ENDPOINTS", &opts.etcd_address),
        ("MODEL_EXPRESS_URL", &opts.model_express_url),
        ("PROMETHEUS_ENDPOINT", &opts.prometheus_endpoint),
    ] {
        if let Some(v) = value {
            env.push(json!({ "name": name, "value": v }));
        }
    }
    env
}

fn apply_resources(main: &mut Value, resources: Option<&crate::api::v1alpha1::Resources>) {
    let Some(r) = resources else { return };
    let mut set = |kind: &str, name: String, quantity: &str| {
        let res = main
            .as_object_mut()
            .expect("container")
            .entry("resources")
            .or_insert_with(|| json!({}));
        let map = res
            .as_object_mut()
            .expect("resources")
            .entry(kind)
            .or_insert_with(|| json!({}));
        map[name] = json!(quantity);
    };
    if let Some(l) = &r.limits {
        if let Some(v) = &l.cpu {
            set("limits", "cpu".into(), v)
        }
        if let Some(v) = &l.memory {
            set("limits", "memory".into(), v)
        }
        if let Some(v) = &l.gpu {
            set(
                "limits",
                l.gpu_type
                    .clone()
                    .unwrap_or_else(|| "nvidia.com/gpu".into()),
                v,
            )
        }
        for (k, v) in l.custom.iter().flatten() {
            set("limits", k.clone(), v)
        }
    }
    if let Some(q) = &r.requests {
        // requests.gpu is not copied: Kubernetes defaults extended-resource requests to limits.
        if let Some(v) = &q.cpu {
            set("requests", "cpu".into(), v)
        }
        if let Some(v) = &q.memory {
            set("requests", "memory".into(), v)
        }
        for (k, v) in q.custom.iter().flatten() {
            set("requests", k.clone(), v)
        }
    }
    if let Some(claims) = r.claims.as_ref().filter(|c| !c.is_empty()) {
        let res = main
            .as_object_mut()
            .expect("container")
            .entry("resources")
            .or_insert_with(|| json!({}));
        let list = res
            .as_object_mut()
            .expect("resources")
            .entry("claims")
            .or_insert_with(|| json!([]));
        if let Some(items) = list.as_array_mut() {
            items.extend(
                claims
                    .iter()
                    .map(|c| serde_json::to_value(c).expect("claim")),
            );
        }
    }
}

/// The backend a component's worker runs, from its own command (the role defaults never name
/// one) or its declared `backendFramework`.
pub(crate) fn backend_of(
    dcd: &DynamoComponentDeployment,
    err: &dyn Fn(Vec<String>, String) -> RenderError,
) -> Result<Option<BackendFramework>, RenderError> {
    let spec = &dcd.spec.component;
    let main = spec
        .extra_pod_spec
        .as_ref()
        .and_then(|e| e.main_container.as_ref())
        .map(|c| serde_json::to_value(c).expect("container serialises"))
        .unwrap_or(Value::Null);
    backend(dcd, Role::of(spec.component_type.as_deref()), &main, err)
}

/// The backend a worker runs: what its command says (`python3 -m dynamo.<backend>`), or else
/// the declared `backendFramework`. A command that contradicts the declaration is an error.
fn backend(
    dcd: &DynamoComponentDeployment,
    role: Role,
    main: &Value,
    err: &dyn Fn(Vec<String>, String) -> RenderError,
) -> Result<Option<BackendFramework>, RenderError> {
    let declared = dcd.spec.backend_framework;
    if role != Role::Worker {
        return Ok(declared);
    }
    let parts: Vec<&str> = ["command", "args"]
        .iter()
        .filter_map(|k| main.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let line = parts.join(" ");
    let found: Vec<BackendFramework> = [
        BackendFramework::Vllm,
        BackendFramework::Sglang,
        BackendFramework::Trtllm,
    ]
    .into_iter()
    .filter(|b| runs_module(&line, &format!("dynamo.{}", b.as_str())))
    .collect();
    let at = vec![
        "spec".to_string(),
        "extraPodSpec".into(),
        "mainContainer".into(),
        "command".into(),
    ];
    match (found.as_slice(), declared) {
        ([], d) => Ok(d),
        ([one], None) => Ok(Some(*one)),
        ([one], Some(d)) if *one == d => Ok(Some(d)),
        ([one], Some(d)) => Err(err(
            at,
            format!(
                "backend framework mismatch: the command runs dynamo.{} but backendFramework is {}",
                one.as_str(),
                d.as_str()
            ),
        )),
        (many, _) => Err(err(
            at,
            format!(
                "the command runs several backends ({}); run one per service",
                many.iter()
                    .map(|b| b.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Whether a probe names how to probe (`exec`, `httpGet`, `tcpSocket` or `grpc`).
fn has_handler(probe: &Value) -> bool {
    ["exec", "httpGet", "tcpSocket", "grpc"]
        .iter()
        .any(|h| probe.get(*h).is_some_and(|v| !v.is_null()))
}

/// Whether `line` runs `module` with Python, as upstream's pattern
/// `python[0-9.]*\s+[^|&;]*-m\s+[^|&;]*<module>` decides: within one shell segment (split at
/// `|`, `&`, `;`), a word starting `python` (plus version digits) and whitespace, later `-m`
/// and whitespace, later the module name. So `python3 -u -m dynamo.vllm` and
/// `/usr/bin/python3.12 -m dynamo.vllm` both run vLLM.
fn runs_module(line: &str, module: &str) -> bool {
    line.split(['|', '&', ';']).any(|segment| {
        segment.match_indices("python").any(|(at, word)| {
            let rest = segment[at + word.len()..]
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
            if !rest.starts_with(char::is_whitespace) {
                return false;
            }
            rest.match_indices("-m").any(|(m, flag)| {
                let after = &rest[m + flag.len()..];
                after.starts_with(char::is_whitespace) && after.contains(module)
            })
        })
    })
}
