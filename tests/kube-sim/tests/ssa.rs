//! Server-side apply: ownership, removal of dropped fields, conflicts, force,
//! co-ownership, list-maps, status apply, the fieldsV1 wire format.

mod common;

use common::{bounded, raw, sim};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

fn cm(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data})
}

async fn apply(
    api: &Api<ConfigMap>,
    manager: &str,
    force: bool,
    body: Value,
) -> Result<ConfigMap, kube::Error> {
    let mut pp = PatchParams::apply(manager);
    pp.force = force;
    api.patch("c", &pp, &Patch::Apply(body)).await
}

fn managers(c: &ConfigMap) -> Vec<(String, String, Value)> {
    c.metadata
        .managed_fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            (
                m.manager.unwrap(),
                m.operation.unwrap(),
                m.fields_v1.map(|f| f.0).unwrap_or(Value::Null),
            )
        })
        .collect()
}

#[tokio::test]
async fn apply_creates_then_owns_exactly_its_fields() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let c = apply(&api, "alice", false, cm(json!({"a": "1", "b": "2"})))
            .await
            .unwrap();
        assert_eq!(
            managers(&c),
            vec![(
                "alice".into(),
                "Apply".into(),
                json!({"f:data": {"f:a": {}, "f:b": {}}})
            )]
        );
        // Dropping a field removes it, since nobody else owns it.
        let c = apply(&api, "alice", false, cm(json!({"a": "1"})))
            .await
            .unwrap();
        assert_eq!(c.data.unwrap().keys().collect::<Vec<_>>(), ["a"]);
        // Re-applying the same config is a no-op: same resourceVersion.
        let before = api.get("c").await.unwrap().metadata.resource_version;
        let c = apply(&api, "alice", false, cm(json!({"a": "1"})))
            .await
            .unwrap();
        assert_eq!(c.metadata.resource_version, before);
        // Raw wire format, as kubectl --show-managed-fields prints it.
        let (_, body) = raw(
            &sim,
            "GET",
            "/api/v1/namespaces/default/configmaps/c",
            None,
            None,
        )
        .await;
        let mf = &body["metadata"]["managedFields"][0];
        assert_eq!(mf["fieldsType"], "FieldsV1");
        assert_eq!(mf["apiVersion"], "v1");
        assert!(mf["time"].as_str().unwrap().ends_with('Z'));
    })
    .await
}

#[tokio::test]
async fn conflicts_are_409_with_the_real_message_and_force_transfers() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        apply(&api, "alice", false, cm(json!({"a": "1", "b": "1"}))).await.unwrap();
        let e = match apply(&api, "bob", false, cm(json!({"a": "2", "b": "2"}))).await.unwrap_err() {
            kube::Error::Api(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
        assert_eq!(e.message, "Apply failed with 2 conflicts: conflicts with \"alice\":\n- .data.a\n- .data.b");
        let (_, body) = raw(&sim, "PATCH", "/api/v1/namespaces/default/configmaps/c?fieldManager=bob", Some("application/apply-patch+yaml"), Some(&cm(json!({"a": "2"})).to_string())).await;
        assert_eq!(body["message"], "Apply failed with 1 conflict: conflict with \"alice\": .data.a");
        assert_eq!(body["details"]["causes"], json!([{"reason": "FieldManagerConflict", "message": "conflict with \"alice\"", "field": ".data.a"}]));

        // Same value: co-ownership, no conflict.
        let c = apply(&api, "bob", false, cm(json!({"b": "1"}))).await.unwrap();
        assert_eq!(managers(&c).len(), 2);
        // Force: bob takes .data.a from alice.
        let c = apply(&api, "bob", true, cm(json!({"a": "2", "b": "1"}))).await.unwrap();
        assert_eq!(c.data.as_ref().unwrap()["a"], "2");
        let m = managers(&c);
        assert_eq!(m[0], ("alice".into(), "Apply".into(), json!({"f:data": {"f:b": {}}})));
        assert_eq!(m[1], ("bob".into(), "Apply".into(), json!({"f:data": {"f:a": {}, "f:b": {}}})));
        // alice drops b: bob still owns it, so it stays.
        let c = apply(&api, "alice", false, cm(json!({}))).await.unwrap();
        assert_eq!(c.data.unwrap()["b"], "1");
    })
    .await
}

