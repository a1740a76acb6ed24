//! Whole objects: DynamoGraphDeployment and DynamoComponentDeployment in both directions,
//! metadata copied, private payloads read, scrubbed and written (see [`super::preserve`]).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::ConvertError;
use super::component::{to_alpha, to_beta};
use super::preserve::{
    DCD_SPEC, DCD_STATUS, DGD_SPEC, DGD_STATUS, diff, put_spec, put_status, restore, scrub,
    take_spec, take_status,
};
use crate::api::v1alpha1 as alpha;
use crate::api::v1beta1 as beta;

/// v1alpha1 → v1beta1 DynamoGraphDeployment.
pub fn graph_to_beta(
    src: &alpha::DynamoGraphDeployment,
) -> Result<beta::DynamoGraphDeployment, ConvertError> {
    let mut metadata = src.metadata.clone();
    let restored = take_spec(&mut metadata.annotations, DGD_SPEC);
    take_status(&mut metadata.annotations, DGD_STATUS);
    scrub(&mut metadata.annotations);

    let mut a_level = to_map(&src.spec);
    a_level.remove("services");
    let b_saved_level = without(&restored, "components");
    let level = restore(
        level_to_beta(&a_level),
        &b_saved_level,
        |cand| Some(Value::Object(level_to_alpha(cand))),
        &Value::Object(a_level.clone()),
    );
    let mut save = diff(&a_level, &level_to_alpha(&level));

    let saved_components: Vec<Map<String, Value>> = restored
        .get("components")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(|c| c.as_object().cloned()).collect())
        .unwrap_or_default();
    let saved_by_name: BTreeMap<String, &Map<String, Value>> = saved_components
        .iter()
        .filter_map(|c| Some((c.get("name")?.as_str()?.to_string(), c)))
        .collect();
    let mut components = None;
    let mut service_saves = Map::new();
    if let Some(services) = &src.spec.services {
        // The saved order first (names still present), then the rest sorted. A sorted saved
        // list carries no order (only components with something saved are listed then).
        let saved_names: Vec<&str> = saved_components
            .iter()
            .filter_map(|c| c.get("name").and_then(Value::as_str))
            .collect();
        let saved_order = if saved_names.windows(2).all(|w| w[0] <= w[1]) {
            &[][..]
        } else {
            &saved_names[..]
        };
        let mut order: Vec<&String> = Vec::new();
        for n in saved_order.iter().copied() {
            if let Some((k, _)) = services.get_key_value(n)
                && !order.contains(&k)
            {
                order.push(k);
            }
        }
        let rest: Vec<&String> = services.keys().filter(|k| !order.contains(k)).collect();
        order.extend(rest);
        let mut list = Vec::new();
        for name in order {
            let a_c = &services[name];
            let live = to_value(a_c);
            let projected = to_map(&to_beta(a_c, name));
            let b_c = match saved_by_name.get(name) {
                Some(saved) => restore(projected, saved, component_alpha, &live),
                None => projected,
            };
            let b_c: beta::Component = from_map(b_c, &["spec", "services", name])?;
            let back = to_map(&to_alpha(&b_c).map_err(|e| err(&["spec", "services", name], e))?);
            let d = diff(as_map(&live), &back);
            if !d.is_empty() {
                service_saves.insert(name.clone(), Value::Object(d));
            }
            list.push(b_c);
        }
        components = Some(list);
    }
    if !service_saves.is_empty() {
        save.insert("services".into(), Value::Object(service_saves));
    }
    put_spec(&mut metadata.annotations, DGD_SPEC, save);

    let mut level: beta::DynamoGraphDeploymentSpec = from_map(level, &["spec"])?;
    level.components = components;
    let status = src
        .status
        .as_ref()
        .map(|s| beta::DynamoGraphDeploymentStatus {
            observed_generation: s.observed_generation,
            state: s.state.clone(),
            conditions: s.conditions.clone(),
            components: s.services.clone(),
            restart: s.restart.clone(),
        });
    Ok(beta::DynamoGraphDeployment {
        metadata,
        spec: level,
        status,
    })
}

