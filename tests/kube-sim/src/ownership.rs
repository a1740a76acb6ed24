//! `metadata.managedFields` bookkeeping and the server-side apply merge.
//!
//! Rules implemented (the ones clients rely on):
//! - an Apply from manager M owns exactly the fields of its applied config;
//! - a field M applied before and leaves out now is removed from the object,
//!   unless another manager (Apply or Update) still owns it or something under it;
//! - applying a field another manager owns with a *different* value is a conflict
//!   (409 listing every conflict), unless `force`, which moves ownership to M;
//!   the same value makes M a co-owner;
//! - Update operations (create, PUT, merge/JSON/strategic patches) give the
//!   writing manager the fields whose values they changed and take those fields
//!   away from every other manager, without conflicts.

use serde_json::{Value, json};

use crate::fieldset::{
    FieldSet, ListKind, Path, PathElem, Schema, Scope, get_path, is_key_field, item_key,
    path_string, remove_path,
};
use crate::status::{self, ApiError};

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Field manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// apiVersion the manager used.
    pub api_version: String,
    /// RFC 3339 time of the manager's last change.
    pub time: String,
    /// `""` or `status` / `scale`.
    pub subresource: String,
    /// Owned fields.
    pub set: FieldSet,
}

/// Reads the managedFields entries of an object (malformed entries are skipped).
pub fn read_entries(obj: &Value) -> Vec<Entry> {
    let Some(list) = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|e| {
            Some(Entry {
                manager: e.get("manager")?.as_str()?.to_string(),
                operation: e
                    .get("operation")
                    .and_then(Value::as_str)
                    .unwrap_or("Update")
                    .to_string(),
                api_version: e
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                time: e
                    .get("time")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                subresource: e
                    .get("subresource")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                set: FieldSet::from_fields_v1(e.get("fieldsV1").unwrap_or(&Value::Null)),
            })
        })
        .collect()
}

/// Writes entries back into `metadata.managedFields` (dropping empty ones, as the server does).
pub fn write_entries(obj: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.set.is_empty());
    let list: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": e.set.to_fields_v1(),
            });
            if !e.subresource.is_empty() {
                v["subresource"] = json!(e.subresource);
            }
            v
        })
        .collect();
    if let Some(md) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            md.remove("managedFields");
        } else {
            md.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// How the server names a manager in conflict messages (`printManager` upstream).
fn display_manager(e: &Entry) -> String {
    let mut s = format!("{:?}", e.manager);
    if !e.subresource.is_empty() {
        s = format!("{s} with subresource {:?}", e.subresource);
    }
    if e.operation == "Update" {
        s = format!("{s} using {}", e.api_version);
    }
    s
}

fn subresource_of(scope: Scope) -> &'static str {
    if scope == Scope::StatusOnly {
        "status"
    } else {
        ""
    }
}

/// Restricts an applied/updated body to the part `scope` may change.
pub fn scoped(body: &Value, scope: Scope) -> Value {
    let mut v = body.clone();
    if let Some(m) = v.as_object_mut() {
        match scope {
            Scope::All => {}
            Scope::NoStatus => {
                m.remove("status");
            }
            Scope::StatusOnly => {
                m.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"))
            }
        }
    }
    v
}

