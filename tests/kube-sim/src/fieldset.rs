//! Field sets: the ownership records behind server-side apply.
//!
//! A [`FieldSet`] is a set of [`Path`]s into an object. It converts to and from
//! the `fieldsV1` wire format the real server writes into `metadata.managedFields`
//! (`{"f:spec":{"f:replicas":{}}}`, list-map items as `k:{"name":"x"}` with a
//! `".": {}` member marking the item itself).
//!
//! Simplification (documented in the README): the only associative lists are lists
//! of objects that all carry a string `name`, keyed by that name, and the only
//! set list is `metadata.finalizers` (members `v:"<value>"`, as upstream); every
//! other list is atomic (owned and replaced as a whole). The real server reads
//! list types from the OpenAPI schema (`x-kubernetes-list-type`), which we do not have.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// One step of a path: a map field, or a list-map item identified by its `name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElem {
    /// `f:<field>`.
    Field(String),
    /// `k:{"name":"<value>"}`.
    Key(String),
    /// `v:<json value>`: a member of a set list (holds the JSON encoding).
    Value(String),
}

/// Whether the list at `path` is a set (`x-kubernetes-list-type: set` upstream).
pub fn is_set_list(path: &[PathElem]) -> bool {
    matches!(path, [PathElem::Field(a), PathElem::Field(b)] if a == "metadata" && b == "finalizers")
}

fn scalar_key(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A path from the object root.
pub type Path = Vec<PathElem>;

/// Metadata fields the server owns itself; they never appear in managedFields.
const SYSTEM_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "generateName",
];

/// Which part of an object a field set describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole object (status included: kinds without a status subresource).
    All,
    /// Everything but `.status` (main resource of a kind with a status subresource).
    NoStatus,
    /// Only `.status` (the `/status` subresource).
    StatusOnly,
}

/// A set of owned field paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet(pub BTreeSet<Path>);

/// Whether a JSON array is treated as a list-map keyed by `name`.
pub fn is_list_map(v: &[Value]) -> bool {
    !v.is_empty()
        && v.iter()
            .all(|e| e.get("name").and_then(Value::as_str).is_some())
}

fn item_name(v: &Value) -> Option<&str> {
    v.get("name").and_then(Value::as_str)
}

impl FieldSet {
    /// The fields set in `obj` (within `scope`). Explicit nulls are not fields.
    pub fn from_object(obj: &Value, scope: Scope) -> FieldSet {
        let mut out = BTreeSet::new();
        if let Some(m) = obj.as_object() {
            for (k, v) in m {
                let keep = match (k.as_str(), scope) {
                    ("apiVersion" | "kind", _) => false,
                    ("status", Scope::NoStatus) => false,
                    ("status", _) => true,
                    (_, Scope::StatusOnly) => false,
                    _ => true,
                };
                if !keep {
                    continue;
                }
                let path = vec![PathElem::Field(k.clone())];
                if k == "metadata" {
                    if let Some(md) = v.as_object() {
                        for (mk, mv) in md {
                            if !SYSTEM_METADATA.contains(&mk.as_str()) {
                                let mut p = path.clone();
                                p.push(PathElem::Field(mk.clone()));
                                walk(mv, p, &mut out);
                            }
                        }
                    }
                } else {
                    walk(v, path, &mut out);
                }
            }
        }
        FieldSet(out)
    }

    /// Parses a `fieldsV1` value.
    pub fn from_fields_v1(v: &Value) -> FieldSet {
        let mut out = BTreeSet::new();
        parse_node(v, &mut Vec::new(), &mut out);
        FieldSet(out)
    }

    /// Renders the set in `fieldsV1` format.
    pub fn to_fields_v1(&self) -> Value {
        #[derive(Default)]
        struct Node {
            member: bool,
            children: BTreeMap<String, Node>,
        }
        let mut root = Node::default();
        for p in &self.0 {
            let mut n = &mut root;
            for e in p {
                n = n.children.entry(elem_key(e)).or_default();
            }
            n.member = true;
        }
        fn render(n: &Node) -> Value {
            let mut m = Map::new();
            if n.member && !n.children.is_empty() {
                m.insert(".".into(), json!({}));
            }
            for (k, c) in &n.children {
                m.insert(k.clone(), render(c));
            }
            Value::Object(m)
        }
        render(&root)
    }

    /// True when the set has no paths.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether any member equals `prefix` or lies beneath it.
    pub fn has_prefix(&self, prefix: &[PathElem]) -> bool {
        self.0
            .range(prefix.to_vec()..)
            .next()
            .is_some_and(|p| p.starts_with(prefix))
    }

    /// Members that are not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.difference(&other.0).cloned().collect())
    }

    /// Members that are also in `other`.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.intersection(&other.0).cloned().collect())
    }

    /// Keeps only members that still exist in `obj`.
    pub fn retain_existing(&mut self, obj: &Value) {
        self.0.retain(|p| get_path(obj, p).is_some());
    }
}

fn elem_key(e: &PathElem) -> String {
    match e {
        PathElem::Field(f) => format!("f:{f}"),
        PathElem::Key(n) => format!("k:{}", json!({ "name": n })),
        PathElem::Value(v) => format!("v:{v}"),
    }
}