/// v1beta1 → v1alpha1 DynamoGraphDeployment. Component names must be unique.
pub fn graph_to_alpha(
    src: &beta::DynamoGraphDeployment,
) -> Result<alpha::DynamoGraphDeployment, ConvertError> {
    let mut metadata = src.metadata.clone();
    let restored = take_spec(&mut metadata.annotations, DGD_SPEC);
    take_status(&mut metadata.annotations, DGD_STATUS);
    scrub(&mut metadata.annotations);

    let mut b_level = to_map(&src.spec);
    b_level.remove("components");
    let level = restore(
        level_to_alpha(&b_level),
        &without(&restored, "services"),
        |cand| Some(Value::Object(level_to_beta(cand))),
        &Value::Object(b_level.clone()),
    );
    let mut save = diff(&b_level, &level_to_beta(&level));

    let saved_services = restored
        .get("services")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut services = None;
    if let Some(list) = &src.spec.components {
        let mut map = BTreeMap::new();
        let mut saved_list = Vec::new();
        for (i, b_c) in list.iter().enumerate() {
            let at = ["spec".to_string(), "components".into(), i.to_string()];
            let at: Vec<&str> = at.iter().map(String::as_str).collect();
            if map.contains_key(&b_c.name) {
                return Err(err(
                    &[at.as_slice(), &["name"]].concat(),
                    format!(
                        "duplicate component name \"{}\": component names must be unique",
                        b_c.name
                    ),
                ));
            }
            let live = to_value(b_c);
            let projected = to_map(&to_alpha(b_c).map_err(|e| err(&at, e))?);
            let a_c = match saved_services.get(&b_c.name).and_then(Value::as_object) {
                Some(saved) => restore(
                    projected,
                    saved,
                    |cand| {
                        let a: alpha::ComponentSpec =
                            serde_json::from_value(Value::Object(cand.clone())).ok()?;
                        Some(to_value(&to_beta(&a, &b_c.name)))
                    },
                    &live,
                ),
                None => projected,
            };
            let a_c: alpha::ComponentSpec = from_map(a_c, &at)?;
            let mut d = diff(as_map(&live), &to_map(&to_beta(&a_c, &b_c.name)));
            d.insert("name".into(), Value::String(b_c.name.clone()));
            saved_list.push(d);
            map.insert(b_c.name.clone(), Box::new(a_c));
        }
        // Order is kept only when the list is not sorted by name; otherwise only components
        // with something to save are listed.
        let sorted = list.windows(2).all(|w| w[0].name <= w[1].name);
        let saved_list: Vec<Value> = saved_list
            .into_iter()
            .filter(|d| !sorted || d.len() > 1)
            .map(Value::Object)
            .collect();
        if !saved_list.is_empty() {
            save.insert("components".into(), Value::Array(saved_list));
        }
        services = Some(map);
    }
    put_spec(&mut metadata.annotations, DGD_SPEC, save);

    let mut spec: alpha::DynamoGraphDeploymentSpec = from_map(level, &["spec"])?;
    spec.services = services;
    let status = src
        .status
        .as_ref()
        .map(|s| alpha::DynamoGraphDeploymentStatus {
            observed_generation: s.observed_generation,
            state: s.state.clone(),
            conditions: s.conditions.clone(),
            services: s.components.clone(),
            restart: s.restart.clone(),
        });
    Ok(alpha::DynamoGraphDeployment {
        metadata,
        spec,
        status,
    })
}

/// v1alpha1 → v1beta1 DynamoComponentDeployment. The component's name is `serviceName`, or
/// the object's name when that is unset (as upstream's defaulting does).
pub fn component_to_beta(
    src: &alpha::DynamoComponentDeployment,
) -> Result<beta::DynamoComponentDeployment, ConvertError> {
    let mut metadata = src.metadata.clone();
    let restored = take_spec(&mut metadata.annotations, DCD_SPEC);
    take_status(&mut metadata.annotations, DCD_STATUS);
    scrub(&mut metadata.annotations);
    let live = to_value(&src.spec);
    let name = dcd_name(&src.spec, metadata.name.as_deref().unwrap_or_default());
    let projected = to_map(&dcd_spec_to_beta(&src.spec, &name));
    let b = restore(projected, &restored, dcd_spec_alpha, &live);
    let back = dcd_spec_alpha(&b).ok_or_else(|| err(&["spec"], "cannot be converted".into()))?;
    put_spec(
        &mut metadata.annotations,
        DCD_SPEC,
        diff(as_map(&live), as_map(&back)),
    );
    let spec: beta::DynamoComponentDeploymentSpec = from_map(b, &["spec"])?;
    let mut status_save = Map::new();
    let status = src.status.as_ref().map(|s| {
        if let Some(sel) = &s.pod_selector {
            status_save.insert("podSelector".into(), to_value(sel));
        }
        beta::DynamoComponentDeploymentStatus {
            observed_generation: s.observed_generation,
            conditions: s.conditions.clone(),
            component: s.service.clone(),
        }
    });
    put_status(&mut metadata.annotations, DCD_STATUS, status_save);
    Ok(beta::DynamoComponentDeployment {
        metadata,
        spec,
        status,
    })
}

