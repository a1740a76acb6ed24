//! Field sets: the ownership records behind server-side apply.
//!
//! A [`FieldSet`] is a set of [`Path`]s into an object. It converts to and from
//! the `fieldsV1` wire format the real server writes into `metadata.managedFields`
//! (`{"f:spec":{"f:replicas":{}}}`, list-map items as `k:{"name":"x"}` with a
//! `".": {}` member marking the item itself, set members as `v:"x"`).
//!
//! How a list is merged and owned depends on its list type ([`ListKind`]):
//! - custom resources: from the CRD schema, exactly as upstream
//!   (`x-kubernetes-list-type: map` with `x-kubernetes-list-map-keys`, `set`,
//!   otherwise atomic);
//! - built-in kinds (no schema here; a simplification documented in the README):
//!   a list of objects that all carry a string `name` is a map keyed by `name`,
//!   `metadata.finalizers` is a set, every other list is atomic.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElem {
    /// `f:<field>`.
    Field(String),
    /// `k:<json object of the key fields>`, e.g. `k:{"name":"c"}`.
    Key(String),
    /// `v:<json value>`: a member of a set list.
    Value(String),
}

impl PathElem {
    /// A list-map key element from key field values.
    pub fn key(fields: &Map<String, Value>) -> PathElem {
        PathElem::Key(Value::Object(fields.clone()).to_string())
    }

    /// The `name`-keyed element built-in list-maps use.
    pub fn named(name: &str) -> PathElem {
        PathElem::Key(json!({ "name": name }).to_string())
    }
}

/// A path from the object root.
pub type Path = Vec<PathElem>;

/// How a list is merged and owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    /// Items identified by these key fields, each owned separately.
    Map(Vec<String>),
    /// Scalar members, each owned separately.
    Set,
    /// The list as a whole.
    Atomic,
}

/// Where list types come from at some point of an object.
#[derive(Debug, Clone, Copy)]
pub enum Schema<'a> {
    /// A built-in kind: use the name/finalizers heuristics.
    Builtin,
    /// A CRD schema node.
    Node(&'a Value),
    /// Inside a CRD subtree the schema does not describe: everything atomic.
    Unknown,
}

impl<'a> Schema<'a> {
    /// The root schema: the CRD's, or built-in when None.
    pub fn root(crd: Option<&'a Value>) -> Schema<'a> {
        crd.map_or(Schema::Builtin, Schema::Node)
    }

    /// The schema of field `f` below this node (`root` marks the object root,
    /// where `metadata` is always the built-in ObjectMeta).
    pub fn field(self, f: &str, root: bool) -> Schema<'a> {
        match self {
            Schema::Builtin => Schema::Builtin,
            Schema::Unknown => Schema::Unknown,
            Schema::Node(_) if root && f == "metadata" => Schema::Builtin,
            Schema::Node(s) => match s.get("properties").and_then(|p| p.get(f)) {
                Some(sub) => Schema::Node(sub),
                None => match s.get("additionalProperties").filter(|a| a.is_object()) {
                    Some(sub) => Schema::Node(sub),
                    None => Schema::Unknown,
                },
            },
        }
    }

    /// The schema of list items below this node.
    pub fn items(self) -> Schema<'a> {
        match self {
            Schema::Node(s) => s.get("items").map_or(Schema::Unknown, Schema::Node),
            other => other,
        }
    }

    /// The list type of the list at `path` (with schema node `self`) holding `items`.
    pub fn list_kind(self, path: &[PathElem], items: &[Value]) -> ListKind {
        match self {
            Schema::Builtin => builtin_list_kind(path, items),
            Schema::Node(s) => match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
                Some("map") => {
                    let keys: Vec<String> = s
                        .get("x-kubernetes-list-map-keys")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|k| k.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    if keys.is_empty() {
                        ListKind::Atomic
                    } else {
                        ListKind::Map(keys)
                    }
                }
                Some("set") => ListKind::Set,
                _ => ListKind::Atomic,
            },
            Schema::Unknown => ListKind::Atomic,
        }
    }
}

