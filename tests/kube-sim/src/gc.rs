//! The garbage collector and namespace controller, run synchronously after
//! every delete (the real ones run asynchronously in kube-controller-manager;
//! clients must tolerate either timing).
//!
//! - a dependent whose every `ownerReferences[].uid` is gone is deleted
//!   (background), also when it is written after its owner went; a dependent
//!   with some owners left loses the dangling refs;
//! - an owner deleted with `propagationPolicy=Foreground` carries the
//!   `foregroundDeletion` finalizer until its dependents are gone;
//! - `Orphan` strips the owner's refs from dependents, then drops the `orphan` finalizer;
//! - a terminating namespace has its content deleted, and goes when it is empty.
//!
//! Work comes from the store's indexes (owner uid → dependents, terminating
//! objects), so a delete costs time in proportion to what it affects, not to
//! the size of the cluster.

use std::sync::Arc;

use serde_json::Value;

use crate::engine::State;
use crate::store::Loc;

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

fn has_finalizer(obj: &Value, f: &str) -> bool {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(f)))
}

fn has_metadata_finalizers(obj: &Value) -> bool {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

impl State {
    /// Whether `obj` names an owner that is not (or no longer) stored.
    pub(crate) fn names_absent_owner(&self, obj: &Value) -> bool {
        owner_uids(obj)
            .iter()
            .any(|u| self.store.by_uid(u).is_none())
    }

    /// Runs GC passes until nothing changes.
    pub(crate) fn gc(&mut self) {
        if self.gc_running {
            return;
        }
        self.gc_running = true;
        for _ in 0..1000 {
            if !self.gc_pass() {
                break;
            }
        }
        self.gc_running = false;
    }

    fn load(&self, loc: &Loc) -> Option<Arc<Value>> {
        self.store.get(&loc.0, &loc.1, &loc.2, &loc.3)
    }

    fn strip_refs(&mut self, loc: &Loc, obj: &Value, gone: &[String]) -> bool {
        let mut n = obj.clone();
        if let Some(refs) = n
            .pointer_mut("/metadata/ownerReferences")
            .and_then(Value::as_array_mut)
        {
            refs.retain(|r| {
                !r.get("uid")
                    .and_then(Value::as_str)
                    .is_some_and(|u| gone.iter().any(|g| g == u))
            });
            if refs.is_empty() {
                n["metadata"]
                    .as_object_mut()
                    .map(|m| m.remove("ownerReferences"));
            }
        }
        self.system_update(&loc.0, &loc.1, n, None, "kube-controller-manager")
            .is_ok()
    }

    fn drop_finalizer(&mut self, loc: &Loc, obj: &Value, f: &str) -> bool {
        let mut n = obj.clone();
        if let Some(a) = n
            .pointer_mut("/metadata/finalizers")
            .and_then(Value::as_array_mut)
        {
            a.retain(|v| v.as_str() != Some(f));
        }
        self.system_update(&loc.0, &loc.1, n, None, "kube-controller-manager")
            .is_ok()
    }

    fn gc_pass(&mut self) -> bool {
        let mut changed = false;
        let terminating = self.store.terminating();

        // Namespace controller.
        for (_, _, _, ns_name) in terminating
            .iter()
            .filter(|l| l.0.is_empty() && l.1 == "namespaces")
        {
            let mut remaining = false;
            for (g, p) in self.store.types() {
                let content: Vec<(String, Arc<Value>)> = self
                    .store
                    .iter(&g, &p, Some(ns_name), None)
                    .map(|((_, name), o)| (name.clone(), o.clone()))
                    .collect();
                for (name, o) in content {
                    remaining = true;
                    if o.pointer("/metadata/deletionTimestamp").is_none() {
                        changed = true;
                        self.system_delete(&g, &p, ns_name, &name, "Background");
                    }
                }
            }
            let empty_now = self
                .store
                .types()
                .iter()
                .all(|(g, p)| self.store.iter(g, p, Some(ns_name), None).next().is_none());
            if (empty_now || !remaining)
                && let Some(ns_obj) = self.store.get("", "namespaces", "", ns_name)
                && !has_metadata_finalizers(&ns_obj)
            {
                self.store.remove("", "namespaces", "", ns_name);
                changed = true;
            }
        }
        if changed {
            return true;
        }

        // Owners waiting on foreground deletion or orphaning.
        for loc in &terminating {
            let Some(o) = self.load(loc) else { continue };
            let uid = o
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let deps = self.store.dependents_of(&uid);
            if has_finalizer(&o, "orphan") {
                for dl in &deps {
                    if let Some(d) = self.load(dl) {
                        self.strip_refs(dl, &d, std::slice::from_ref(&uid));
                    }
                }
                if self.drop_finalizer(loc, &o, "orphan") {
                    return true;
                }
            }
            if has_finalizer(&o, "foregroundDeletion") {
                if deps.is_empty() {
                    if self.drop_finalizer(loc, &o, "foregroundDeletion") {
                        return true;
                    }
                    continue;
                }
                for dl in &deps {
                    if self
                        .load(dl)
                        .is_some_and(|d| d.pointer("/metadata/deletionTimestamp").is_none())
                    {
                        self.system_delete(&dl.0, &dl.1, &dl.2, &dl.3, "Foreground");
                        changed = true;
                    }
                }
            }
        }
        if changed {
            return true;
        }

        // Dependents of absent owners.
        for owner in self.store.absent_owners() {
            for loc in self.store.dependents_of(&owner) {
                let Some(o) = self.load(&loc) else { continue };
                let uids = owner_uids(&o);
                let gone: Vec<String> = uids
                    .iter()
                    .filter(|u| self.store.by_uid(u).is_none())
                    .cloned()
                    .collect();
                if gone.is_empty() {
                    continue;
                }
                if gone.len() == uids.len() {
                    if o.pointer("/metadata/deletionTimestamp").is_none() {
                        self.system_delete(&loc.0, &loc.1, &loc.2, &loc.3, "Background");
                        changed = true;
                    }
                } else if self.strip_refs(&loc, &o, &gone) {
                    changed = true;
                }
            }
        }
        changed
    }
}
