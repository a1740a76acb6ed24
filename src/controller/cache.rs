//! The watch caches the operator reconciles from. Every kind the reconcile writes or reads is
//! watched once; each watch feeds a store (what the reconcile reads instead of a GET or LIST),
//! a per-namespace index (so a listing looks at one namespace, not the whole cluster) and the
//! controllers' triggers. A converged operator then sends no request but its watches and its
//! Lease renewals.
//!
//! Staleness is handled where it matters:
//! - nothing is read before every cache has its first full listing ([`Caches::wait_ready`]);
//! - a write the cache has not seen yet is remembered ([`Caches::wrote`]) so the next pass
//!   does not write the same object again while the watch event is in flight;
//! - deletions are never decided from a cache alone: the reconcile reads the object fresh
//!   before deleting it.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::{Stream, TryStreamExt};
use kube::api::{Api, DynamicObject};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::watch;

use super::compact::Compact;
use crate::api::DynamoComponentDeployment;
use crate::cluster::{ClusterError, ObjectRef};

/// How long a reconcile waits for the caches' first listings before it gives up (and is
/// retried with backoff).
const READY_WITHIN: Duration = Duration::from_secs(30);

/// A namespace's cached objects by name: their JSON text, or nothing when the cache keeps
/// typed objects in its store.
type Names = BTreeMap<String, Option<Arc<str>>>;

/// The cached objects by namespace, kept from the watch events.
#[derive(Default)]
struct Index {
    by_ns: HashMap<String, Names>,
    /// The listing in progress after a (re)start of the watch; swapped in when complete, so
    /// objects deleted while the watch was down disappear.
    building: Option<HashMap<String, Names>>,
}

impl Index {
    /// Applies a watch event; `json` renders an object as the index keeps it. Returns whether
    /// a full listing just completed.
    fn apply<K: Resource>(
        &mut self,
        event: &watcher::Event<K>,
        json: impl Fn(&K) -> Option<Arc<str>>,
    ) -> bool {
        let key = |o: &K| (o.namespace().unwrap_or_default(), o.name_any());
        match event {
            watcher::Event::Apply(o) => {
                let (ns, name) = key(o);
                self.by_ns.entry(ns).or_default().insert(name, json(o));
            }
            watcher::Event::Delete(o) => {
                let (ns, name) = key(o);
                if let Some(names) = self.by_ns.get_mut(&ns) {
                    names.remove(&name);
                    if names.is_empty() {
                        self.by_ns.remove(&ns);
                    }
                }
            }
            watcher::Event::Init => self.building = Some(HashMap::new()),
            watcher::Event::InitApply(o) => {
                let (ns, name) = key(o);
                self.building
                    .get_or_insert_with(HashMap::new)
                    .entry(ns)
                    .or_default()
                    .insert(name, json(o));
            }
            watcher::Event::InitDone => {
                self.by_ns = self.building.take().unwrap_or_default();
                return true;
            }
        }
        false
    }

    /// Replaces the JSON of `ns/name` by `text` if it still is the object at `rv`.
    fn replace_at(&mut self, ns: &str, name: &str, rv: u64, text: Arc<str>) {
        let Some(entry) = self.by_ns.get_mut(ns).and_then(|n| n.get_mut(name)) else {
            return;
        };
        let current = entry.as_deref().map(parse);
        if current.as_ref().and_then(resource_version) == Some(rv) {
            *entry = Some(text);
        }
    }
}

/// The top-level key that marks a cached child as verified ([`Caches::verified`]): kept only
/// in this process's cache, never sent.
const VERIFIED: &str = "$dynamoctl-verified";

/// What a verified child keeps: what is read of it besides the applied-hash comparison (its
/// metadata; a Deployment's status and the spec fields its readiness reads). `None` for a
/// kind that is always kept whole.
fn verified_copy(kind: &str, live: &Value) -> Option<Value> {
    let deployment = match kind {
        "Deployment" => true,
        "Service" | "ServiceAccount" | "Role" | "RoleBinding" | "Ingress" => false,
        _ => return None,
    };
    let mut out = serde_json::Map::new();
    for key in ["apiVersion", "kind", "metadata"] {
        if let Some(v) = live.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    if deployment {
        if let Some(status) = live.get("status") {
            out.insert("status".into(), status.clone());
        }
        let spec: serde_json::Map<String, Value> = ["replicas", "paused", "selector"]
            .into_iter()
            .filter_map(|k| Some((k.to_string(), live.pointer(&format!("/spec/{k}"))?.clone())))
            .collect();
        out.insert("spec".into(), Value::Object(spec));
    }
    out.insert(VERIFIED.into(), Value::Bool(true));
    Some(Value::Object(out))
}

/// How a cache keeps its objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Typed, in a kube-runtime store: for the kind a controller reconciles.
    Typed,
    /// As compact JSON text, parsed when read: a child's JSON takes a fraction of the memory
    /// of its typed form (every absent optional field of a typed pod spec still takes room).
    Json,
}

