//! The pod half of a component: v1alpha1's ten pod-shaping fields (`resources`, `envs`,
//! `envFromSecret`, `volumeMounts`, probes, `extraPodSpec`, `extraPodMetadata`) composed into
//! one v1beta1 `podTemplate` whose container `main` is the Dynamo container, and back. The
//! composition mirrors what render does with the v1alpha1 fields, so both shapes render to the
//! same pod; what the composition loses is preserved by [`super::preserve`].

use serde_json::{Map, Value, json};

use crate::api::v1alpha1::{
    ComponentSpec, ExtraPodMetadata, ExtraPodSpec, ResourceItem, Resources,
};

/// Name of the Dynamo container in a v1beta1 pod template.
pub const MAIN_CONTAINER: &str = "main";
const DEFAULT_GPU: &str = "nvidia.com/gpu";

/// The v1beta1 `podTemplate` for a v1alpha1 component, or `None` when the component sets
/// none of the pod-shaping fields. Non-cache `volumeMounts` become a PVC volume and a mount
/// of `main`; the compilation cache is the component's `compilationCache` instead.
pub fn compose(a: &ComponentSpec) -> Option<Value> {
    let extra = a.extra_pod_spec.clone().unwrap_or_default();
    let mut main = extra
        .main_container
        .as_ref()
        .map(|c| serde_json::to_value(c).expect("container serialises"))
        .unwrap_or_else(|| json!({}));
    let main_map = main.as_object_mut().expect("container is an object");
    main_map.remove("name");
    if let Some(p) = &a.liveness_probe {
        main_map.insert("livenessProbe".into(), to_value(p));
    }
    if let Some(p) = &a.readiness_probe {
        main_map.insert("readinessProbe".into(), to_value(p));
    }
    let own_env: Vec<Value> = main_map
        .get("env")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let service_env: Vec<Value> = a.envs.iter().flatten().map(to_value).collect();
    if !service_env.is_empty() {
        let env = if own_env.is_empty() {
            service_env
        } else {
            env_by_name(&own_env, &service_env)
        };
        main_map.insert("env".into(), Value::Array(env));
    }
    if let Some(r) = &a.resources {
        apply_resources(main_map, r);
    }
    if let Some(secret) = &a.env_from_secret {
        push(
            main_map,
            "envFrom",
            json!({ "secretRef": { "name": secret } }),
        );
    }
    let mut pod = serde_json::to_value(&extra.pod_spec).expect("pod spec serialises");
    let pod_map = pod.as_object_mut().expect("pod spec is an object");
    let sidecars: Vec<Value> = pod_map
        .remove("containers")
        .and_then(|c| c.as_array().cloned())
        .unwrap_or_default();
    for vm in a.volume_mounts.iter().flatten() {
        if vm.use_as_compilation_cache == Some(true) {
            continue;
        }
        let mount_path = vm.mount_point.clone().unwrap_or_default();
        push(
            main_map,
            "volumeMounts",
            json!({ "name": vm.name, "mountPath": mount_path }),
        );
        push(
            pod_map,
            "volumes",
            json!({ "name": vm.name, "persistentVolumeClaim": { "claimName": vm.name } }),
        );
    }
    let metadata = a
        .extra_pod_metadata
        .as_ref()
        .map(|m| serde_json::to_value(m).expect("metadata serialises"))
        .filter(|m| m.as_object().is_some_and(|m| !m.is_empty()));
    if main_map.is_empty() && pod_map.is_empty() && sidecars.is_empty() && metadata.is_none() {
        return None;
    }
    let mut named = Map::new();
    named.insert("name".into(), json!(MAIN_CONTAINER));
    named.extend(std::mem::take(main_map));
    let mut containers = vec![Value::Object(named)];
    containers.extend(sidecars);
    pod_map.insert("containers".into(), Value::Array(containers));
    let mut template = Map::new();
    if let Some(m) = metadata {
        template.insert("metadata".into(), m);
    }
    template.insert("spec".into(), pod);
    Some(Value::Object(template))
}