#[tokio::test]
async fn update_managers_conflict_and_lose_fields() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        apply(&api, "alice", false, cm(json!({"a": "1"})))
            .await
            .unwrap();
        // A merge patch by another manager takes the field over without conflict.
        let c = api
            .patch(
                "c",
                &PatchParams {
                    field_manager: Some("editor".into()),
                    ..Default::default()
                },
                &Patch::Merge(json!({"data": {"a": "9"}})),
            )
            .await
            .unwrap();
        let m = managers(&c);
        assert_eq!(
            m,
            vec![(
                "editor".into(),
                "Update".into(),
                json!({"f:data": {"f:a": {}}})
            )]
        );
        // Now alice's apply conflicts with an Update manager: message names its apiVersion.
        let e = match apply(&api, "alice", false, cm(json!({"a": "1"})))
            .await
            .unwrap_err()
        {
            kube::Error::Api(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            e.message,
            "Apply failed with 1 conflict: conflict with \"editor\" using v1: .data.a"
        );
    })
    .await
}

#[tokio::test]
async fn list_maps_merge_by_name_and_atomic_lists_replace() {
    bounded(async {
        let sim = sim().await;
        let api: Api<Deployment> = Api::default_namespaced(sim.client());
        let dep = |containers: Value| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                   "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": containers}}}})
        };
        api.patch("d", &PatchParams::apply("base"), &Patch::Apply(dep(json!([{"name": "main", "image": "m:1", "args": ["x", "y"]}])))).await.unwrap();
        // A second manager adds a sidecar: list-map item keyed by name.
        let sidecar = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"containers": [{"name": "side", "image": "s:1"}]}}}});
        let d = api.patch("d", &PatchParams::apply("injector"), &Patch::Apply(sidecar)).await.unwrap();
        let names: Vec<String> = d.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers.iter().map(|c| c.name.clone()).collect();
        assert_eq!(names, ["main", "side"]);
        let mf = d.metadata.managed_fields.unwrap();
        let inj = mf.iter().find(|m| m.manager.as_deref() == Some("injector")).unwrap();
        assert_eq!(
            inj.fields_v1.as_ref().unwrap().0,
            json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"side\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}})
        );
        // base re-applies with different args: atomic list replaced; side stays (owned by injector).
        let d = api.patch("d", &PatchParams::apply("base"), &Patch::Apply(dep(json!([{"name": "main", "image": "m:1", "args": ["z"]}])))).await.unwrap();
        let cs = d.spec.unwrap().template.spec.unwrap().containers;
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].args.as_deref(), Some(&["z".to_string()][..]));
        // injector stops applying its container: the item is removed.
        let empty = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}});
        let d = api.patch("d", &PatchParams::apply("injector"), &Patch::Apply(empty)).await.unwrap();
        assert_eq!(d.spec.unwrap().template.spec.unwrap().containers.len(), 1);
    })
    .await
}

#[tokio::test]
async fn status_apply_is_separate_from_spec_apply() {
    bounded(async {
        let sim = sim().await;
        let api: Api<Deployment> = Api::default_namespaced(sim.client());
        let spec = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}},
            "status": {"replicas": 99}});
        let d = api.patch("d", &PatchParams::apply("op"), &Patch::Apply(spec)).await.unwrap();
        assert!(d.status.is_none(), "status in a main-resource apply is ignored");
        let st = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "status": {"observedGeneration": 1, "replicas": 2}});
        let d = api.patch_status("d", &PatchParams::apply("ctrl").force(), &Patch::Apply(st)).await.unwrap();
        assert_eq!(d.status.as_ref().unwrap().replicas, Some(2));
        assert_eq!(d.metadata.generation, Some(1));
        let ctrl = d.metadata.managed_fields.unwrap().into_iter().find(|m| m.manager.as_deref() == Some("ctrl")).unwrap();
        assert_eq!(ctrl.subresource.as_deref(), Some("status"));
        assert_eq!(ctrl.fields_v1.unwrap().0, json!({"f:status": {"f:observedGeneration": {}, "f:replicas": {}}}));
    })
    .await
}