/// List types of built-in kinds, from the upstream OpenAPI markers of the
/// fields our manifests use; unknown fields fall back to "objects that all have
/// a `name` are keyed by it", everything else is atomic (as upstream's default).
pub fn builtin_list_kind(path: &[PathElem], items: &[Value]) -> ListKind {
    if is_set_list(path) {
        return ListKind::Set;
    }
    let field = |i: usize| match path.len().checked_sub(i).and_then(|j| path.get(j)) {
        Some(PathElem::Field(f)) => f.as_str(),
        _ => "",
    };
    let keys: &[&str] = match field(1) {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => &["name"],
        "volumeMounts" | "volumeDevices" => &["mountPath"],
        "conditions" => &["type"],
        "ownerReferences" => &["uid"],
        "hostAliases" => &["ip"],
        "topologySpreadConstraints" => &["topologyKey", "whenUnsatisfiable"],
        // Container ports are keyed by containerPort+protocol upstream and Service
        // ports by port+protocol; protocol is often omitted in applied configs (and
        // defaulted later), so only the port number keys items here.
        "ports" if matches!(path.get(path.len().wrapping_sub(2)), Some(PathElem::Key(_))) => {
            &["containerPort"]
        }
        "ports" if path.len() == 2 && field(2) == "spec" => &["port"],
        "args" | "command" | "tolerations" | "envFrom" | "accessModes" => return ListKind::Atomic,
        _ if is_list_map(items) => &["name"],
        _ => return ListKind::Atomic,
    };
    ListKind::Map(keys.iter().map(|k| k.to_string()).collect())
}

/// Whether the built-in list at `path` is a set (`metadata.finalizers`).
pub fn is_set_list(path: &[PathElem]) -> bool {
    matches!(path, [PathElem::Field(a), PathElem::Field(b)] if a == "metadata" && b == "finalizers")
}

/// Whether a JSON array looks like a built-in list-map keyed by `name`.
pub fn is_list_map(v: &[Value]) -> bool {
    !v.is_empty()
        && v.iter()
            .all(|e| e.get("name").and_then(Value::as_str).is_some())
}

fn scalar_key(v: &Value) -> String {
    v.to_string()
}

/// The key element of list item `item` for key fields `keys` (None when the item lacks them all).
pub fn item_key(item: &Value, keys: &[String]) -> Option<PathElem> {
    let mut m = Map::new();
    for k in keys {
        if let Some(v) = item.get(k) {
            m.insert(k.clone(), v.clone());
        }
    }
    if m.is_empty() {
        None
    } else {
        Some(PathElem::key(&m))
    }
}

fn key_fields(key: &str) -> Map<String, Value> {
    serde_json::from_str::<Value>(key)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
}

fn item_matches(item: &Value, key: &str) -> bool {
    let fields = key_fields(key);
    !fields.is_empty() && fields.iter().all(|(k, v)| item.get(k) == Some(v))
}

/// Whether `field` is one of the key fields of list-map element `key`.
pub fn is_key_field(key: &PathElem, field: &str) -> bool {
    matches!(key, PathElem::Key(k) if key_fields(k).contains_key(field))
}

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

impl FieldSet {
    /// The fields set in `obj` (within `scope`), with list types from `schema`
    /// (the CRD schema for custom resources, None for built-in kinds).
    /// Explicit nulls are not fields.
    pub fn from_object(obj: &Value, scope: Scope, schema: Option<&Value>) -> FieldSet {
        let root = Schema::root(schema);
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
                let sub = root.field(k, true);
                if k == "metadata" {
                    if let Some(md) = v.as_object() {
                        for (mk, mv) in md {
                            if !SYSTEM_METADATA.contains(&mk.as_str()) {
                                let mut p = path.clone();
                                p.push(PathElem::Field(mk.clone()));
                                walk(mv, p, sub.field(mk, false), &mut out);
                            }
                        }
                    }
                } else {
                    walk(v, path, sub, &mut out);
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
        PathElem::Key(k) => format!("k:{k}"),
        PathElem::Value(v) => format!("v:{v}"),
    }
}

fn walk(v: &Value, path: Path, schema: Schema<'_>, out: &mut BTreeSet<Path>) {
    match v {
        Value::Null => {}
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                let mut p = path.clone();
                p.push(PathElem::Field(k.clone()));
                walk(c, p, schema.field(k, false), out);
            }
        }
        Value::Array(items) if !items.is_empty() => match schema.list_kind(&path, items) {
            ListKind::Map(keys) if items.iter().all(|it| item_key(it, &keys).is_some()) => {
                for it in items {
                    let mut p = path.clone();
                    p.push(item_key(it, &keys).expect("checked above"));
                    out.insert(p.clone());
                    walk(it, p, schema.items(), out);
                }
            }
            ListKind::Set if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
                for it in items {
                    let mut p = path.clone();
                    p.push(PathElem::Value(scalar_key(it)));
                    out.insert(p);
                }
            }
            _ => {
                out.insert(path);
            }
        },
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
            // Re-encode, so key field order never makes two spellings of one key.
            match serde_json::from_str::<Value>(key)
                .ok()
                .and_then(|v| v.as_object().cloned())
            {
                Some(fields) => PathElem::key(&fields),
                None => continue,
            }
        } else if let Some(v) = k.strip_prefix("v:") {
            match serde_json::from_str::<Value>(v) {
                Ok(val) => PathElem::Value(scalar_key(&val)),
                Err(_) => continue,
            }
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
            PathElem::Key(k) => cur.as_array()?.iter().find(|it| item_matches(it, k))?,
            PathElem::Value(v) => cur.as_array()?.iter().find(|it| scalar_key(it) == *v)?,
        };
    }
    if cur.is_null() { None } else { Some(cur) }
}

