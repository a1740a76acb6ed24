//! The object store: objects per resource type, the cluster-wide
//! resourceVersion counter, and the event history that watches replay from.
//!
//! Every write goes through [`Store::put`] or [`Store::remove`], which bump the
//! resourceVersion, keep a bounded history (older versions are "compacted":
//! watching from them is answered with 410 Gone, like etcd compaction), and
//! broadcast the event to live watches.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

/// Watch event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// Wire name (`ADDED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug, Clone)]
pub struct Event {
    /// resourceVersion of the change.
    pub rv: u64,
    /// API group of the object.
    pub group: String,
    /// Plural resource name.
    pub plural: String,
    /// Namespace (`""` for cluster-scoped).
    pub namespace: String,
    /// Event type.
    pub etype: EventType,
    /// The object after the change (for deletes: the last state, with the delete's rv).
    pub object: Arc<Value>,
    /// The object before the change, so watches with selectors can turn an
    /// object leaving their selection into DELETED (as the real watch cache does).
    pub prev: Option<Arc<Value>>,
    /// The object serialised once (storage version), shared by every watch
    /// that sends it: with hundreds of watches, per-watch serialisation would
    /// dominate the cost of a write.
    pub encoded: std::sync::OnceLock<bytes::Bytes>,
}

impl Event {
    /// The JSON encoding of [`Event::object`], computed on first use.
    pub fn encoded_object(&self) -> &bytes::Bytes {
        self.encoded.get_or_init(|| {
            bytes::Bytes::from(serde_json::to_vec(&*self.object).unwrap_or_default())
        })
    }
}

/// Events to replay plus a receiver for newer ones.
pub type Subscription = (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>);

/// (group, plural, namespace, name): where an object lives.
pub type Loc = (String, String, String, String);

