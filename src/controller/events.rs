//! The operator's Events (events.k8s.io/v1): the Events kube-runtime's `Recorder` makes, one
//! per occurrence, with a repeat within six minutes counted in the first one's `series`
//! instead of written again. What differs is the memory of recent Events: a digest, a name
//! and a count per Event here, where kube-runtime keeps each whole typed Event with its key
//! (about 1.5 KB) and sweeps them all on every publish. The operator publishes four Events per
//! graph as it converges: 4,000 at 1,000 graphs, 40,000 at 10,000.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
pub use kube::runtime::events::{Event, EventType, Reporter};
use serde_json::json;

/// How long a published Event can be repeated into its series (kube-runtime's and
/// client-go's six minutes).
const SERIES_FOR: Duration = Duration::from_secs(6 * 60);

/// How often the memory of recent Events drops the expired ones.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A published Event that a repeat is counted in.
struct Published {
    namespace: String,
    name: String,
    count: i32,
    last: Instant,
}

struct Recent {
    by_key: HashMap<u64, Published>,
    swept: Instant,
}

/// Publishes Events as one reporter (the operator's controller and instance).
#[derive(Clone)]
pub struct Recorder {
    client: Client,
    reporter: Reporter,
    recent: Arc<Mutex<Recent>>,
}

impl Recorder {
    /// A recorder publishing as `reporter`; one per process, so repeats are counted.
    pub fn new(client: Client, reporter: Reporter) -> Recorder {
        Recorder {
            client,
            reporter,
            recent: Arc::new(Mutex::new(Recent {
                by_key: HashMap::new(),
                swept: Instant::now(),
            })),
        }
    }

    /// Publishes `ev` about `regarding`: a new Event, or, when the same Event (type, reason,
    /// action, note, object) was published in the last six minutes, one more in its series.
    pub async fn publish(
        &self,
        ev: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let key = event_key(ev, regarding);
        let now = Instant::now();
        let repeat = {
            let mut recent = self.recent.lock().expect("recent events lock");
            if now.duration_since(recent.swept) >= SWEEP_EVERY {
                recent
                    .by_key
                    .retain(|_, p| now.duration_since(p.last) < SERIES_FOR);
                recent.by_key.shrink_to_fit();
                recent.swept = now;
            }
            recent
                .by_key
                .get(&key)
                .filter(|p| now.duration_since(p.last) < SERIES_FOR)
                .map(|p| (p.namespace.clone(), p.name.clone(), p.count + 1))
        };
        if let Some((namespace, name, count)) = repeat {
            let series = EventSeries {
                count,
                last_observed_time: MicroTime(Timestamp::now()),
            };
            let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), &namespace);
            let patch = json!({ "series": series });
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    self.remember(key, namespace, name, count);
                    return Ok(());
                }
                // Gone (the API server's Event TTL): start a new one.
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let event = self.event(ev, regarding);
        let namespace = event.metadata.namespace.clone().unwrap_or_default();
        let name = event.metadata.name.clone().unwrap_or_default();
        Api::<K8sEvent>::namespaced(self.client.clone(), &namespace)
            .create(&PostParams::default(), &event)
            .await?;
        self.remember(key, namespace, name, 1);
        Ok(())
    }

    fn remember(&self, key: u64, namespace: String, name: String, count: i32) {
        self.recent
            .lock()
            .expect("recent events lock")
            .by_key
            .insert(
                key,
                Published {
                    namespace,
                    name,
                    count,
                    last: Instant::now(),
                },
            );
    }

    /// A new Event, named and filled as kube-runtime names and fills it.
    fn event(&self, ev: &Event, regarding: &ObjectReference) -> K8sEvent {
        let now = Timestamp::now();
        let controller = &self.reporter.controller;
        K8sEvent {
            action: Some(ev.action.clone()),
            reason: Some(ev.reason.clone()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            note: ev.note.clone(),
            metadata: ObjectMeta {
                // Events about cluster-scoped objects go to `default`, as kube-runtime puts them.
                namespace: Some(
                    regarding
                        .namespace
                        .clone()
                        .unwrap_or_else(|| "default".into()),
                ),
                name: Some(format!(
                    "{}.{:x}",
                    regarding.name.as_ref().unwrap_or(controller),
                    now.as_nanosecond()
                )),
                ..Default::default()
            },
            reporting_controller: Some(controller.clone()),
            reporting_instance: Some(
                self.reporter
                    .instance
                    .clone()
                    .unwrap_or_else(|| controller.clone()),
            ),
            type_: Some(
                match ev.type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .into(),
            ),
            related: ev.secondary.clone(),
            ..Default::default()
        }
    }
}

/// What makes two Events the same occurrence. Unlike kube-runtime, the note counts: two
/// `Reconciled` Events listing different changes are two Events, not one counted twice.
fn event_key(ev: &Event, regarding: &ObjectReference) -> u64 {
    let mut h = DefaultHasher::new();
    matches!(ev.type_, EventType::Warning).hash(&mut h);
    ev.reason.hash(&mut h);
    ev.action.hash(&mut h);
    ev.note.hash(&mut h);
    for r in std::iter::once(regarding).chain(ev.secondary.as_ref()) {
        r.api_version.hash(&mut h);
        r.kind.hash(&mut h);
        r.namespace.hash(&mut h);
        r.name.hash(&mut h);
        r.uid.hash(&mut h);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn about(name: &str) -> ObjectReference {
        ObjectReference {
            kind: Some("DynamoGraphDeployment".into()),
            namespace: Some("ns".into()),
            name: Some(name.into()),
            ..Default::default()
        }
    }

    fn event(note: &str) -> Event {
        Event {
            type_: EventType::Normal,
            reason: "Reconciled".into(),
            note: Some(note.into()),
            action: "Reconciled".into(),
            secondary: None,
        }
    }

    #[test]
    fn the_same_event_about_the_same_object_has_one_key() {
        assert_eq!(
            event_key(&event("created x"), &about("g")),
            event_key(&event("created x"), &about("g"))
        );
        assert_ne!(
            event_key(&event("created x"), &about("g")),
            event_key(&event("created y"), &about("g"))
        );
        assert_ne!(
            event_key(&event("created x"), &about("g")),
            event_key(&event("created x"), &about("h"))
        );
    }
}
