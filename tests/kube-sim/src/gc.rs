//! The garbage collector and namespace controller, run synchronously after
//! every delete (the real ones run asynchronously in kube-controller-manager;
//! clients must tolerate either timing).
//!
//! - a dependent whose every `ownerReferences[].uid` is gone is deleted
//!   (background); a dependent with some owners left loses the dangling refs;
//! - an owner deleted with `propagationPolicy=Foreground` carries the
//!   `foregroundDeletion` finalizer until its dependents are gone;
//! - `Orphan` strips the owner's refs from dependents, then drops the `orphan` finalizer;
//! - a terminating namespace has its content deleted, and goes when it is empty.

use serde_json::Value;

use crate::engine::State;

type Loc = (String, String, String, String); // group, plural, namespace, name

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

impl State {
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

    fn all_objects(&self) -> Vec<(Loc, std::sync::Arc<Value>)> {
        let mut out = Vec::new();
        for (g, p) in self.store.types() {
            for ((ns, name), o) in self.store.iter(&g, &p, None, None) {
                out.push(((g.clone(), p.clone(), ns.clone(), name.clone()), o.clone()));
            }
        }
        out
    }

    fn dependents_of(
        &self,
        all: &[(Loc, std::sync::Arc<Value>)],
        uid: &str,
    ) -> Vec<(Loc, std::sync::Arc<Value>)> {
        all.iter()
            .filter(|(_, o)| owner_uids(o).iter().any(|u| u == uid))
            .cloned()
            .collect()
    }

    fn strip_refs(&mut self, loc: &Loc, obj: &Value, gone: &[String]) {
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
        let _ = self.system_update(&loc.0, &loc.1, n, None, "kube-controller-manager");
    }

    fn drop_finalizer(&mut self, loc: &Loc, obj: &Value, f: &str) {
        let mut n = obj.clone();
        if let Some(a) = n
            .pointer_mut("/metadata/finalizers")
            .and_then(Value::as_array_mut)
        {
            a.retain(|v| v.as_str() != Some(f));
        }
        let _ = self.system_update(&loc.0, &loc.1, n, None, "kube-controller-manager");
    }

    fn gc_pass(&mut self) -> bool {
        let mut changed = false;
        let all = self.all_objects();

        // Namespace controller.
        for ((_, _, _, ns_name), ns_obj) in all.iter().filter(|(l, o)| {
            l.0.is_empty()
                && l.1 == "namespaces"
                && o.pointer("/metadata/deletionTimestamp").is_some()
        }) {
            let mut remaining = false;
            for ((g, p, ns, name), o) in all
                .iter()
                .filter(|(l, _)| &l.2 == ns_name && !l.2.is_empty())
            {
                if o.pointer("/metadata/deletionTimestamp").is_none() {
                    changed = true;
                    if !self.system_delete(g, p, ns, name, "Background") {
                        remaining = true;
                    }
                } else {
                    remaining = true;
                }
            }
            if !remaining && !has_metadata_finalizers(ns_obj) {
                self.store.remove("", "namespaces", "", ns_name);
                changed = true;
            }
        }
        if changed {
            return true;
        }

        // Owners waiting on foreground deletion or orphaning.
        for (loc, o) in all
            .iter()
            .filter(|(_, o)| o.pointer("/metadata/deletionTimestamp").is_some())
        {
            let uid = o
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let deps = self.dependents_of(&all, &uid);
            if has_finalizer(o, "orphan") {
                for (dl, d) in &deps {
                    self.strip_refs(dl, d, std::slice::from_ref(&uid));
                }
                self.drop_finalizer(loc, o, "orphan");
                return true;
            }
            if has_finalizer(o, "foregroundDeletion") {
                if deps.is_empty() {
                    self.drop_finalizer(loc, o, "foregroundDeletion");
                    return true;
                }
                for (dl, d) in &deps {
                    if d.pointer("/metadata/deletionTimestamp").is_none() {
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
        for (loc, o) in &all {
            let uids = owner_uids(o);
            if uids.is_empty() {
                continue;
            }
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
            } else {
                self.strip_refs(loc, o, &gone);
                changed = true;
            }
        }
        changed
    }
}

fn has_metadata_finalizers(obj: &Value) -> bool {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}