/// One watched kind: its store, its namespace index and whether the first listing is in.
pub struct Cache<K: Resource + Clone + 'static>
where
    K::DynamicType: Eq + Hash + Clone,
{
    store: Option<Store<K>>,
    dyntype: K::DynamicType,
    index: Arc<RwLock<Index>>,
    ready: watch::Receiver<bool>,
}

impl<K: Resource + Clone + 'static> Clone for Cache<K>
where
    K::DynamicType: Eq + Hash + Clone,
{
    fn clone(&self) -> Self {
        Cache {
            store: self.store.clone(),
            dyntype: self.dyntype.clone(),
            index: self.index.clone(),
            ready: self.ready.clone(),
        }
    }
}

/// The watch events of a cached kind, already applied to its [`Cache`]: the caller turns them
/// into triggers (`touched_objects`) or a controller's input (`applied_objects`).
pub type Events<K> = std::pin::Pin<
    Box<dyn Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static>,
>;

/// Writes of this process whose watch event has not arrived yet: by object, the
/// resourceVersion the write returned and the applied hash it wrote. Shared by every cache:
/// the watch of the object's kind drops its record when an event at least as new arrives
/// (an update or a deletion).
#[derive(Clone, Default)]
pub struct Recent(Arc<Mutex<HashMap<ObjectRef, (u64, String)>>>);

impl Recent {
    fn seen(&self, r: &ObjectRef, rv: Option<u64>) {
        let mut recent = self.0.lock().expect("recent writes lock");
        if recent.is_empty() {
            return;
        }
        if let (Some((written, _)), Some(rv)) = (recent.get(r), rv)
            && *written <= rv
        {
            recent.remove(r);
        }
    }
}

/// Drops from a cached object's metadata what the reconcile never reads and what is often
/// the largest part of an object: `managedFields` (with three field managers) and kubectl's
/// last-applied annotation (a second copy of the whole object, on every graph a user
/// `kubectl apply`s).
pub fn trim_metadata(meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) {
    meta.managed_fields = None;
    if let Some(a) = &mut meta.annotations {
        a.remove(crate::diff::LAST_APPLIED_ANNOTATION);
    }
}

/// Watches `api` into a new cache keeping its objects as `keep` says. `strip` removes what
/// the reconcile never reads from each cached object, after [`trim_metadata`].
pub fn watch<K>(
    api: Api<K>,
    config: watcher::Config,
    dyntype: K::DynamicType,
    keep: Keep,
    recent: &Recent,
    strip: impl Fn(&mut K) + Send + 'static,
) -> (Cache<K>, Events<K>)
where
    K: Resource + Clone + Serialize + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    let mut writer = (keep == Keep::Typed).then(|| reflector::store::Writer::new(dyntype.clone()));
    let store = writer.as_ref().map(|w| w.as_reader());
    let index = Arc::new(RwLock::new(Index::default()));
    let (ready_tx, ready) = watch::channel(false);
    let cache = Cache {
        store,
        dyntype: dyntype.clone(),
        index: index.clone(),
        ready,
    };
    let recent = recent.clone();
    let events = watcher(api, config)
        .modify(move |o: &mut K| {
            trim_metadata(o.meta_mut());
            strip(o);
        })
        .default_backoff()
        .map_ok(move |event| {
            if let watcher::Event::Apply(o) | watcher::Event::Delete(o) = &event {
                let r = ObjectRef {
                    api_version: K::api_version(&dyntype).into_owned(),
                    kind: K::kind(&dyntype).into_owned(),
                    namespace: o.namespace(),
                    name: o.name_any(),
                };
                let rv = o.resource_version().and_then(|v| v.parse().ok());
                recent.seen(&r, rv);
            }
            if let Some(writer) = &mut writer {
                writer.apply_watcher_event(&event);
            }
            let json = |o: &K| {
                (keep == Keep::Json)
                    .then(|| Arc::from(serde_json::to_string(o).expect("object serialises")))
            };
            if index.write().expect("index lock").apply(&event, json) {
                ready_tx.send_replace(true);
            }
            event
        });
    (cache, Box::pin(events))
}