/// Splits a v1beta1 `podTemplate` into v1alpha1 fields of `a`: pod metadata into
/// `extraPodMetadata`; `main`'s env, probes and resources into `envs`, the probes and
/// `resources`; the rest of `main` into `extraPodSpec.mainContainer`; the rest of the pod
/// (sidecars included) into `extraPodSpec`. A mount of `main` equal to the compilation cache
/// (`cache`: claim name and mount path) is dropped: the cache mounts it.
pub fn decompose(
    template: &Value,
    cache: Option<(&str, Option<&str>)>,
    a: &mut ComponentSpec,
) -> Result<(), String> {
    if let Some(meta) = template.get("metadata").and_then(Value::as_object) {
        let pick = |k: &str| {
            meta.get(k)
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .filter(|m: &std::collections::BTreeMap<String, String>| !m.is_empty())
        };
        let m = ExtraPodMetadata {
            annotations: pick("annotations"),
            labels: pick("labels"),
        };
        if m.annotations.is_some() || m.labels.is_some() {
            a.extra_pod_metadata = Some(m);
        }
    }
    let mut pod = template.get("spec").cloned().unwrap_or_else(|| json!({}));
    let pod_map = pod
        .as_object_mut()
        .ok_or("podTemplate.spec is not an object")?;
    let containers = pod_map
        .remove("containers")
        .and_then(|c| c.as_array().cloned())
        .unwrap_or_default();
    let mut main: Option<Map<String, Value>> = None;
    let mut sidecars = Vec::new();
    for c in containers {
        if main.is_none() && c.get("name").and_then(Value::as_str) == Some(MAIN_CONTAINER) {
            main = c.as_object().cloned();
        } else {
            sidecars.push(c);
        }
    }
    if let Some(m) = main.as_mut() {
        m.remove("name");
        if let Some(env) = m
            .remove("env")
            .filter(|e| e.as_array().is_some_and(|e| !e.is_empty()))
        {
            a.envs = Some(from_value(env, "env")?);
        }
        if let Some(p) = m.remove("livenessProbe") {
            a.liveness_probe = Some(from_value(p, "livenessProbe")?);
        }
        if let Some(p) = m.remove("readinessProbe") {
            a.readiness_probe = Some(from_value(p, "readinessProbe")?);
        }
        if let Some(r) = m.remove("resources") {
            a.resources = resources_from_native(&r)?.map(Box::new);
        }
        // A trailing plain secretRef is v1alpha1's envFromSecret (render appends it last).
        if let Some(Value::Array(from)) = m.get_mut("envFrom") {
            let secret = from.last().and_then(|last| {
                let name = last.pointer("/secretRef/name")?.as_str()?;
                let plain =
                    last.as_object()?.len() == 1 && last.get("secretRef")?.as_object()?.len() == 1;
                plain.then(|| name.to_string())
            });
            if let Some(secret) = secret {
                from.pop();
                a.env_from_secret = Some(secret);
            }
            if from.is_empty() {
                m.remove("envFrom");
            }
        }
        if let (Some((claim, path)), Some(Value::Array(mounts))) =
            (cache, m.get_mut("volumeMounts"))
        {
            if let Some(i) = mounts.iter().position(|v| {
                v.get("name").and_then(Value::as_str) == Some(claim)
                    && v.get("mountPath").and_then(Value::as_str) == path
                    && v.as_object().is_some_and(|o| o.len() == 2)
            }) {
                mounts.remove(i);
            }
            if mounts.is_empty() {
                m.remove("volumeMounts");
            }
        }
    }
    if !sidecars.is_empty() {
        pod_map.insert("containers".into(), Value::Array(sidecars));
    }
    let main_container = match main.filter(|m| !m.is_empty()) {
        Some(m) => Some(from_value(Value::Object(m), "main container")?),
        None => None,
    };
    if !pod_map.is_empty() || main_container.is_some() {
        a.extra_pod_spec = Some(Box::new(ExtraPodSpec {
            pod_spec: from_value(pod, "podTemplate.spec")?,
            main_container,
        }));
    }
    Ok(())
}