/// v1beta1 → v1alpha1 DynamoComponentDeployment.
pub fn component_to_alpha(
    src: &beta::DynamoComponentDeployment,
) -> Result<alpha::DynamoComponentDeployment, ConvertError> {
    let mut metadata = src.metadata.clone();
    let restored = take_spec(&mut metadata.annotations, DCD_SPEC);
    let restored_status = take_status(&mut metadata.annotations, DCD_STATUS);
    scrub(&mut metadata.annotations);
    let live = to_value(&src.spec);
    let projected = dcd_spec_alpha(as_map(&live))
        .ok_or_else(|| err(&["spec"], "cannot be converted".into()))?;
    let object_name = metadata.name.clone().unwrap_or_default();
    let project = |cand: &Map<String, Value>| {
        let a: alpha::DynamoComponentDeploymentSpec =
            serde_json::from_value(Value::Object(cand.clone())).ok()?;
        let name = dcd_name(&a, &object_name);
        Some(to_value(&dcd_spec_to_beta(&a, &name)))
    };
    let a = restore(as_map(&projected).clone(), &restored, project, &live);
    let back = project(&a).ok_or_else(|| err(&["spec"], "cannot be converted".into()))?;
    put_spec(
        &mut metadata.annotations,
        DCD_SPEC,
        diff(as_map(&live), as_map(&back)),
    );
    let spec: alpha::DynamoComponentDeploymentSpec = from_map(a, &["spec"])?;
    let status = src
        .status
        .as_ref()
        .map(|s| alpha::DynamoComponentDeploymentStatus {
            observed_generation: s.observed_generation,
            conditions: s.conditions.clone(),
            pod_selector: restored_status
                .get("podSelector")
                .and_then(|v| serde_json::from_value(v.clone()).ok()),
            service: s.component.clone(),
        });
    Ok(alpha::DynamoComponentDeployment {
        metadata,
        spec,
        status,
    })
}

/// The v1beta1 name of a component deployment: its `serviceName`, else the object's name.
fn dcd_name(a: &alpha::DynamoComponentDeploymentSpec, object_name: &str) -> String {
    a.component
        .service_name
        .clone()
        .unwrap_or_else(|| object_name.to_string())
}

fn dcd_spec_to_beta(
    a: &alpha::DynamoComponentDeploymentSpec,
    name: &str,
) -> beta::DynamoComponentDeploymentSpec {
    beta::DynamoComponentDeploymentSpec {
        backend_framework: a.backend_framework,
        component: to_beta(&a.component, name),
    }
}

/// The v1alpha1 spec (as JSON) of a v1beta1 DCD spec given as JSON; `None` if unreadable.
fn dcd_spec_alpha(b: &Map<String, Value>) -> Option<Value> {
    let b: beta::DynamoComponentDeploymentSpec =
        serde_json::from_value(Value::Object(b.clone())).ok()?;
    let mut component = to_alpha(&b.component).ok()?;
    component.service_name = Some(b.component.name.clone()).filter(|n| !n.is_empty());
    Some(to_value(&alpha::DynamoComponentDeploymentSpec {
        backend_framework: b.backend_framework,
        component,
    }))
}

/// The v1alpha1 component (as JSON) of a v1beta1 component given as JSON.
fn component_alpha(b: &Map<String, Value>) -> Option<Value> {
    let b: beta::Component = serde_json::from_value(Value::Object(b.clone())).ok()?;
    Some(to_value(&to_alpha(&b).ok()?))
}

/// Graph-level fields (everything but the services/components): `envs` is `env`, `pvcs` has
/// no v1beta1 home.
fn level_to_beta(a: &Map<String, Value>) -> Map<String, Value> {
    let mut b = a.clone();
    b.remove("pvcs");
    if let Some(env) = b.remove("envs") {
        b.insert("env".into(), env);
    }
    b
}

fn level_to_alpha(b: &Map<String, Value>) -> Map<String, Value> {
    let mut a = b.clone();
    if let Some(env) = a.remove("env") {
        a.insert("envs".into(), env);
    }
    a
}

fn without(m: &Map<String, Value>, key: &str) -> Map<String, Value> {
    let mut m = m.clone();
    m.remove(key);
    m
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("API types serialise")
}

fn to_map<T: serde::Serialize>(v: &T) -> Map<String, Value> {
    match to_value(v) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn as_map(v: &Value) -> &Map<String, Value> {
    v.as_object().expect("specs serialise as objects")
}

fn from_map<T: serde::de::DeserializeOwned>(
    m: Map<String, Value>,
    at: &[&str],
) -> Result<T, ConvertError> {
    serde_json::from_value(Value::Object(m)).map_err(|e| err(at, e.to_string()))
}

fn err(at: &[&str], message: String) -> ConvertError {
    ConvertError {
        path: at.iter().map(|s| s.to_string()).collect(),
        message,
    }
}