/// Server-side apply of `applied` by `manager` onto `live` (None: the object is created).
/// Returns the merged object with updated managedFields, or a 409 conflict error.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    scope: Scope,
    schema: Option<&Value>,
    now: &str,
) -> Result<Value, ApiError> {
    let applied = scoped(applied, scope);
    let api_version = applied
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let new_set = FieldSet::from_object(&applied, scope, schema);
    let sub = subresource_of(scope);
    let mut obj = live.cloned().unwrap_or_else(|| json!({}));
    let mut entries = read_entries(&obj);
    let mine = |e: &Entry| e.manager == manager && e.operation == "Apply" && e.subresource == sub;

    // Conflicts: fields another manager owns whose value would change.
    let mut conflicts: Vec<(usize, Path)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if mine(e) {
            continue;
        }
        for p in e.set.intersection(&new_set).0 {
            if matches!(p.last(), Some(PathElem::Key(_) | PathElem::Value(_))) {
                continue; // a list item's identity; its fields are compared separately
            }
            if get_path(&obj, &p) != get_path(&applied, &p) {
                conflicts.push((i, p));
            }
        }
    }
    if !conflicts.is_empty() {
        if !force {
            let list: Vec<(String, String)> = conflicts
                .iter()
                .map(|(i, p)| (display_manager(&entries[*i]), path_string(p)))
                .collect();
            return Err(status::apply_conflict(&list));
        }
        for (i, p) in &conflicts {
            entries[*i].set.0.remove(p);
        }
    }

    // Fields this manager applied before and no longer applies.
    let previous = entries
        .iter()
        .find(|e| mine(e))
        .map(|e| e.set.clone())
        .unwrap_or_default();
    let removed = previous.difference(&new_set);
    let mut others = FieldSet::default();
    for e in entries.iter().filter(|e| !mine(e)) {
        others.0.extend(e.set.0.iter().cloned());
    }
    // Shallowest first: a removable list item or map goes as a whole, and the
    // paths beneath it are then skipped. The `name` key of a list item that
    // stays (someone else owns part of it) is never removed on its own.
    let mut paths: Vec<&Path> = removed.0.iter().collect();
    paths.sort_by_key(|p| p.len());
    let mut gone: Vec<Path> = Vec::new();
    for p in paths {
        if gone.iter().any(|g| p.starts_with(g)) || others.has_prefix(p) {
            continue;
        }
        let is_item_key = p.len() >= 2
            && matches!(&p[p.len() - 1], PathElem::Field(f) if is_key_field(&p[p.len() - 2], f));
        if is_item_key {
            continue;
        }
        if remove_path(&mut obj, p) {
            gone.push(p.clone());
            prune_empty_parents(&mut obj, p, &others, &new_set);
        }
    }

    merge_apply(&mut obj, &applied, Schema::root(schema), &mut Vec::new());

    match entries.iter_mut().find(|e| mine(e)) {
        Some(e) => {
            if e.set != new_set {
                e.time = now.to_string();
            }
            e.set = new_set;
            e.api_version = api_version;
        }
        None => entries.push(Entry {
            manager: manager.to_string(),
            operation: "Apply".into(),
            api_version,
            time: now.to_string(),
            subresource: sub.to_string(),
            set: new_set,
        }),
    }
    for e in entries.iter_mut() {
        e.set.retain_existing(&obj);
    }
    write_entries(&mut obj, entries);
    Ok(obj)
}

/// Removes maps left empty by a removal when nobody owns them (the real server
/// does not keep `labels: {}` behind once its last owned label is gone).
fn prune_empty_parents(obj: &mut Value, path: &[PathElem], others: &FieldSet, new_set: &FieldSet) {
    let mut p = path.to_vec();
    while p.len() > 2 {
        p.pop();
        let empty = get_path(obj, &p).is_some_and(|v| {
            v.as_object().is_some_and(|m| m.is_empty())
                || v.as_array().is_some_and(|a| a.is_empty())
        });
        if !empty || others.has_prefix(&p) || new_set.has_prefix(&p) {
            break;
        }
        remove_path(obj, &p);
    }
}

/// Merges an applied config into an object: maps recursively, list-maps by
/// their keys, sets by union, atomic lists and scalars replaced; explicit nulls
/// remove a field. List types come from `schema` (see [`Schema`]).
pub fn merge_apply(target: &mut Value, applied: &Value, schema: Schema<'_>, path: &mut Path) {
    match (target, applied) {
        (Value::Object(t), Value::Object(a)) => {
            let root = path.is_empty();
            for (k, av) in a {
                if av.is_null() {
                    t.remove(k);
                } else if let Some(tv) = t.get_mut(k) {
                    path.push(PathElem::Field(k.clone()));
                    merge_apply(tv, av, schema.field(k, root), path);
                    path.pop();
                } else {
                    let mut v = av.clone();
                    strip_nulls(&mut v);
                    t.insert(k.clone(), v);
                }
            }
        }
        (Value::Array(t), Value::Array(a)) if !a.is_empty() => match schema.list_kind(path, a) {
            ListKind::Map(keys)
                if a.iter()
                    .chain(t.iter())
                    .all(|it| item_key(it, &keys).is_some()) =>
            {
                for item in a {
                    let key = item_key(item, &keys);
                    match t.iter_mut().find(|it| item_key(it, &keys) == key) {
                        Some(existing) => {
                            path.push(key.clone().expect("checked above"));
                            merge_apply(existing, item, schema.items(), path);
                            path.pop();
                        }
                        None => {
                            let mut v = item.clone();
                            strip_nulls(&mut v);
                            t.push(v);
                        }
                    }
                }
            }
            ListKind::Set => {
                for v in a {
                    if !t.contains(v) {
                        t.push(v.clone());
                    }
                }
            }
            _ => *t = a.clone(),
        },
        (t, a) => {
            let mut v = a.clone();
            strip_nulls(&mut v);
            *t = v;
        }
    }
}

fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, c| !c.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Records an Update-operation write by `manager`: it takes ownership of every
/// field it changed (from `old` to `new`), other managers lose those fields.
/// `new`'s managedFields are rebuilt from `old`'s.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    scope: Scope,
    schema: Option<&Value>,
    now: &str,
) {
    let sub = subresource_of(scope);
    let api_version = new
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut entries = old.map(read_entries).unwrap_or_default();
    let new_set = FieldSet::from_object(new, scope, schema);
    let changed: FieldSet = FieldSet(
        new_set
            .0
            .into_iter()
            .filter(|p| match old {
                None => true,
                Some(o) => match p.last() {
                    Some(PathElem::Key(_) | PathElem::Value(_)) => get_path(o, p).is_none(),
                    _ => get_path(o, p) != get_path(new, p),
                },
            })
            .collect(),
    );
    if !changed.is_empty() {
        for e in entries.iter_mut() {
            e.set = e.set.difference(&changed);
        }
        match entries
            .iter_mut()
            .find(|e| e.manager == manager && e.operation == "Update" && e.subresource == sub)
        {
            Some(e) => {
                e.set.0.extend(changed.0);
                e.time = now.to_string();
                e.api_version = api_version;
            }
            None => entries.push(Entry {
                manager: manager.to_string(),
                operation: "Update".into(),
                api_version,
                time: now.to_string(),
                subresource: sub.to_string(),
                set: changed,
            }),
        }
    }
    for e in entries.iter_mut() {
        e.set.retain_existing(new);
    }
    write_entries(new, entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data})
    }

    #[test]
    fn apply_owns_and_removes_dropped_fields() {
        let o = apply(
            None,
            &cm(json!({"a": "1", "b": "2"})),
            "m1",
            false,
            Scope::All,
            None,
            "t",
        )
        .unwrap();
        let o = apply(
            Some(&o),
            &cm(json!({"a": "1"})),
            "m1",
            false,
            Scope::All,
            None,
            "t",
        )
        .unwrap();
        assert_eq!(o["data"], json!({"a": "1"}));
        assert_eq!(
            o["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:data": {"f:a": {}}})
        );
    }

    #[test]
    fn conflict_then_force_transfers() {
        let o = apply(
            None,
            &cm(json!({"a": "1"})),
            "m1",
            false,
            Scope::All,
            None,
            "t",
        )
        .unwrap();
        let err = apply(
            Some(&o),
            &cm(json!({"a": "2"})),
            "m2",
            false,
            Scope::All,
            None,
            "t",
        )
        .unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(
            err.message(),
            "Apply failed with 1 conflict: conflict with \"m1\": .data.a"
        );
        let o = apply(
            Some(&o),
            &cm(json!({"a": "2"})),
            "m2",
            true,
            Scope::All,
            None,
            "t",
        )
        .unwrap();
        assert_eq!(o["data"]["a"], "2");
        let mf = o["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 1);
        assert_eq!(mf[0]["manager"], "m2");
    }

    #[test]
    fn finalizers_are_a_set_with_per_member_ownership() {
        let with = |fins: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": fins}});
        let o = apply(
            None,
            &with(json!(["a/x"])),
            "m1",
            false,
            Scope::All,
            None,
            "t",
        )
        .unwrap();
        let o = apply(
            Some(&o),
            &with(json!(["b/y"])),
            "m2",
            false,
            Scope::All,
            None,
            "t",
        )
        .unwrap();
        assert_eq!(o["metadata"]["finalizers"], json!(["a/x", "b/y"]));
        assert_eq!(
            o["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:metadata": {"f:finalizers": {"v:\"a/x\"": {}}}})
        );
        let o = apply(
            Some(&o),
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            "m1",
            false,
            Scope::All,
            None,
            "t",
        )
        .unwrap();
        assert_eq!(o["metadata"]["finalizers"], json!(["b/y"]));
        let o = apply(
            Some(&o),
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            "m2",
            false,
            Scope::All,
            None,
            "t",
        )
        .unwrap();
        assert!(o["metadata"].get("finalizers").is_none());
    }

    #[test]
    fn shared_field_survives_one_owner_leaving() {
        let o = apply(
            None,
            &cm(json!({"a": "1"})),
            "m1",
            false,
            Scope::All,
            None,
            "t",
        )
        .unwrap();
        let o = apply(
            Some(&o),
            &cm(json!({"a": "1"})),
            "m2",
            false,
            Scope::All,
            None,
            "t",
        )
        .unwrap();
        let o = apply(Some(&o), &cm(json!({})), "m1", false, Scope::All, None, "t").unwrap();
        assert_eq!(o["data"]["a"], "1");
    }
}
