//! Per-componentType defaults of the main container: command, ports, probes and env
//! (research notes §3.4). Users override any of them through `extraPodSpec.mainContainer`,
//! `envs` and the top-level probes.

use serde_json::{Value, json};

/// A component role with its own defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `frontend`: the HTTP entry point.
    Frontend,
    /// `worker`, `prefill`, `decode`: model workers.
    Worker,
    /// `planner`: the SLA planner.
    Planner,
    /// Any other value: no role-specific defaults.
    Other,
}

impl Role {
    /// The role of a `componentType` value.
    pub fn of(component_type: Option<&str>) -> Role {
        match component_type {
            Some("frontend") => Role::Frontend,
            Some("worker" | "prefill" | "decode") => Role::Worker,
            Some("planner") => Role::Planner,
            _ => Role::Other,
        }
    }
}

/// The port the component serves on: (name, number). Its Service exposes the same port.
pub fn main_port(role: Role) -> (&'static str, i32) {
    match role {
        Role::Frontend => ("http", 8000),
        Role::Planner => ("metrics", 9085),
        Role::Worker | Role::Other => ("system", 9090),
    }
}

/// The default main container of a role, before user overrides.
pub fn container(role: Role) -> Value {
    let (command, args): (Vec<&str>, Vec<&str>) = match role {
        Role::Frontend => (vec!["python3"], vec!["-m", "dynamo.frontend"]),
        _ => (vec!["/bin/sh", "-c"], vec![]),
    };
    let mut c = json!({ "name": crate::api::consts::MAIN_CONTAINER, "command": command });
    if !args.is_empty() {
        c["args"] = json!(args);
    }
    match role {
        Role::Frontend => {
            c["ports"] = json!([{ "name": "http", "containerPort": 8000, "protocol": "TCP" }]);
            c["livenessProbe"] = http_probe("/live", "http", Some(15), 10, 1, 3);
            c["readinessProbe"] = http_probe("/health", "http", Some(10), 10, 3, 3);
        }
        Role::Worker => {
            c["ports"] = json!([{ "name": "system", "containerPort": 9090, "protocol": "TCP" }]);
            c["livenessProbe"] = http_probe("/live", "system", None, 5, 4, 1);
            c["readinessProbe"] = http_probe("/health", "system", None, 10, 4, 3);
            // About two hours for model download and load before liveness takes over.
            c["startupProbe"] = http_probe("/live", "system", None, 10, 5, 720);
        }
        Role::Planner => {
            c["ports"] = json!([{ "name": "metrics", "containerPort": 9085, "protocol": "TCP" }]);
        }
        Role::Other => {}
    }
    c
}

/// Role-specific environment defaults (user env with the same name wins).
pub fn env(role: Role) -> Vec<Value> {
    let pairs: &[(&str, &str)] = match role {
        Role::Frontend => &[("DYNAMO_PORT", "8000"), ("DYN_HTTP_PORT", "8000")],
        Role::Worker => &[
            ("DYN_SYSTEM_ENABLED", "true"),
            ("DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS", "[\"generate\"]"),
            ("DYN_SYSTEM_PORT", "9090"),
            ("DYN_HEALTH_CHECK_ENABLED", "false"),
        ],
        Role::Planner => &[("PLANNER_PROMETHEUS_PORT", "9085")],
        Role::Other => &[],
    };
    pairs
        .iter()
        .map(|(n, v)| json!({ "name": n, "value": v }))
        .collect()
}

fn http_probe(
    path: &str,
    port: &str,
    initial_delay: Option<i32>,
    period: i32,
    timeout: i32,
    failure: i32,
) -> Value {
    let mut p = json!({
        "httpGet": { "path": path, "port": port },
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failure,
    });
    if let Some(d) = initial_delay {
        p["initialDelaySeconds"] = json!(d);
    }
    p
}
