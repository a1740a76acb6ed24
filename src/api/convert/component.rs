//! One component, field by field: v1alpha1 `ComponentSpec` to v1beta1 `Component` and back,
//! as upstream maps them (`api/v1alpha1/shared_spec_conversion.go` at 2a6da14). These
//! projections are lossy on their own; [`super::preserve`] makes the round trips exact.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde_json::{Map, Value};

use super::pod;
use crate::api::v1alpha1::{ComponentSpec, ScalingAdapter, SharedMemorySpec, VolumeMount};
use crate::api::v1beta1::{CompilationCache, Component, ComponentType, ScalingAdapterMarker};

/// v1alpha1 → v1beta1 for the component called `name`.
pub fn to_beta(a: &ComponentSpec, name: &str) -> Component {
    let cache = a
        .volume_mounts
        .iter()
        .flatten()
        .find(|vm| vm.use_as_compilation_cache == Some(true));
    Component {
        provider_override: a.provider_override.clone(),
        name: name.to_string(),
        component_type: type_to_beta(a),
        runtime_version_override: a.runtime_version_override.clone(),
        global_dynamo_namespace: a.global_dynamo_namespace,
        pod_template: pod::compose(a).map(|t| {
            serde_json::from_value(t).expect("composed pod template is a PodTemplateSpec")
        }),
        replicas: a.replicas,
        min_available: a.min_available,
        multinode: a.multinode.clone(),
        shared_memory_size: a.shared_memory.as_ref().and_then(|s| {
            if s.disabled == Some(true) {
                Some(Quantity("0".into()))
            } else {
                s.size.clone()
            }
        }),
        model_ref: a.model_ref.clone(),
        scaling_adapter: a
            .scaling_adapter
            .as_ref()
            .filter(|s| s.enabled == Some(true))
            .map(|_| ScalingAdapterMarker {}),
        epp_config: a.epp_config.clone(),
        frontend_sidecar: None,
        compilation_cache: cache.map(|vm| CompilationCache {
            pvc_name: vm.name.clone(),
            mount_path: vm.mount_point.clone(),
        }),
        topology_constraint: a.topology_constraint.clone(),
        experimental: experimental_to_beta(a),
    }
}

/// v1beta1 → v1alpha1. The name is not part of the result: it is the services-map key of a
/// graph, or `serviceName` of a DynamoComponentDeployment (the caller sets it).
pub fn to_alpha(b: &Component) -> Result<ComponentSpec, String> {
    let (component_type, sub_component_type) = match b.component_type {
        Some(t @ (ComponentType::Prefill | ComponentType::Decode)) => {
            (Some("worker".to_string()), Some(t.as_str().to_string()))
        }
        Some(t) => (Some(t.as_str().to_string()), None),
        None => (None, None),
    };
    let mut a = ComponentSpec {
        provider_override: b.provider_override.clone(),
        component_type,
        sub_component_type,
        runtime_version_override: b.runtime_version_override.clone(),
        global_dynamo_namespace: b.global_dynamo_namespace,
        replicas: b.replicas,
        min_available: b.min_available,
        multinode: b.multinode.clone(),
        model_ref: b.model_ref.clone(),
        epp_config: b.epp_config.clone(),
        topology_constraint: b.topology_constraint.clone(),
        shared_memory: b.shared_memory_size.as_ref().map(|q| {
            if is_zero(q) {
                SharedMemorySpec {
                    disabled: Some(true),
                    size: Some(q.clone()),
                }
            } else {
                SharedMemorySpec {
                    disabled: None,
                    size: Some(q.clone()),
                }
            }
        }),
        scaling_adapter: b.scaling_adapter.as_ref().map(|_| ScalingAdapter {
            disable: None,
            enabled: Some(true),
        }),
        ..ComponentSpec::default()
    };
    if let Some(c) = &b.compilation_cache {
        a.volume_mounts = Some(vec![VolumeMount {
            name: c.pvc_name.clone(),
            mount_point: c.mount_path.clone(),
            use_as_compilation_cache: Some(true),
        }]);
    }
    experimental_to_alpha(b.experimental.as_ref(), &mut a);
    if let Some(t) = &b.pod_template {
        let cache = b
            .compilation_cache
            .as_ref()
            .map(|c| (c.pvc_name.as_str(), c.mount_path.as_deref()));
        let template = serde_json::to_value(t).expect("pod template serialises");
        pod::decompose(&template, cache, &mut a)?;
    }
    Ok(a)
}

/// `worker` with subComponentType `prefill`/`decode` is the v1beta1 type `prefill`/`decode`;
/// a componentType outside the v1beta1 enum has no v1beta1 home (it is preserved).
fn type_to_beta(a: &ComponentSpec) -> Option<ComponentType> {
    let sub = a.sub_component_type.as_deref();
    if a.component_type.as_deref() == Some("worker") && matches!(sub, Some("prefill" | "decode")) {
        return sub.and_then(ComponentType::parse);
    }
    a.component_type.as_deref().and_then(ComponentType::parse)
}

/// v1alpha1 `gpuMemoryService`/`failover` (with `enabled`) and `checkpoint` become
/// `experimental.{gpuMemoryService,failover,checkpoint}`; disabled ones have no home.
fn experimental_to_beta(a: &ComponentSpec) -> Option<Value> {
    let mut out = Map::new();
    for (key, value) in [
        ("gpuMemoryService", &a.gpu_memory_service),
        ("failover", &a.failover),
    ] {
        if let Some(Value::Object(v)) = value
            && v.get("enabled") == Some(&Value::Bool(true))
        {
            let mut v = v.clone();
            v.remove("enabled");
            out.insert(key.into(), Value::Object(v));
        }
    }
    if let Some(c) = &a.checkpoint {
        out.insert("checkpoint".into(), c.clone());
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

fn experimental_to_alpha(experimental: Option<&Value>, a: &mut ComponentSpec) {
    let Some(e) = experimental.and_then(Value::as_object) else {
        return;
    };
    let enabled = |v: &Value| {
        let mut m = v.as_object().cloned().unwrap_or_default();
        m.insert("enabled".into(), Value::Bool(true));
        Value::Object(m)
    };
    a.gpu_memory_service = e.get("gpuMemoryService").map(enabled);
    a.failover = e.get("failover").map(enabled);
    a.checkpoint = e.get("checkpoint").cloned();
}

/// Whether a quantity is zero (`0`, `0Gi`, `0.0`...): v1beta1's way to turn shared memory off.
fn is_zero(q: &Quantity) -> bool {
    let digits: String =
        q.0.chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '+' || *c == '-')
            .collect();
    digits.parse::<f64>().is_ok_and(|n| n == 0.0)
}