impl<K: Resource + Clone + 'static> Cache<K>
where
    K::DynamicType: Eq + Hash + Clone,
{
    /// The store of a cache keeping typed objects, for the controller reconciling the kind.
    pub fn store(&self) -> Option<Store<K>> {
        self.store.clone()
    }

    /// The cached typed object `ns/name` (none in a cache keeping JSON).
    pub fn get(&self, ns: Option<&str>, name: &str) -> Option<Arc<K>> {
        let r = reflector::ObjectRef::new_with(name, self.dyntype.clone());
        let r = match ns {
            Some(ns) => r.within(ns),
            None => r,
        };
        self.store.as_ref()?.get(&r)
    }

    /// The cached typed objects of namespace `ns` carrying every label of `labels`, by name
    /// (none in a cache keeping JSON).
    pub fn list(&self, ns: Option<&str>, labels: &[(&str, &str)]) -> Vec<Arc<K>> {
        self.names(ns)
            .iter()
            .filter_map(|(n, _)| self.get(ns, n))
            .filter(|o| {
                labels
                    .iter()
                    .all(|(k, v)| o.labels().get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    /// Namespace `ns` as indexed: names and, in a cache keeping JSON, the objects.
    fn names(&self, ns: Option<&str>) -> Vec<(String, Option<Arc<str>>)> {
        self.index
            .read()
            .expect("index lock")
            .by_ns
            .get(ns.unwrap_or_default())
            .map(|n| n.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// The JSON text of `ns/name` in a cache keeping JSON.
    fn text(&self, ns: Option<&str>, name: &str) -> Option<Arc<str>> {
        self.index
            .read()
            .expect("index lock")
            .by_ns
            .get(ns.unwrap_or_default())?
            .get(name)?
            .clone()
    }
}

fn has_labels(obj: &Value, labels: &[(&str, &str)]) -> bool {
    labels.iter().all(|(k, v)| {
        obj.pointer("/metadata/labels")
            .and_then(|l| l.get(*k))
            .and_then(Value::as_str)
            == Some(*v)
    })
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("cached JSON parses")
}

/// A cache read as JSON, whatever its Rust type: what [`Caches`] keeps per kind.
trait Lookup: Send + Sync {
    fn get(&self, ns: Option<&str>, name: &str) -> Option<Value>;
    /// Keeps `copy` instead of `ns/name` if the cache still holds it at `rv`.
    fn keep_verified(&self, ns: &str, name: &str, rv: u64, copy: &Value);
    fn list(&self, ns: Option<&str>, labels: &[(&str, &str)]) -> Vec<Value>;
    fn ready(&self) -> watch::Receiver<bool>;
}

impl<K> Lookup for Cache<K>
where
    K: Resource + Clone + Serialize + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    fn get(&self, ns: Option<&str>, name: &str) -> Option<Value> {
        if self.store.is_none() {
            return self.text(ns, name).map(|t| parse(&t));
        }
        Cache::get(self, ns, name).map(|o| serde_json::to_value(&*o).expect("object serialises"))
    }

    fn list(&self, ns: Option<&str>, labels: &[(&str, &str)]) -> Vec<Value> {
        if self.store.is_none() {
            return self
                .names(ns)
                .into_iter()
                .filter_map(|(_, t)| t.map(|t| parse(&t)))
                .filter(|o| has_labels(o, labels))
                .collect();
        }
        Cache::list(self, ns, labels)
            .iter()
            .map(|o| serde_json::to_value(&**o).expect("object serialises"))
            .collect()
    }

    fn keep_verified(&self, ns: &str, name: &str, rv: u64, copy: &Value) {
        if self.store.is_none() {
            let text = Arc::from(copy.to_string());
            self.index
                .write()
                .expect("index lock")
                .replace_at(ns, name, rv, text);
        }
    }

    fn ready(&self) -> watch::Receiver<bool> {
        self.ready.clone()
    }
}

/// Every cache the reconcile reads, by kind, and the writes they have not seen yet.
pub struct Caches {
    kinds: BTreeMap<(String, String), Arc<dyn Lookup>>,
    /// The components: the graph's status is computed from them.
    pub components: Cache<Compact<DynamoComponentDeployment>>,
    recent: Recent,
    /// Status writes of this process the caches have not seen yet: by a digest of the
    /// object's kind, namespace and name, the resourceVersion the write returned and a digest
    /// of the status written. Digests, because every graph and component has one while the
    /// operator converges (a record with its names took 600 bytes, 2.4 MiB at 1,000 graphs).
    status_writes: Mutex<HashMap<u64, (u64, u64)>>,
}

/// A digest for [`Caches::status_written`].
fn digest(parts: &[&str]) -> u64 {
    use std::hash::Hasher;
    let mut h = std::hash::DefaultHasher::new();
    for p in parts {
        h.write(p.as_bytes());
        h.write_u8(0);
    }
    h.finish()
}

impl Caches {
    /// Caches with the components' and no other kind yet; `recent` is the record every
    /// watch was given.
    pub fn new(components: Cache<Compact<DynamoComponentDeployment>>, recent: Recent) -> Caches {
        let mut caches = Caches {
            kinds: BTreeMap::new(),
            components: components.clone(),
            recent,
            status_writes: Mutex::default(),
        };
        caches.add(
            crate::api::consts::API_VERSION,
            "DynamoComponentDeployment",
            components,
        );
        caches
    }

    /// Registers the cache of `api_version`/`kind`.
    pub fn add<K>(&mut self, api_version: &str, kind: &str, cache: Cache<K>)
    where
        K: Resource + Clone + Serialize + Send + Sync + 'static,
        K::DynamicType: Eq + Hash + Clone + Send + Sync,
    {
        self.kinds
            .insert((api_version.into(), kind.into()), Arc::new(cache));
    }

    /// Registers the cache of a kind watched as `DynamicObject`s.
    pub fn add_dynamic(&mut self, cache: Cache<DynamicObject>) {
        let ar = cache.dyntype.clone();
        self.add(&ar.api_version, &ar.kind, cache);
    }

    fn kind(&self, api_version: &str, kind: &str) -> Option<&Arc<dyn Lookup>> {
        self.kinds.get(&(api_version.to_string(), kind.to_string()))
    }

    /// Whether `api_version`/`kind` is cached.
    pub fn has(&self, api_version: &str, kind: &str) -> bool {
        self.kind(api_version, kind).is_some()
    }

    /// The cached object `r` as JSON (`Some(None)`: cached as absent), or `None` when its
    /// kind is not cached. `default_ns` is the namespace of a namespaced ref that names none.
    pub fn get(&self, r: &ObjectRef, default_ns: &str) -> Option<Option<Value>> {
        let cache = self.kind(&r.api_version, &r.kind)?;
        let ns = r.namespace.as_deref().unwrap_or(default_ns);
        Some(cache.get(Some(ns), &r.name))
    }

    /// The cached objects of a kind in `ns` with every label of `labels`, or `None` when the
    /// kind is not cached.
    pub fn list(
        &self,
        api_version: &str,
        kind: &str,
        ns: &str,
        labels: &[(&str, &str)],
    ) -> Option<Vec<Value>> {
        Some(self.kind(api_version, kind)?.list(Some(ns), labels))
    }

    /// Waits until every cache holds its first full listing; an error if that takes too long
    /// (the reconcile is retried with backoff).
    pub async fn wait_ready(&self) -> Result<(), ClusterError> {
        let all = async {
            for cache in self.kinds.values() {
                let mut ready = cache.ready();
                let _ = ready.wait_for(|r| *r).await;
            }
        };
        tokio::time::timeout(READY_WITHIN, all)
            .await
            .map_err(|_| ClusterError::Rejected {
                object: "the operator's watch caches".into(),
                code: 503,
                message: format!(
                    "not listed within {READY_WITHIN:?}; check the operator's RBAC (list and watch) for its children's kinds"
                ),
            })
    }

    /// Whether `cached` (read from these caches) was found up to date with the render whose
    /// applied hash it carries, and has not changed since ([`Caches::keep_verified`]): then
    /// the hash alone says whether it still is.
    pub fn verified(cached: &Value) -> bool {
        cached.get(VERIFIED) == Some(&Value::Bool(true))
    }

    /// Records that the cached child `live` is up to date with the render: from now until its
    /// next change (any watch event replaces the copy) the cache keeps only what is read of it
    /// besides its applied hash. A Deployment's copy takes a fifth of its JSON, so at steady
    /// state the caches hold the children's metadata and status, not their specs.
    pub fn keep_verified(&self, r: &ObjectRef, live: &Value, default_ns: &str) {
        let (Some(cache), Some(rv)) = (self.kind(&r.api_version, &r.kind), resource_version(live))
        else {
            return;
        };
        if Caches::verified(live) {
            return;
        }
        if let Some(copy) = verified_copy(&r.kind, live) {
            let ns = r.namespace.as_deref().unwrap_or(default_ns);
            cache.keep_verified(ns, &r.name, rv, &copy);
        }
    }

    /// Whether this process wrote `status` as the status of `kind` `ns/name` and the cache's
    /// copy (at `cached_rv`) predates that write: then the status already says that. Asked
    /// before every status write, so a record goes as soon as the cache has caught up.
    pub fn status_written(&self, object: [&str; 3], cached_rv: Option<&str>, status: &str) -> bool {
        let key = digest(&object);
        let mut writes = self.status_writes.lock().expect("status writes lock");
        let Some(&(rv, written)) = writes.get(&key) else {
            return false;
        };
        if cached_rv
            .and_then(|c| c.parse::<u64>().ok())
            .is_some_and(|c| c >= rv)
        {
            writes.remove(&key);
            return false;
        }
        written == digest(&[status])
    }

    /// Remembers a status write of `kind` `ns/name` that returned `stored`.
    pub fn wrote_status(&self, object: [&str; 3], stored: &Value, status: &str) {
        if let Some(rv) = resource_version(stored) {
            self.status_writes
                .lock()
                .expect("status writes lock")
                .insert(digest(&object), (rv, digest(&[status])));
        }
    }

    /// Remembers that `stored` (the object a write returned) was written with `hash`.
    pub fn wrote(&self, r: &ObjectRef, stored: &Value, hash: &str) {
        if let Some(rv) = resource_version(stored) {
            self.recent
                .0
                .lock()
                .expect("recent writes lock")
                .insert(r.clone(), (rv, hash.to_string()));
        }
    }

    /// Whether this process wrote `r` with `hash` and the cache has not seen that write yet
    /// (`cached`: its copy): the object is as written. Once an event at least as new arrived
    /// (ours, someone's update, a deletion) the record is gone and the cache decides.
    pub fn written_since(&self, r: &ObjectRef, cached: Option<&Value>, hash: &str) -> bool {
        let mut recent = self.recent.0.lock().expect("recent writes lock");
        let Some((rv, written)) = recent.get(r).cloned() else {
            return false;
        };
        let cached_rv = cached.and_then(resource_version);
        if cached_rv.is_some_and(|c| c >= rv) {
            recent.remove(r);
            return false;
        }
        written == hash
    }
}

/// An object's resourceVersion as a number. Kubernetes calls it opaque; every API server in
/// use (etcd's revision, the simulator's counter) makes it a growing integer. One that is not
/// makes [`Caches::written_since`] never vouch for a write, which only costs a request.
fn resource_version(obj: &Value) -> Option<u64> {
    obj.pointer("/metadata/resourceVersion")?
        .as_str()?
        .parse()
        .ok()
}

/// The JSON of a typed list item with its apiVersion and kind (list items carry none).
pub fn typed_item(mut v: Value, api_version: &str, kind: &str) -> Value {
    v["apiVersion"] = api_version.into();
    v["kind"] = kind.into();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;

    fn cm(ns: &str, name: &str) -> ConfigMap {
        let mut c = ConfigMap::default();
        c.metadata.namespace = Some(ns.into());
        c.metadata.name = Some(name.into());
        c
    }

    #[test]
    fn the_index_follows_events_and_a_relist_replaces_it() {
        let mut index = Index::default();
        let json = |o: &ConfigMap| Some(Arc::from(o.metadata.name.clone().unwrap()));
        index.apply(&watcher::Event::Apply(cm("a", "x")), json);
        index.apply(&watcher::Event::Apply(cm("a", "y")), json);
        index.apply(&watcher::Event::Delete(cm("a", "x")), json);
        let names = |ns: &str, index: &Index| index.by_ns[ns].keys().cloned().collect::<Vec<_>>();
        assert_eq!(names("a", &index), vec!["y"]);
        assert_eq!(index.by_ns["a"]["y"].as_deref(), Some("y"));
        // A relist: what it does not list is gone once it is complete, not before.
        index.apply(&watcher::Event::<ConfigMap>::Init, json);
        index.apply(&watcher::Event::InitApply(cm("b", "z")), json);
        assert!(index.by_ns.contains_key("a"));
        assert!(index.apply(&watcher::Event::<ConfigMap>::InitDone, json));
        assert!(!index.by_ns.contains_key("a"));
        assert_eq!(names("b", &index), vec!["z"]);
    }

    #[test]
    fn a_verified_child_keeps_what_is_read_of_it_until_it_changes() {
        let deployment = serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "a", "resourceVersion": "7",
                "annotations": {"nvidia.com/dynamoctl-applied-hash": "h"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"x": "y"}},
                "template": {"spec": {"containers": [{"name": "main", "image": "i"}]}}},
            "status": {"readyReplicas": 2},
        });
        let copy = verified_copy("Deployment", &deployment).unwrap();
        assert!(Caches::verified(&copy));
        assert_eq!(copy["metadata"], deployment["metadata"]);
        assert_eq!(copy["status"], deployment["status"]);
        assert_eq!(copy["spec"]["replicas"], 2);
        assert!(copy.pointer("/spec/template").is_none());
        // Still a Deployment to read: readiness sees its replicas and status.
        let typed: k8s_openapi::api::apps::v1::Deployment =
            serde_json::from_value(copy.clone()).unwrap();
        assert_eq!(typed.spec.unwrap().replicas, Some(2));
        // Kinds read whole (a PodCliqueSet's template) are never reduced.
        assert!(verified_copy("PodCliqueSet", &deployment).is_none());

        let mut index = Index::default();
        let text = |v: &Value| Some(Arc::<str>::from(v.to_string()));
        index
            .by_ns
            .entry("a".into())
            .or_default()
            .insert("d".into(), text(&deployment));
        // A copy verified at an older resourceVersion does not replace a newer object.
        index.replace_at("a", "d", 6, Arc::from(copy.to_string()));
        assert!(!Caches::verified(&parse(
            index.by_ns["a"]["d"].as_deref().unwrap()
        )));
        index.replace_at("a", "d", 7, Arc::from(copy.to_string()));
        assert!(Caches::verified(&parse(
            index.by_ns["a"]["d"].as_deref().unwrap()
        )));
        // Its next watch event brings it whole again.
        let json = |o: &ConfigMap| Some(Arc::from(serde_json::to_string(o).unwrap()));
        index.apply(&watcher::Event::Apply(cm("a", "d")), json);
        assert!(!Caches::verified(&parse(
            index.by_ns["a"]["d"].as_deref().unwrap()
        )));
    }

    #[test]
    fn a_write_vouches_only_until_the_cache_catches_up() {
        let (cache, _events) = {
            // A cache that is never fed: only its registry entry matters here.
            let (w, _) = watch::channel(false);
            let writer = reflector::store::Writer::<Compact<DynamoComponentDeployment>>::new(());
            (
                Cache {
                    store: Some(writer.as_reader()),
                    dyntype: (),
                    index: Arc::default(),
                    ready: w.subscribe(),
                },
                (),
            )
        };
        let recent = Recent::default();
        let caches = Caches::new(cache, recent.clone());
        let r = ObjectRef {
            api_version: "v1".into(),
            kind: "Service".into(),
            namespace: Some("a".into()),
            name: "s".into(),
        };
        let at = |rv: &str| serde_json::json!({"metadata": {"resourceVersion": rv}});
        caches.wrote(&r, &at("10"), "h1");
        assert!(caches.written_since(&r, None, "h1"));
        assert!(caches.written_since(&r, Some(&at("9")), "h1"));
        assert!(!caches.written_since(&r, Some(&at("9")), "h2"));
        // The cache caught up: from now on it decides.
        assert!(!caches.written_since(&r, Some(&at("10")), "h1"));
        assert!(!caches.written_since(&r, None, "h1"));
        // A deletion seen by the watch ends the record too: the object must be recreated.
        caches.wrote(&r, &at("12"), "h1");
        recent.seen(&r, Some(13));
        assert!(!caches.written_since(&r, None, "h1"));
    }
}
