//! What a DynamoModel pass decides, as pure functions: the worker endpoints its base model's
//! EndpointSlices name, and the status (endpoints, counts, `ServicesFound` and
//! `EndpointsReady`) once the LoRA was loaded, or not, on each of them. The controller
//! (`controller::model`) does the I/O around these.
//!
//! As upstream: every pod-backed endpoint is a candidate, whether its slice calls it ready or
//! not (a LoRA load decides readiness), a pod listed twice counts once, and a LoRA model is
//! ready when every endpoint loaded it. Unlike upstream the port is the slice's `system`
//! port (the model Service's only port, 9090 when the slice names none), so endpoints that
//! are not on 9090 can be reached too.

use std::collections::BTreeSet;

use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::condition::{Observed, condition};
use crate::api::model::{
    CONDITION_ENDPOINTS_READY, CONDITION_SERVICES_FOUND, DynamoModel, DynamoModelStatus,
    EndpointInfo, SYSTEM_PORT, SYSTEM_PORT_NAME,
};

/// `ServicesFound` reason: the base model's Service has EndpointSlices.
pub const REASON_SERVICES_FOUND: &str = "ServicesFound";
/// `ServicesFound` reason: no Service (or no EndpointSlice of one) for the base model.
pub const REASON_NO_SERVICES_FOUND: &str = "NoServicesFound";
/// `EndpointsReady` reason: the LoRA is loaded on every endpoint.
pub const REASON_ALL_ENDPOINTS_READY: &str = "AllEndpointsReady";
/// `EndpointsReady` reason: a base model's endpoints were found.
pub const REASON_ENDPOINTS_DISCOVERED: &str = "EndpointsDiscovered";
/// `EndpointsReady` reason: some endpoint did not load the LoRA.
pub const REASON_NOT_READY: &str = "NotReady";
/// `EndpointsReady` reason: no endpoint at all.
pub const REASON_NO_ENDPOINTS: &str = "NoEndpoints";

/// Label of an EndpointSlice naming its Service.
const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";

/// One worker endpoint to load the LoRA on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Base URL, `http://<address>:<port>`.
    pub address: String,
    /// The pod behind it.
    pub pod_name: String,
}

/// What the EndpointSlices of a base model name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovered {
    /// Pod-backed endpoints, one per pod, in slice-name order.
    pub candidates: Vec<Candidate>,
    /// The Services the slices belong to.
    pub services: BTreeSet<String>,
}

/// The endpoints of `slices` (the slices labelled with the base model's hash): the first
/// address of every endpoint that is a Pod, once per pod.
pub fn discover(slices: &[&EndpointSlice]) -> Discovered {
    let mut slices: Vec<&EndpointSlice> = slices.to_vec();
    slices.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut out = Discovered::default();
    let mut seen = BTreeSet::new();
    for slice in slices {
        if let Some(service) = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL_SERVICE_NAME))
            .filter(|s| !s.is_empty())
        {
            out.services.insert(service.clone());
        }
        let port = slice
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(SYSTEM_PORT_NAME))
            .and_then(|p| p.port)
            .unwrap_or(SYSTEM_PORT);
        for endpoint in &slice.endpoints {
            let Some(pod) = endpoint
                .target_ref
                .as_ref()
                .filter(|r| r.kind.as_deref() == Some("Pod"))
            else {
                continue;
            };
            let Some(address) = endpoint.addresses.first() else {
                continue;
            };
            let pod_name = pod.name.clone().unwrap_or_default();
            let key = pod
                .uid
                .clone()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| pod_name.clone());
            if !seen.insert(key) {
                continue;
            }
            out.candidates.push(Candidate {
                address: base_url(address, port),
                pod_name,
            });
        }
    }
    out
}

/// `http://host:port`, with an IPv6 address in brackets.
fn base_url(host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("http://[{host}]:{port}")
    } else {
        format!("http://{host}:{port}")
    }
}

