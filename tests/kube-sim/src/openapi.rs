//! Just enough OpenAPI v3 for kubectl: a root listing each group-version, and
//! per group-version documents whose PATCH operations carry the
//! `x-kubernetes-group-version-kind` extension and a `fieldValidation` query
//! parameter. kubectl's `--validate=strict` (the default) uses exactly that to
//! decide that the server validates fields itself; without it kubectl tries
//! client-side schema validation and fails with "failed to download openapi".
//! No schemas are published (`components.schemas` is empty): see the README.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::registry::Registry;

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn served_gvs(reg: &Registry) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for t in reg.all() {
        for v in &t.versions {
            out.insert((t.group.clone(), v.clone()));
        }
    }
    out
}

/// `/openapi/v3`: the discovery root.
pub fn root(reg: &Registry) -> Value {
    let mut paths = Map::new();
    for (g, v) in served_gvs(reg) {
        let p = gv_path(&g, &v);
        paths.insert(
            p.clone(),
            json!({ "serverRelativeURL": format!("/openapi/v3/{p}?hash=0") }),
        );
    }
    json!({ "paths": paths })
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/<group>/<version>`, or None.
pub fn group_version(reg: &Registry, rest: &[&str]) -> Option<Value> {
    let (group, version) = match rest {
        ["api", v] => (String::new(), v.to_string()),
        ["apis", g, v] => (g.to_string(), v.to_string()),
        _ => return None,
    };
    if !reg.serves_group_version(&group, &version) {
        return None;
    }
    let mut paths = Map::new();
    for t in reg
        .all()
        .filter(|t| t.group == group && t.versions.contains(&version))
    {
        let base = format!("/{}", gv_path(&group, &version));
        let item = if t.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("{base}/{}/{{name}}", t.plural)
        };
        let op = json!({
            "operationId": format!("patch{}", t.kind),
            "x-kubernetes-group-version-kind": { "group": group, "version": version, "kind": t.kind },
            "x-kubernetes-action": "patch",
            "parameters": [
                { "name": "dryRun", "in": "query", "schema": { "type": "string" } },
                { "name": "fieldManager", "in": "query", "schema": { "type": "string" } },
                { "name": "fieldValidation", "in": "query", "schema": { "type": "string" } },
                { "name": "force", "in": "query", "schema": { "type": "boolean" } },
            ],
            "responses": { "200": { "description": "OK" } },
        });
        paths.insert(item, json!({ "patch": op }));
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": "v1.34.0" },
        "paths": paths,
        "components": { "schemas": {} },
    }))
}
