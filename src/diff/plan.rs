//! A plan: every object a `diff` or `apply` looks at, in the order it would be applied, and
//! its three presentations (summary table, unified diffs, JSON).

use serde_json::{Value, json};

use crate::table::kubectl_table;

use super::change::{Change, Op};
use super::unified::write_unified;

/// Every object of a diff, in the order the caller gives (normally apply order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// One entry per object, unchanged ones included.
    pub changes: Vec<Change>,
}

impl Plan {
    /// Whether applying would change anything (kubectl diff's exit code 1).
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.op != Op::Unchanged)
    }

    /// The kubectl-style summary: columns `NAMESPACE KIND NAME OP`, one row per object in
    /// plan order (cluster-scoped objects have an empty namespace), columns separated by at
    /// least three spaces, no trailing spaces, ending in a newline.
    pub fn summary_table(&self) -> String {
        let rows = self.changes.iter().map(|c| {
            vec![
                c.namespace.clone().unwrap_or_default(),
                c.kind.clone(),
                c.name.clone(),
                c.op.to_string(),
            ]
        });
        kubectl_table(&["NAMESPACE", "KIND", "NAME", "OP"], rows)
    }

    /// Unified diffs of every object that changes, in plan order (unchanged objects print
    /// nothing). `color` adds ANSI colours; the caller decides (terminal, `NO_COLOR`).
    pub fn unified(&self, color: bool) -> String {
        let mut out = String::new();
        for change in self.changes.iter().filter(|c| c.op != Op::Unchanged) {
            write_unified(&mut out, change, color);
        }
        out
    }

    /// The plan as data for `-o json`: `{"changes": [{"apiVersion", "kind", "namespace",
    /// "name", "op"}], "hasChanges": bool}`; `namespace` is `null` for cluster-scoped objects.
    /// Object contents are left out so the output never carries secrets.
    pub fn to_json(&self) -> Value {
        let changes: Vec<Value> = self
            .changes
            .iter()
            .map(|c| {
                json!({
                    "apiVersion": c.api_version,
                    "kind": c.kind,
                    "namespace": c.namespace,
                    "name": c.name,
                    "op": c.op,
                })
            })
            .collect();
        json!({ "changes": changes, "hasChanges": self.has_changes() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::change;
    use serde_json::json;

    fn deployment(replicas: i64, image: &str) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "generation": replicas, "labels": {"app": "web"}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "main", "image": image}]}
                }
            }
        })
    }

    fn plan() -> Plan {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}});
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"}, "data": {"a": "1"}});
        Plan {
            changes: vec![
                change(Some(&ns), Some(&ns)),
                change(None, Some(&cm)),
                change(Some(&deployment(1, "web:1")), Some(&deployment(2, "web:2"))),
            ],
        }
    }

    #[test]
    fn summary_table_is_kubectl_like() {
        assert_eq!(
            plan().summary_table(),
            "NAMESPACE   KIND         NAME      OP\n\
             \x20           Namespace    default   unchanged\n\
             default     ConfigMap    cfg       create\n\
             default     Deployment   web       update\n"
        );
    }

    #[test]
    fn unified_plain() {
        let expected = "\
diff -u -N live/v1.ConfigMap.default.cfg merged/v1.ConfigMap.default.cfg
--- live/v1.ConfigMap.default.cfg
+++ merged/v1.ConfigMap.default.cfg
@@ -0,0 +1,7 @@
+apiVersion: v1
+data:
+  a: \"1\"
+kind: ConfigMap
+metadata:
+  name: cfg
+  namespace: default
diff -u -N live/apps.v1.Deployment.default.web merged/apps.v1.Deployment.default.web
--- live/apps.v1.Deployment.default.web
+++ merged/apps.v1.Deployment.default.web
@@ -6,7 +6,7 @@
   name: web
   namespace: default
 spec:
-  replicas: 1
+  replicas: 2
   selector:
     matchLabels:
       app: web
@@ -16,5 +16,5 @@
         app: web
     spec:
       containers:
-      - image: web:1
+      - image: web:2
         name: main
";
        assert_eq!(plan().unified(false), expected);
    }

    #[test]
    fn unified_colored() {
        let p = Plan {
            changes: vec![change(
                Some(&deployment(1, "web:1")),
                Some(&deployment(2, "web:1")),
            )],
        };
        let expected = "\
\x1b[1mdiff -u -N live/apps.v1.Deployment.default.web merged/apps.v1.Deployment.default.web\x1b[0m
\x1b[1m--- live/apps.v1.Deployment.default.web\x1b[0m
\x1b[1m+++ merged/apps.v1.Deployment.default.web\x1b[0m
\x1b[36m@@ -6,7 +6,7 @@\x1b[0m
   name: web
   namespace: default
 spec:
\x1b[31m-  replicas: 1\x1b[0m
\x1b[32m+  replicas: 2\x1b[0m
   selector:
     matchLabels:
       app: web
";
        assert_eq!(p.unified(true), expected);
    }

    #[test]
    fn deletions_and_unchanged_objects() {
        let d = deployment(1, "web:1");
        let p = Plan {
            changes: vec![change(Some(&d), Some(&d))],
        };
        assert!(!p.has_changes());
        assert_eq!(p.unified(false), "");
        let p = Plan {
            changes: vec![change(
                Some(
                    &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"}}),
                ),
                None,
            )],
        };
        assert!(p.has_changes());
        assert_eq!(
            p.unified(false),
            "diff -u -N live/v1.Service.n.s merged/v1.Service.n.s\n\
             --- live/v1.Service.n.s\n\
             +++ merged/v1.Service.n.s\n\
             @@ -1,5 +0,0 @@\n\
             -apiVersion: v1\n\
             -kind: Service\n\
             -metadata:\n\
             -  name: s\n\
             -  namespace: \"n\"\n"
        );
    }

    #[test]
    fn json_plan() {
        assert_eq!(
            plan().to_json(),
            json!({
                "changes": [
                    {"apiVersion": "v1", "kind": "Namespace", "namespace": null, "name": "default", "op": "unchanged"},
                    {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "default", "name": "cfg", "op": "create"},
                    {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "default", "name": "web", "op": "update"}
                ],
                "hasChanges": true
            })
        );
        assert_eq!(
            Plan::default().to_json(),
            json!({"changes": [], "hasChanges": false})
        );
    }
}
