//! A simulated kubelet + deployment controller: gives Deployments the status a
//! real cluster would (observedGeneration, replica counts, `Available` and
//! `Progressing` conditions) a configurable delay after each spec change, and
//! lets a test hold chosen Deployments not-ready.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use std::time::{Duration, Instant};
use tokio::sync::broadcast;

use serde_json::{Value, json};

use crate::server::Shared;

/// Switches for the simulated kubelet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeletConfig {
    /// Whether Deployments get status at all.
    pub enabled: bool,
    /// Delay between a spec change and the status reflecting it.
    pub ready_delay: Duration,
    /// (namespace, name) of Deployments held not-ready.
    pub held: HashSet<(String, String)>,
}

/// Shared handle to the kubelet configuration (see `Simulator::kubelet`).
#[derive(Debug)]
pub struct KubeletControl(Mutex<KubeletConfig>);

impl KubeletControl {
    /// A control with the given initial switches.
    pub fn new(enabled: bool, ready_delay: Duration) -> KubeletControl {
        KubeletControl(Mutex::new(KubeletConfig {
            enabled,
            ready_delay,
            held: HashSet::new(),
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KubeletConfig> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Turns the kubelet on or off.
    pub fn set_enabled(&self, enabled: bool) {
        self.lock().enabled = enabled;
    }

    /// Sets the delay before a spec change shows in status.
    pub fn set_ready_delay(&self, d: Duration) {
        self.lock().ready_delay = d;
    }

    /// Keeps a Deployment not-ready (status still observes its generation,
    /// with `readyReplicas` 0 and `Available=False`).
    pub fn hold(&self, namespace: &str, name: &str) {
        self.lock().held.insert((namespace.into(), name.into()));
    }

    /// Lets a held Deployment become ready (after the usual delay).
    pub fn release(&self, namespace: &str, name: &str) {
        self.lock()
            .held
            .remove(&(namespace.to_string(), name.to_string()));
    }

    /// The current switches.
    pub fn config(&self) -> KubeletConfig {
        self.lock().clone()
    }
}

/// The status the controllers would converge to for `dep`.
pub fn desired_status(dep: &Value, held: bool) -> Value {
    let replicas = dep
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let generation = dep
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let name = dep
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ready = if held { 0 } else { replicas };
    let available = ready >= replicas;
    let mut s = json!({
        "observedGeneration": generation,
        "replicas": replicas,
        "updatedReplicas": replicas,
        "conditions": [
            {
                "type": "Available",
                "status": if available { "True" } else { "False" },
                "reason": if available { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
                "message": if available { "Deployment has minimum availability." } else { "Deployment does not have minimum availability." },
            },
            {
                "type": "Progressing",
                "status": "True",
                "reason": if available { "NewReplicaSetAvailable" } else { "ReplicaSetUpdated" },
                "message": if available { format!("ReplicaSet \"{name}-sim\" has successfully progressed.") } else { format!("ReplicaSet \"{name}-sim\" is progressing.") },
            },
        ],
    });
    // The real controller omits zero counts.
    if ready > 0 {
        s["readyReplicas"] = json!(ready);
        s["availableReplicas"] = json!(ready);
    }
    if replicas - ready > 0 {
        s["unavailableReplicas"] = json!(replicas - ready);
    }
    s
}

/// Status without condition timestamps, for "is it already there" checks.
fn comparable(status: Option<&Value>) -> Value {
    let mut s = status.cloned().unwrap_or(Value::Null);
    if let Some(cs) = s.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in cs.iter_mut() {
            if let Some(m) = c.as_object_mut() {
                m.remove("lastUpdateTime");
                m.remove("lastTransitionTime");
            }
        }
    }
    s
}

fn with_times(mut desired: Value, old: Option<&Value>, now: &str) -> Value {
    if let Some(cs) = desired.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in cs.iter_mut() {
            let prev = old
                .and_then(|o| o.get("conditions"))
                .and_then(Value::as_array)
                .and_then(|a| a.iter().find(|p| p.get("type") == c.get("type")));
            let transition = match prev {
                Some(p) if p.get("status") == c.get("status") => {
                    p.get("lastTransitionTime").cloned().unwrap_or(json!(now))
                }
                _ => json!(now),
            };
            c["lastUpdateTime"] = json!(now);
            c["lastTransitionTime"] = transition;
        }
    }
    desired
}

/// Runs the kubelet loop until shutdown.
///
/// Event-driven, so a cluster with thousands of settled Deployments costs
/// nothing per tick: only Deployments that changed (seen on the store's event
/// feed) or are waiting for their delay are examined; a full scan happens at
/// start, when the switches change, and if the feed lagged.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut feed = shared.state().store.subscribe();
    // (namespace, name) -> (generation, held, first seen needing an update)
    let mut pending: HashMap<(String, String), (i64, bool, Instant)> = HashMap::new();
    let mut dirty: HashSet<(String, String)> = HashSet::new();
    let mut full_scan = true;
    let mut last_cfg: Option<KubeletConfig> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {},
            _ = shutdown.changed() => return,
        }
        loop {
            match feed.try_recv() {
                Ok(ev) if ev.group == "apps" && ev.plural == "deployments" => {
                    let name = ev
                        .object
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    dirty.insert((ev.namespace.clone(), name.to_string()));
                }
                Ok(_) => {}
                Err(broadcast::error::TryRecvError::Empty) => break,
                Err(broadcast::error::TryRecvError::Lagged(_)) => full_scan = true,
                Err(broadcast::error::TryRecvError::Closed) => return,
            }
        }
        let cfg = shared.kubelet.config();
        if last_cfg.as_ref() != Some(&cfg) {
            full_scan = true;
            last_cfg = Some(cfg.clone());
        }
        if !cfg.enabled {
            pending.clear();
            dirty.clear();
            continue;
        }
        let now = Instant::now();
        let mut st = shared.state();
        let keys: Vec<(String, String)> = if full_scan {
            st.store
                .iter("apps", "deployments", None, None)
                .map(|(k, _)| k.clone())
                .collect()
        } else {
            dirty
                .iter()
                .chain(pending.keys())
                .cloned()
                .collect::<HashSet<_>>()
                .into_iter()
                .collect()
        };
        full_scan = false;
        dirty.clear();
        for key in keys {
            let Some(d) = st.store.get("apps", "deployments", &key.0, &key.1) else {
                pending.remove(&key);
                continue;
            };
            if d.pointer("/metadata/deletionTimestamp").is_some() {
                pending.remove(&key);
                continue;
            }
            let held = cfg.held.contains(&key);
            let desired = desired_status(&d, held);
            if comparable(d.get("status")) == comparable(Some(&desired)) {
                pending.remove(&key);
                continue;
            }
            let generation = d
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let entry = pending
                .entry(key.clone())
                .or_insert((generation, held, now));
            if entry.0 != generation || entry.1 != held {
                *entry = (generation, held, now);
            }
            if now.duration_since(entry.2) >= cfg.ready_delay {
                let mut new = (*d).clone();
                new["status"] = with_times(desired, d.get("status"), &st.now());
                let _ = st.system_update(
                    "apps",
                    "deployments",
                    new,
                    Some("status"),
                    "kube-controller-manager",
                );
                pending.remove(&key);
            }
        }
    }
}