fn owner_uids(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// (namespace, name); namespace is empty for cluster-scoped objects. Ordered
/// like etcd keys, so lists come back sorted by namespace then name.
pub type ObjKey = (String, String);

/// The object store.
#[derive(Debug)]
pub struct Store {
    objects: HashMap<(String, String), BTreeMap<ObjKey, Arc<Value>>>,
    /// uid -> (group, plural, namespace, name), for owner lookups.
    uids: HashMap<String, (String, String, String, String)>,
    /// owner uid -> objects whose ownerReferences name it (owner may be gone).
    dependents: HashMap<String, BTreeSet<Loc>>,
    /// Objects that carry a deletionTimestamp.
    terminating: BTreeSet<Loc>,
    rv: u64,
    history: VecDeque<Arc<Event>>,
    history_limit: usize,
    compacted_rv: u64,
    tx: broadcast::Sender<Arc<Event>>,
}

impl Store {
    /// An empty store keeping `history_limit` events for watch resumption.
    pub fn new(history_limit: usize) -> Store {
        let (tx, _) = broadcast::channel(16_384);
        Store {
            objects: HashMap::new(),
            uids: HashMap::new(),
            dependents: HashMap::new(),
            terminating: BTreeSet::new(),
            rv: 1,
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            compacted_rv: 0,
            tx,
        }
    }

    /// The current (latest) resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    /// The newest resourceVersion that can no longer be watched from.
    pub fn compacted_rv(&self) -> u64 {
        self.compacted_rv
    }

    /// Drops all history, so every watch from an older resourceVersion gets 410.
    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted_rv = self.rv;
    }

    /// Fetches one object.
    pub fn get(&self, group: &str, plural: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.objects
            .get(&(group.to_string(), plural.to_string()))?
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    /// All objects of a type (optionally in one namespace), in key order, starting after `after`.
    pub fn iter<'a>(
        &'a self,
        group: &str,
        plural: &str,
        ns: Option<&'a str>,
        after: Option<&ObjKey>,
    ) -> Box<dyn Iterator<Item = (&'a ObjKey, &'a Arc<Value>)> + 'a> {
        let Some(m) = self.objects.get(&(group.to_string(), plural.to_string())) else {
            return Box::new(std::iter::empty());
        };
        // Keys sort by namespace first, so one namespace is one contiguous range.
        let start = match (after, ns) {
            (Some(k), _) => std::ops::Bound::Excluded(k.clone()),
            (None, Some(n)) => std::ops::Bound::Included((n.to_string(), String::new())),
            (None, None) => std::ops::Bound::Unbounded,
        };
        let it = m.range::<ObjKey, _>((start, std::ops::Bound::Unbounded));
        match ns {
            Some(n) => Box::new(
                it.skip_while(move |(k, _)| k.0.as_str() < n)
                    .take_while(move |(k, _)| k.0 == n),
            ),
            None => Box::new(it),
        }
    }

    /// Every (group, plural) that currently has objects.
    pub fn types(&self) -> Vec<(String, String)> {
        self.objects
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Looks an object up by uid.
    pub fn by_uid(&self, uid: &str) -> Option<&(String, String, String, String)> {
        self.uids.get(uid)
    }

    /// Stores a created or changed object; assigns and returns the new resourceVersion'd object.
    pub fn put(&mut self, group: &str, plural: &str, mut obj: Value) -> Arc<Value> {
        self.rv += 1;
        let rv = self.rv;
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some(uid) = obj.pointer("/metadata/uid").and_then(Value::as_str) {
            self.uids.insert(
                uid.to_string(),
                (
                    group.to_string(),
                    plural.to_string(),
                    ns.clone(),
                    name.clone(),
                ),
            );
        }
        let obj = Arc::new(obj);
        let prev = self
            .objects
            .entry((group.to_string(), plural.to_string()))
            .or_default()
            .insert((ns.clone(), name.clone()), obj.clone());
        let loc: Loc = (group.to_string(), plural.to_string(), ns.clone(), name);
        self.index(&loc, prev.as_deref(), Some(&obj));
        let etype = if prev.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(Event {
            rv,
            group: group.into(),
            plural: plural.into(),
            namespace: ns,
            etype,
            object: obj.clone(),
            prev,
            encoded: Default::default(),
        });
        obj
    }

    /// Removes an object; returns its last state (carrying the deletion's resourceVersion).
    pub fn remove(
        &mut self,
        group: &str,
        plural: &str,
        ns: &str,
        name: &str,
    ) -> Option<Arc<Value>> {
        self.remove_with(group, plural, ns, name, None)
    }

    /// Like [`Store::remove`], with `last` as the final state reported to watches
    /// (a write that drops the last finalizer deletes the object it wrote).
    pub fn remove_with(
        &mut self,
        group: &str,
        plural: &str,
        ns: &str,
        name: &str,
        last: Option<Value>,
    ) -> Option<Arc<Value>> {
        let prev = self
            .objects
            .get_mut(&(group.to_string(), plural.to_string()))?
            .remove(&(ns.to_string(), name.to_string()))?;
        self.rv += 1;
        let rv = self.rv;
        let mut last = last.unwrap_or_else(|| (*prev).clone());
        last["metadata"]["resourceVersion"] = json!(rv.to_string());
        if let Some(uid) = last.pointer("/metadata/uid").and_then(Value::as_str) {
            self.uids.remove(uid);
        }
        let loc: Loc = (
            group.to_string(),
            plural.to_string(),
            ns.to_string(),
            name.to_string(),
        );
        self.index(&loc, Some(&prev), None);
        let last = Arc::new(last);
        self.record(Event {
            rv,
            group: group.into(),
            plural: plural.into(),
            namespace: ns.into(),
            etype: EventType::Deleted,
            object: last.clone(),
            prev: Some(prev),
            encoded: Default::default(),
        });
        Some(last)
    }

    /// Keeps the owner and terminating indexes in step with a write.
    fn index(&mut self, loc: &Loc, old: Option<&Value>, new: Option<&Value>) {
        let old_owners = old.map(owner_uids).unwrap_or_default();
        let new_owners = new.map(owner_uids).unwrap_or_default();
        for u in old_owners.iter().filter(|u| !new_owners.contains(u)) {
            if let Some(set) = self.dependents.get_mut(u) {
                set.remove(loc);
                if set.is_empty() {
                    self.dependents.remove(u);
                }
            }
        }
        for u in new_owners {
            self.dependents.entry(u).or_default().insert(loc.clone());
        }
        if new.is_some_and(|o| o.pointer("/metadata/deletionTimestamp").is_some()) {
            self.terminating.insert(loc.clone());
        } else {
            self.terminating.remove(loc);
        }
    }

    /// Objects whose ownerReferences name `uid`.
    pub fn dependents_of(&self, uid: &str) -> Vec<Loc> {
        self.dependents
            .get(uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Owner uids that no longer (or never did) name a stored object but still
    /// have dependents: the garbage collector's work list.
    pub fn absent_owners(&self) -> Vec<String> {
        self.dependents
            .keys()
            .filter(|u| !self.uids.contains_key(*u))
            .cloned()
            .collect()
    }

    /// Objects that carry a deletionTimestamp.
    pub fn terminating(&self) -> Vec<Loc> {
        self.terminating.iter().cloned().collect()
    }

    fn record(&mut self, ev: Event) {
        let ev = Arc::new(ev);
        if self.history.len() >= self.history_limit
            && let Some(old) = self.history.pop_front()
        {
            self.compacted_rv = old.rv;
        }
        self.history.push_back(ev.clone());
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(ev);
    }

    /// Events newer than `rv` still in history, plus a receiver for later ones.
    /// Err(()) when `rv` is older than the compaction point.
    #[allow(clippy::result_unit_err)]
    pub fn subscribe_from(&self, rv: u64) -> Result<Subscription, ()> {
        if rv < self.compacted_rv {
            return Err(());
        }
        let past = self.history.iter().filter(|e| e.rv > rv).cloned().collect();
        Ok((past, self.tx.subscribe()))
    }

    /// A receiver for events after now.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }
}