fn walk(v: &Value, path: Path, out: &mut BTreeSet<Path>) {
    match v {
        Value::Null => {}
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                let mut p = path.clone();
                p.push(PathElem::Field(k.clone()));
                walk(c, p, out);
            }
        }
        Value::Array(items)
            if is_set_list(&path)
                && !items.is_empty()
                && items.iter().all(|i| !i.is_object() && !i.is_array()) =>
        {
            for it in items {
                let mut p = path.clone();
                p.push(PathElem::Value(scalar_key(it)));
                out.insert(p);
            }
        }
        Value::Array(items) if is_list_map(items) => {
            for it in items {
                let name = item_name(it).unwrap_or_default().to_string();
                let mut p = path.clone();
                p.push(PathElem::Key(name));
                out.insert(p.clone());
                walk(it, p, out);
            }
        }
        _ => {
            out.insert(path);
        }
    }
}

fn parse_node(v: &Value, path: &mut Path, out: &mut BTreeSet<Path>) {
    let Some(m) = v.as_object() else { return };
    for (k, c) in m {
        if k == "." {
            if !path.is_empty() {
                out.insert(path.clone());
            }
            continue;
        }
        let elem = if let Some(f) = k.strip_prefix("f:") {
            PathElem::Field(f.to_string())
        } else if let Some(key) = k.strip_prefix("k:") {
            match serde_json::from_str::<Value>(key)
                .ok()
                .as_ref()
                .and_then(|o| o.get("name"))
                .and_then(Value::as_str)
            {
                Some(n) => PathElem::Key(n.to_string()),
                None => continue,
            }
        } else if let Some(v) = k.strip_prefix("v:") {
            PathElem::Value(v.to_string())
        } else {
            // `i:` (indices) is never produced by this simulator.
            continue;
        };
        path.push(elem);
        if c.as_object().is_some_and(|o| o.is_empty()) {
            out.insert(path.clone());
        } else {
            parse_node(c, path, out);
        }
        path.pop();
    }
}

/// The value at `path`, if present (explicit null counts as absent).
pub fn get_path<'a>(obj: &'a Value, path: &[PathElem]) -> Option<&'a Value> {
    let mut cur = obj;
    for e in path {
        cur = match e {
            PathElem::Field(f) => cur.get(f)?,
            PathElem::Key(n) => cur.as_array()?.iter().find(|it| item_name(it) == Some(n))?,
            PathElem::Value(v) => cur.as_array()?.iter().find(|it| scalar_key(it) == *v)?,
        };
    }
    if cur.is_null() { None } else { Some(cur) }
}

/// Removes the field or list item at `path`. Returns whether something was removed.
pub fn remove_path(obj: &mut Value, path: &[PathElem]) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    let mut cur = obj;
    for e in parent {
        let next = match e {
            PathElem::Field(f) => cur.get_mut(f),
            PathElem::Key(n) => cur
                .as_array_mut()
                .and_then(|a| a.iter_mut().find(|it| item_name(it) == Some(n))),
            PathElem::Value(_) => None,
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    match last {
        PathElem::Field(f) => cur.as_object_mut().and_then(|m| m.remove(f)).is_some(),
        PathElem::Key(n) => match cur.as_array_mut() {
            Some(a) => {
                let before = a.len();
                a.retain(|it| item_name(it) != Some(n));
                a.len() != before
            }
            None => false,
        },
        PathElem::Value(v) => match cur.as_array_mut() {
            Some(a) => {
                let before = a.len();
                a.retain(|it| scalar_key(it) != *v);
                a.len() != before
            }
            None => false,
        },
    }
}

/// Renders a path the way the real server prints it in conflict messages:
/// `.spec.containers[name="nginx"].image`.
pub fn path_string(path: &[PathElem]) -> String {
    let mut s = String::new();
    for e in path {
        match e {
            PathElem::Field(f) => {
                s.push('.');
                s.push_str(f);
            }
            PathElem::Key(n) => s.push_str(&format!("[name={}]", json!(n))),
            PathElem::Value(v) => s.push_str(&format!("[={v}]")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_fields_v1() {
        let obj = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "labels": {"app": "x"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
        });
        let set = FieldSet::from_object(&obj, Scope::All);
        let v1 = set.to_fields_v1();
        assert_eq!(
            v1,
            json!({
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"c\"}": {".": {}, "f:image": {}, "f:name": {}}
                }}}}
            })
        );
        assert_eq!(FieldSet::from_fields_v1(&v1), set);
    }

    #[test]
    fn paths_print_like_the_server() {
        let p = vec![
            PathElem::Field("spec".into()),
            PathElem::Key("c".into()),
            PathElem::Field("image".into()),
        ];
        assert_eq!(path_string(&p), ".spec[name=\"c\"].image");
    }

    #[test]
    fn remove_and_get() {
        let mut obj = json!({"spec": {"l": [{"name": "a", "v": 1}, {"name": "b"}]}});
        let p = vec![
            PathElem::Field("spec".into()),
            PathElem::Field("l".into()),
            PathElem::Key("a".into()),
        ];
        assert!(get_path(&obj, &p).is_some());
        assert!(remove_path(&mut obj, &p));
        assert_eq!(obj, json!({"spec": {"l": [{"name": "b"}]}}));
    }
}
