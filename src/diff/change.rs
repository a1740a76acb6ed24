//! One object's change: what is live, what applying would make it, and the operation.

use serde::Serialize;
use serde_json::Value;

use super::mask::mask_secret;
use super::normalize::normalize;

/// What applying does to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// The object does not exist yet.
    Create,
    /// The object exists and would change.
    Update,
    /// The object exists and would be removed (a pruned child).
    Delete,
    /// The object exists and would not change.
    Unchanged,
}

impl Op {
    /// The lowercase name used in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::Unchanged => "unchanged",
        }
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object of a plan, with both sides already normalised and Secret values masked, so it
/// can be printed as is.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// `apiVersion` of the object, e.g. `apps/v1`.
    pub api_version: String,
    /// `kind` of the object.
    pub kind: String,
    /// Namespace; `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// What applying does.
    pub op: Op,
    /// The live object (normalised, masked); `None` when it does not exist.
    pub live: Option<Value>,
    /// The object as applying would leave it (normalised, masked); `None` when it is deleted.
    pub merged: Option<Value>,
}

impl Change {
    /// kubectl diff's file name for the object, `<group.>version.Kind.namespace.name`: the
    /// group is left out for the core group, and a cluster-scoped object has an empty
    /// namespace segment (`v1.Namespace..team-a`), exactly as kubectl's `InfoObject.Name`
    /// formats it, so external diff tools see the same names as under kubectl.
    pub fn file_name(&self) -> String {
        let (group, version) = match self.api_version.split_once('/') {
            Some((group, version)) => (format!("{group}."), version),
            None => (String::new(), self.api_version.as_str()),
        };
        format!(
            "{group}{version}.{}.{}.{}",
            self.kind,
            self.namespace.as_deref().unwrap_or_default(),
            self.name
        )
    }
}

/// Compares a live object with what applying would make of it (`merged`, from a server-side
/// dry-run apply or a local render). Both are normalised ([`normalize`]) and compared before
/// Secret values are masked; the identity comes from `merged` when it exists, else from
/// `live`. Neither side present gives an `Unchanged` change with an empty identity.
pub fn change(live: Option<&Value>, merged: Option<&Value>) -> Change {
    let mut live = live.map(normalize);
    let mut merged = merged.map(normalize);
    let op = match (&live, &merged) {
        (None, None) => Op::Unchanged,
        (None, Some(_)) => Op::Create,
        (Some(_), None) => Op::Delete,
        (Some(l), Some(m)) if l == m => Op::Unchanged,
        (Some(_), Some(_)) => Op::Update,
    };
    let identity = merged.as_ref().or(live.as_ref());
    let text = |pointer: &str| {
        identity
            .and_then(|v| v.pointer(pointer))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let namespace = Some(text("/metadata/namespace")).filter(|ns| !ns.is_empty());
    let (api_version, kind, name) = (text("/apiVersion"), text("/kind"), text("/metadata/name"));
    mask_secret(&mut live, &mut merged);
    Change {
        api_version,
        kind,
        namespace,
        name,
        op,
        live,
        merged,
    }
}

/// The YAML texts `(live, merged)` of a change, as written to kubectl's `LIVE-*` and
/// `MERGED-*` directories; a missing side is the empty text (`diff -N` treats an absent file
/// as empty).
pub fn yaml_of(change: &Change) -> (String, String) {
    (yaml(change.live.as_ref()), yaml(change.merged.as_ref()))
}

fn yaml(value: Option<&Value>) -> String {
    match value {
        None => String::new(),
        // A JSON value always has a YAML form; keep the reason visible rather than panic.
        Some(v) => crate::yaml::to_string(v).unwrap_or_else(|e| format!("# not YAML: {e}\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(value: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "ns", "resourceVersion": value},
            "data": {"k": value}
        })
    }

    #[test]
    fn ops_from_presence_and_equality() {
        assert_eq!(change(None, Some(&cm("a"))).op, Op::Create);
        assert_eq!(change(Some(&cm("a")), None).op, Op::Delete);
        assert_eq!(change(Some(&cm("a")), Some(&cm("b"))).op, Op::Update);
        let mut same = cm("a");
        same["metadata"]["resourceVersion"] = json!("99");
        same["status"] = json!({"anything": true});
        assert_eq!(change(Some(&cm("a")), Some(&same)).op, Op::Unchanged);
        assert_eq!(change(None, None).op, Op::Unchanged);
    }

    #[test]
    fn identity_and_normalised_sides() {
        let c = change(Some(&cm("a")), None);
        assert_eq!(
            (
                c.api_version.as_str(),
                c.kind.as_str(),
                c.namespace.as_deref(),
                c.name.as_str()
            ),
            ("v1", "ConfigMap", Some("ns"), "cfg")
        );
        assert_eq!(
            c.live.unwrap()["metadata"],
            json!({"name": "cfg", "namespace": "ns"})
        );
        assert_eq!(c.merged, None);
    }

    #[test]
    fn secret_data_changes_are_updates_but_masked() {
        let s = |v: &str| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}, "data": {"k": v}});
        let c = change(Some(&s("YQ==")), Some(&s("Yg==")));
        assert_eq!(c.op, Op::Update);
        assert_eq!(c.live.as_ref().unwrap()["data"]["k"], "*** (before)");
        assert_eq!(c.merged.as_ref().unwrap()["data"]["k"], "*** (after)");
        let c = change(Some(&s("YQ==")), Some(&s("YQ==")));
        assert_eq!(c.op, Op::Unchanged);
        assert_eq!(c.merged.unwrap()["data"]["k"], "***");
    }

    #[test]
    fn file_names_follow_kubectl() {
        let c = change(None, Some(&cm("a")));
        assert_eq!(c.file_name(), "v1.ConfigMap.ns.cfg");
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"}});
        assert_eq!(
            change(None, Some(&d)).file_name(),
            "apps.v1.Deployment.default.web"
        );
        let cr = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}});
        let c = change(None, Some(&cr));
        assert_eq!(c.namespace, None);
        assert_eq!(c.file_name(), "rbac.authorization.k8s.io.v1.ClusterRole..r");
    }

    #[test]
    fn yaml_of_missing_side_is_empty() {
        let (live, merged) = yaml_of(&change(None, Some(&cm("a"))));
        assert_eq!(live, "");
        assert_eq!(
            merged,
            "apiVersion: v1\ndata:\n  k: a\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: ns\n"
        );
    }
}