/// Removes the field, list item or set member at `path`. Returns whether something was removed.
pub fn remove_path(obj: &mut Value, path: &[PathElem]) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    let mut cur = obj;
    for e in parent {
        let next = match e {
            PathElem::Field(f) => cur.get_mut(f),
            PathElem::Key(k) => cur
                .as_array_mut()
                .and_then(|a| a.iter_mut().find(|it| item_matches(it, k))),
            PathElem::Value(_) => None,
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    let remove_from = |a: &mut Vec<Value>, f: &dyn Fn(&Value) -> bool| {
        let before = a.len();
        a.retain(|it| !f(it));
        a.len() != before
    };
    match last {
        PathElem::Field(f) => cur.as_object_mut().and_then(|m| m.remove(f)).is_some(),
        PathElem::Key(k) => cur
            .as_array_mut()
            .is_some_and(|a| remove_from(a, &|it| item_matches(it, k))),
        PathElem::Value(v) => cur
            .as_array_mut()
            .is_some_and(|a| remove_from(a, &|it| scalar_key(it) == *v)),
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
            PathElem::Key(k) => {
                let parts: Vec<String> = key_fields(k)
                    .iter()
                    .map(|(f, v)| format!("{f}={v}"))
                    .collect();
                s.push_str(&format!("[{}]", parts.join(",")));
            }
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
            "metadata": {"name": "a", "labels": {"app": "x"}, "finalizers": ["f"]},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
        });
        let set = FieldSet::from_object(&obj, Scope::All, None);
        let v1 = set.to_fields_v1();
        assert_eq!(
            v1,
            json!({
                "f:metadata": {"f:labels": {"f:app": {}}, "f:finalizers": {"v:\"f\"": {}}},
                "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"c\"}": {".": {}, "f:image": {}, "f:name": {}}
                }}}}
            })
        );
        assert_eq!(FieldSet::from_fields_v1(&v1), set);
    }

    #[test]
    fn crd_schemas_decide_list_types() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "atomic": {"type": "array", "items": {"type": "object"}},
            "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port", "protocol"],
                      "items": {"type": "object", "properties": {"port": {"type": "integer"}, "protocol": {"type": "string"}}}},
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}
        }}}});
        let obj = json!({"spec": {"atomic": [{"name": "a"}], "ports": [{"port": 80, "protocol": "TCP"}], "tags": ["x"]}});
        let set = FieldSet::from_object(&obj, Scope::All, Some(&schema));
        assert_eq!(
            set.to_fields_v1(),
            json!({"f:spec": {
                "f:atomic": {},
                "f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}, "f:protocol": {}}},
                "f:tags": {"v:\"x\"": {}}
            }})
        );
        let p: Path = set.0.iter().find(|p| p.len() == 4).unwrap().clone();
        assert_eq!(
            path_string(&p),
            ".spec.ports[port=80,protocol=\"TCP\"].port"
        );
        assert!(get_path(&obj, &p).is_some());
    }

    #[test]
    fn builtin_list_types_follow_upstream_markers() {
        let obj = json!({"spec": {"template": {"spec": {"containers": [{"name": "c",
            "volumeMounts": [{"name": "v", "mountPath": "/data"}], "ports": [{"containerPort": 80}], "args": ["a"]}],
            "tolerations": [{"key": "k"}]}}}, "status": {"conditions": [{"type": "Available", "status": "True"}]}});
        let v1 = FieldSet::from_object(&obj, Scope::All, None).to_fields_v1();
        let c = &v1["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"c\"}"];
        assert!(
            c["f:volumeMounts"]
                .get("k:{\"mountPath\":\"/data\"}")
                .is_some(),
            "{c}"
        );
        assert!(
            c["f:ports"].get("k:{\"containerPort\":80}").is_some(),
            "{c}"
        );
        assert_eq!(c["f:args"], json!({}));
        assert_eq!(
            v1["f:spec"]["f:template"]["f:spec"]["f:tolerations"],
            json!({})
        );
        assert!(
            v1["f:status"]["f:conditions"]
                .get("k:{\"type\":\"Available\"}")
                .is_some()
        );
    }

    #[test]
    fn paths_print_like_the_server() {
        let p = vec![
            PathElem::Field("spec".into()),
            PathElem::named("c"),
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
            PathElem::named("a"),
        ];
        assert!(get_path(&obj, &p).is_some());
        assert!(remove_path(&mut obj, &p));
        assert_eq!(obj, json!({"spec": {"l": [{"name": "b"}]}}));
    }
}