/// The status after a pass. `loads` is `None` for a model that is not a LoRA (nothing is
/// loaded), otherwise one result per candidate, in order: `Err` says why the load failed.
pub fn model_status(
    model: &DynamoModel,
    found: &Discovered,
    loads: Option<&[Result<(), String>]>,
    now: &Time,
) -> DynamoModelStatus {
    let previous = model.status.as_ref().and_then(|s| s.conditions.as_deref());
    let generation = model.metadata.generation;
    let cond = |type_: &'static str, ok: bool, reason: &'static str, message: String| {
        let status = if ok { "True" } else { "False" };
        let observed = Observed {
            type_,
            status,
            reason,
            message,
            observed_generation: generation,
        };
        condition(observed, previous, now)
    };
    if found.candidates.is_empty() {
        let message = format!(
            "No endpoint slices found for base model {}",
            model.spec.base_model_name
        );
        return DynamoModelStatus {
            conditions: Some(vec![
                cond(
                    CONDITION_SERVICES_FOUND,
                    false,
                    REASON_NO_SERVICES_FOUND,
                    message.clone(),
                ),
                cond(
                    CONDITION_ENDPOINTS_READY,
                    false,
                    REASON_NO_ENDPOINTS,
                    message,
                ),
            ]),
            ..DynamoModelStatus::default()
        };
    }
    let endpoints: Vec<EndpointInfo> = found
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| EndpointInfo {
            address: c.address.clone(),
            pod_name: Some(c.pod_name.clone()).filter(|p| !p.is_empty()),
            ready: loads.is_some_and(|l| l.get(i).is_some_and(Result::is_ok)),
            lora_fallback_covered: None,
        })
        .collect();
    let total = endpoints.len() as i64;
    let ready = endpoints.iter().filter(|e| e.ready).count() as i64;
    let services = if found.services.is_empty() {
        cond(
            CONDITION_SERVICES_FOUND,
            false,
            REASON_NO_SERVICES_FOUND,
            "No services associated with endpoint slices".into(),
        )
    } else {
        cond(
            CONDITION_SERVICES_FOUND,
            true,
            REASON_SERVICES_FOUND,
            format!("Found {} service(s)", found.services.len()),
        )
    };
    let endpoints_ready = match loads {
        None => cond(
            CONDITION_ENDPOINTS_READY,
            true,
            REASON_ENDPOINTS_DISCOVERED,
            format!("Found {total} endpoint(s) for base model"),
        ),
        Some(_) if ready == total => cond(
            CONDITION_ENDPOINTS_READY,
            true,
            REASON_ALL_ENDPOINTS_READY,
            format!("All {total} endpoint(s) are ready"),
        ),
        Some(loads) => cond(
            CONDITION_ENDPOINTS_READY,
            false,
            REASON_NOT_READY,
            format!(
                "Found {ready} ready endpoint(s) out of {total} total{}",
                failures(&found.candidates, loads)
            ),
        ),
    };
    DynamoModelStatus {
        endpoints: Some(endpoints),
        ready_endpoints: ready,
        lora_fallback_covered_endpoints: None,
        total_endpoints: total,
        conditions: Some(vec![services, endpoints_ready]),
    }
}

/// `; <address>: <why>` for the first three failed loads (each cut to 200 characters), so
/// the condition says what went wrong without growing without bound.
fn failures(candidates: &[Candidate], loads: &[Result<(), String>]) -> String {
    let failed: Vec<String> = candidates
        .iter()
        .zip(loads)
        .filter_map(|(c, l)| l.as_ref().err().map(|e| (c, e)))
        .take(3)
        .map(|(c, e)| format!("{}: {}", c.address, e.chars().take(200).collect::<String>()))
        .collect();
    if failed.is_empty() {
        String::new()
    } else {
        format!("; {}", failed.join("; "))
    }
}