/// v1alpha1 `resources` written into a container's `resources`, key by key, as render does,
/// `gpu` under `gpuType` (default `nvidia.com/gpu`); unlike render, `requests.gpu` is kept
/// (as upstream's conversion keeps it).
fn apply_resources(main: &mut Map<String, Value>, r: &Resources) {
    let res = main.entry("resources").or_insert_with(|| json!({}));
    let mut set = |kind: &str, name: &str, quantity: &str| {
        res[kind][name] = json!(quantity);
    };
    if let Some(l) = &r.limits {
        for (name, q) in [("cpu", &l.cpu), ("memory", &l.memory)] {
            if let Some(q) = q {
                set("limits", name, q);
            }
        }
        if let Some(q) = &l.gpu {
            set("limits", l.gpu_type.as_deref().unwrap_or(DEFAULT_GPU), q);
        }
        for (k, q) in l.custom.iter().flatten() {
            set("limits", k, q);
        }
    }
    if let Some(q) = &r.requests {
        for (name, v) in [("cpu", &q.cpu), ("memory", &q.memory)] {
            if let Some(v) = v {
                set("requests", name, v);
            }
        }
        if let Some(v) = &q.gpu {
            set("requests", q.gpu_type.as_deref().unwrap_or(DEFAULT_GPU), v);
        }
        for (k, v) in q.custom.iter().flatten() {
            set("requests", k, v);
        }
    }
    if let Some(claims) = r.claims.as_ref().filter(|c| !c.is_empty()) {
        for c in claims {
            let list = res
                .as_object_mut()
                .expect("resources is an object")
                .entry("claims")
                .or_insert_with(|| json!([]));
            if let Some(items) = list.as_array_mut() {
                items.push(to_value(c));
            }
        }
    }
    if res.as_object().is_some_and(Map::is_empty) {
        main.remove("resources");
    }
}

/// A container's `resources` as v1alpha1 `resources`: `cpu` and `memory` by name, the
/// `nvidia.com/gpu` limit as `gpu`, everything else (GPU requests included) as `custom`.
fn resources_from_native(r: &Value) -> Result<Option<Resources>, String> {
    let item = |kind: &str| -> Result<Option<ResourceItem>, String> {
        let Some(map) = r.get(kind).and_then(Value::as_object) else {
            return Ok(None);
        };
        let mut item = ResourceItem::default();
        let mut custom = std::collections::BTreeMap::new();
        for (k, v) in map {
            let q = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => return Err(format!("resources.{kind}.{k}: {other} is not a quantity")),
            };
            match k.as_str() {
                "cpu" => item.cpu = Some(q),
                "memory" => item.memory = Some(q),
                DEFAULT_GPU if kind == "limits" => item.gpu = Some(q),
                _ => {
                    custom.insert(k.clone(), q);
                }
            }
        }
        if !custom.is_empty() {
            item.custom = Some(custom);
        }
        Ok(Some(item))
    };
    let out = Resources {
        limits: item("limits")?,
        requests: item("requests")?,
        claims: match r.get("claims") {
            Some(c) if c.as_array().is_some_and(|c| !c.is_empty()) => {
                Some(from_value(c.clone(), "resources.claims")?)
            }
            _ => None,
        },
    };
    Ok((out != Resources::default()).then_some(out))
}

/// Env lists merged by name, `overlay` winning (render merges them the same way, then sorts;
/// here the written order is kept so that the common case round-trips without a payload).
fn env_by_name(base: &[Value], overlay: &[Value]) -> Vec<Value> {
    let name = |e: &Value| e.get("name").and_then(Value::as_str).map(str::to_string);
    let mut out: Vec<Value> = Vec::new();
    for e in base.iter().chain(overlay) {
        match out.iter_mut().find(|o| name(o) == name(e)) {
            Some(slot) => *slot = e.clone(),
            None => out.push(e.clone()),
        }
    }
    out
}

fn push(map: &mut Map<String, Value>, key: &str, item: Value) {
    let list = map.entry(key).or_insert_with(|| json!([]));
    if let Some(items) = list.as_array_mut() {
        items.push(item);
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("API types serialise")
}

fn from_value<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("{what}: {e}"))
}