#[tokio::test]
async fn apply_validation_errors() {
    bounded(async {
        let sim = sim().await;
        // No fieldManager.
        let (code, _) = raw(&sim, "PATCH", "/api/v1/namespaces/default/configmaps/c", Some("application/apply-patch+yaml"), Some(&cm(json!({})).to_string())).await;
        assert_eq!(code, 422);
        // Missing kind.
        let (code, _) = raw(&sim, "PATCH", "/api/v1/namespaces/default/configmaps/c?fieldManager=m", Some("application/apply-patch+yaml"), Some(r#"{"metadata":{"name":"c"}}"#)).await;
        assert_eq!(code, 400);
        // YAML bodies are accepted.
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: v\n";
        let (code, body) = raw(&sim, "PATCH", "/api/v1/namespaces/default/configmaps/c?fieldManager=m", Some("application/apply-patch+yaml"), Some(yaml)).await;
        assert_eq!((code, &body["data"]["k"]), (201, &json!("v")));
        // Apply into a missing namespace.
        let api: Api<ConfigMap> = Api::namespaced(sim.client(), "missing");
        assert!(matches!(apply(&api, "m", false, cm(json!({}))).await, Err(kube::Error::Api(s)) if s.code == 404));
        // Optimistic lock through metadata.resourceVersion in the applied config.
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let mut stale = cm(json!({"k": "w"}));
        stale["metadata"]["resourceVersion"] = json!("1");
        assert!(matches!(apply(&api, "m", false, stale).await, Err(kube::Error::Api(s)) if s.code == 409));
        let _ = api.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap()).await.unwrap();
    })
    .await
}

#[tokio::test]
async fn custom_resources_take_list_types_from_the_crd_schema() {
    bounded(async {
        let sim = sim().await;
        let client = sim.client();
        let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> = Api::all(client.clone());
        let item = json!({"type": "object", "properties": {"name": {"type": "string"}, "v": {"type": "string"}}});
        let crd = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "pools.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "pools", "singular": "pool", "kind": "Pool"},
                "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "atomic": {"type": "array", "items": item},
                        "keyed": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"], "items": item}
                    }}}}}}]}
        }))
        .unwrap();
        crds.create(&PostParams::default(), &crd).await.unwrap();
        let ar = kube::api::ApiResource::from_gvk_with_plural(&kube::api::GroupVersionKind::gvk("example.com", "v1", "Pool"), "pools");
        let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client, "default", &ar);
        let pool = |atomic: Value, keyed: Value| json!({"apiVersion": "example.com/v1", "kind": "Pool", "metadata": {"name": "p"}, "spec": {"atomic": atomic, "keyed": keyed}});
        api.patch("p", &PatchParams::apply("a"), &Patch::Apply(pool(json!([{"name": "x", "v": "1"}]), json!([{"name": "x", "v": "1"}])))).await.unwrap();
        // Without list-type markers a CRD list is atomic upstream: another manager's
        // different list conflicts on the whole list.
        let err = match api.patch("p", &PatchParams::apply("b"), &Patch::Apply(pool(json!([{"name": "y", "v": "2"}]), json!([])))).await {
            Err(kube::Error::Api(s)) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(err.message, "Apply failed with 1 conflict: conflict with \"a\": .spec.atomic");
        // A list-map: b adds its own item beside a's.
        let b_only = json!({"apiVersion": "example.com/v1", "kind": "Pool", "metadata": {"name": "p"}, "spec": {"keyed": [{"name": "y", "v": "2"}]}});
        let p = api.patch("p", &PatchParams::apply("b"), &Patch::Apply(b_only)).await.unwrap();
        assert_eq!(p.data["spec"]["keyed"], json!([{"name": "x", "v": "1"}, {"name": "y", "v": "2"}]));
        // Strategic merge patches are not accepted for custom resources.
        let r = api.patch("p", &PatchParams::default(), &Patch::Strategic(json!({"spec": {}}))).await;
        assert!(matches!(r, Err(kube::Error::Api(s)) if s.code == 415));
    })
    .await
}