/// Whether the pass must be retried soon: a LoRA not loaded everywhere yet. (No endpoints at
/// all waits for the EndpointSlices to change instead, as upstream.)
pub fn needs_retry(model: &DynamoModel, status: &DynamoModelStatus) -> bool {
    model.is_lora() && status.total_endpoints > 0 && status.ready_endpoints < status.total_endpoints
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;
    use serde_json::json;

    fn at(second: i64) -> Time {
        Time(Timestamp::from_second(second).unwrap())
    }

    fn slice(
        name: &str,
        service: Option<&str>,
        port: Option<i32>,
        endpoints: serde_json::Value,
    ) -> EndpointSlice {
        let mut labels = json!({"nvidia.com/dynamo-base-model-hash": "abcd1234"});
        if let Some(s) = service {
            labels["kubernetes.io/service-name"] = json!(s);
        }
        let ports = match port {
            Some(p) => json!([{"name": "system", "port": p}]),
            None => json!([]),
        };
        serde_json::from_value(json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": "ns", "labels": labels},
            "addressType": "IPv4", "ports": ports, "endpoints": endpoints,
        }))
        .unwrap()
    }

    fn pod(ip: &str, name: &str, ready: bool) -> serde_json::Value {
        json!({"addresses": [ip], "conditions": {"ready": ready}, "targetRef": {"kind": "Pod", "name": name, "uid": format!("uid-{name}")}})
    }

    fn lora() -> DynamoModel {
        let mut m: DynamoModel = serde_json::from_value(json!({
            "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoModel",
            "metadata": {"name": "m", "namespace": "ns", "generation": 2},
            "spec": {"modelName": "org/lora", "baseModelName": "Qwen/Qwen3-0.6B", "modelType": "lora", "source": {"uri": "hf://org/lora"}},
        }))
        .unwrap();
        m.status = None;
        m
    }

    #[test]
    fn discovery_takes_pod_endpoints_once_with_the_system_port() {
        let a = slice(
            "b",
            Some("dynamo-model-abcd1234"),
            Some(9090),
            json!([pod("10.0.0.1", "w-0", true), pod("10.0.0.2", "w-1", false),
                   {"addresses": ["10.0.0.9"], "targetRef": {"kind": "Node", "name": "n"}},
                   {"addresses": ["10.0.0.8"]}]),
        );
        // The same pod in a second slice (slices can overlap while they are rebalanced).
        let b = slice(
            "a",
            Some("dynamo-model-abcd1234"),
            Some(18000),
            json!([pod("10.0.0.1", "w-0", true)]),
        );
        let c = slice("c", None, None, json!([pod("fd00::5", "w-2", true)]));
        let found = discover(&[&a, &b, &c]);
        let addresses: Vec<&str> = found
            .candidates
            .iter()
            .map(|c| c.address.as_str())
            .collect();
        assert_eq!(
            addresses,
            [
                "http://10.0.0.1:18000",
                "http://10.0.0.2:9090",
                "http://[fd00::5]:9090"
            ]
        );
        assert_eq!(found.candidates[1].pod_name, "w-1");
        assert_eq!(
            found.services,
            BTreeSet::from(["dynamo-model-abcd1234".to_string()])
        );
    }

    #[test]
    fn no_endpoints_says_so_in_both_conditions() {
        let status = model_status(&lora(), &Discovered::default(), Some(&[]), &at(10));
        let conditions = status.conditions.unwrap();
        assert_eq!(conditions[0].type_, "ServicesFound");
        assert_eq!(conditions[0].reason, "NoServicesFound");
        assert_eq!(conditions[1].type_, "EndpointsReady");
        assert_eq!(conditions[1].reason, "NoEndpoints");
        assert_eq!(
            conditions[1].message,
            "No endpoint slices found for base model Qwen/Qwen3-0.6B"
        );
        assert_eq!(status.total_endpoints, 0);
        assert!(status.endpoints.is_none());
    }

    fn two() -> Discovered {
        let s = slice(
            "s",
            Some("svc"),
            Some(9090),
            json!([pod("10.0.0.1", "w-0", true), pod("10.0.0.2", "w-1", true)]),
        );
        discover(&[&s])
    }

    #[test]
    fn a_lora_is_ready_when_every_endpoint_loaded_it() {
        let model = lora();
        let status = model_status(&model, &two(), Some(&[Ok(()), Ok(())]), &at(10));
        assert_eq!((status.ready_endpoints, status.total_endpoints), (2, 2));
        let c = &status.conditions.as_ref().unwrap()[1];
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("True", "AllEndpointsReady")
        );
        assert_eq!(c.observed_generation, Some(2));
        assert!(!needs_retry(&model, &status));
        assert_eq!(
            status.conditions.as_ref().unwrap()[0].message,
            "Found 1 service(s)"
        );
    }

    #[test]
    fn a_failed_load_keeps_the_condition_false_with_why_and_retries() {
        let model = lora();
        let loads = [
            Ok(()),
            Err("load LoRA failed with status 500: boom".to_string()),
        ];
        let status = model_status(&model, &two(), Some(&loads), &at(10));
        let endpoints = status.endpoints.as_ref().unwrap();
        assert!(endpoints[0].ready && !endpoints[1].ready);
        let c = &status.conditions.as_ref().unwrap()[1];
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("False", "NotReady")
        );
        assert_eq!(
            c.message,
            "Found 1 ready endpoint(s) out of 2 total; http://10.0.0.2:9090: load LoRA failed with status 500: boom"
        );
        assert!(needs_retry(&model, &status));
    }

    #[test]
    fn a_base_model_only_reports_its_endpoints() {
        let mut model = lora();
        model.spec.model_type = None;
        let status = model_status(&model, &two(), None, &at(10));
        assert_eq!((status.ready_endpoints, status.total_endpoints), (0, 2));
        let c = &status.conditions.as_ref().unwrap()[1];
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("True", "EndpointsDiscovered")
        );
        assert!(!needs_retry(&model, &status));
    }

    #[test]
    fn an_unchanged_world_gives_the_same_status() {
        let mut model = lora();
        let first = model_status(&model, &two(), Some(&[Ok(()), Ok(())]), &at(10));
        model.status = Some(first.clone());
        let again = model_status(&model, &two(), Some(&[Ok(()), Ok(())]), &at(99));
        assert_eq!(first, again);
    }
}
