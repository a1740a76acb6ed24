//! Deletion: finalizers, propagation policies, ownerReference garbage
//! collection, namespace termination, preconditions.

mod common;

use std::time::Duration;

use common::{bounded, sim};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{
    Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions, PropagationPolicy,
};
use serde_json::json;

fn cm(name: &str, extra_meta: serde_json::Value) -> ConfigMap {
    let mut v = json!({"metadata": {"name": name}, "data": {"k": "v"}});
    if let Some(m) = extra_meta.as_object() {
        for (k, x) in m {
            v["metadata"][k] = x.clone();
        }
    }
    serde_json::from_value(v).unwrap()
}

fn owned_by(owner: &ConfigMap) -> serde_json::Value {
    json!({"ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name, "uid": owner.metadata.uid}]})
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        api.create(
            &PostParams::default(),
            &cm("f", json!({"finalizers": ["example.com/hold"]})),
        )
        .await
        .unwrap();
        let r = api.delete("f", &DeleteParams::default()).await.unwrap();
        let pending = r.left().expect("pending deletion returns the object");
        assert!(pending.metadata.deletion_timestamp.is_some());
        assert!(
            api.get("f")
                .await
                .unwrap()
                .metadata
                .deletion_timestamp
                .is_some()
        );
        api.patch(
            "f",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
        assert!(api.get_opt("f").await.unwrap().is_none());
    })
    .await
}

#[tokio::test]
async fn a_dependent_written_after_its_owner_went_is_collected() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let owner = api.create(&PostParams::default(), &cm("owner", json!({}))).await.unwrap();
        api.delete("owner", &DeleteParams::background()).await.unwrap();
        // A controller that read the owner before its deletion writes a dependent after it.
        api.create(&PostParams::default(), &cm("late", owned_by(&owner))).await.unwrap();
        assert!(api.get_opt("late").await.unwrap().is_none(), "late dependent should be collected");
        // One owner left: it keeps the object, minus the dangling reference.
        let alive = api.create(&PostParams::default(), &cm("alive", json!({}))).await.unwrap();
        let mut two = owned_by(&owner);
        two["ownerReferences"].as_array_mut().unwrap().push(json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "alive", "uid": alive.metadata.uid}));
        api.create(&PostParams::default(), &cm("shared", two)).await.unwrap();
        let shared = api.get("shared").await.unwrap();
        let refs = shared.metadata.owner_references.unwrap_or_default();
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].uid, alive.metadata.uid.unwrap());
    })
    .await
}

#[tokio::test]
async fn background_deletion_collects_dependents_recursively() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let parent = api.create(&PostParams::default(), &cm("parent", json!({}))).await.unwrap();
        let child = api.create(&PostParams::default(), &cm("child", owned_by(&parent))).await.unwrap();
        api.create(&PostParams::default(), &cm("grandchild", owned_by(&child))).await.unwrap();
        let other = api.create(&PostParams::default(), &cm("other", json!({}))).await.unwrap();
        // Two owners: survives losing one, loses the dangling reference.
        let mut two = owned_by(&parent);
        two["ownerReferences"].as_array_mut().unwrap().push(json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "other", "uid": other.metadata.uid}));
        api.create(&PostParams::default(), &cm("shared", two)).await.unwrap();

        api.delete("parent", &DeleteParams::background()).await.unwrap();
        for gone in ["parent", "child", "grandchild"] {
            assert!(api.get_opt(gone).await.unwrap().is_none(), "{gone} should be collected");
        }
        let shared = api.get("shared").await.unwrap();
        let refs = shared.metadata.owner_references.unwrap();
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].name, "other");
    })
    .await
}

#[tokio::test]
async fn orphan_deletion_keeps_dependents_without_the_reference() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let parent = api
            .create(&PostParams::default(), &cm("parent", json!({})))
            .await
            .unwrap();
        api.create(&PostParams::default(), &cm("child", owned_by(&parent)))
            .await
            .unwrap();
        api.delete("parent", &DeleteParams::orphan()).await.unwrap();
        assert!(api.get_opt("parent").await.unwrap().is_none());
        let child = api.get("child").await.unwrap();
        assert!(child.metadata.owner_references.is_none());
    })
    .await
}

#[tokio::test]
async fn foreground_deletion_waits_for_dependents() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let parent = api
            .create(&PostParams::default(), &cm("parent", json!({})))
            .await
            .unwrap();
        // The child has its own finalizer, so the parent must wait.
        let mut meta = owned_by(&parent);
        meta["finalizers"] = json!(["example.com/hold"]);
        api.create(&PostParams::default(), &cm("child", meta))
            .await
            .unwrap();
        api.delete("parent", &DeleteParams::foreground())
            .await
            .unwrap();
        let p = api.get("parent").await.unwrap();
        assert!(p.metadata.deletion_timestamp.is_some());
        assert_eq!(
            p.metadata.finalizers.as_deref(),
            Some(&["foregroundDeletion".to_string()][..])
        );
        assert!(
            api.get("child")
                .await
                .unwrap()
                .metadata
                .deletion_timestamp
                .is_some()
        );
        api.patch(
            "child",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": []}})),
        )
        .await
        .unwrap();
        assert!(api.get_opt("child").await.unwrap().is_none());
        assert!(api.get_opt("parent").await.unwrap().is_none());
    })
    .await
}

#[tokio::test]
async fn delete_preconditions_and_delete_collection() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        api.create(
            &PostParams::default(),
            &cm("a", json!({"labels": {"x": "1"}})),
        )
        .await
        .unwrap();
        api.create(
            &PostParams::default(),
            &cm("b", json!({"labels": {"x": "1"}})),
        )
        .await
        .unwrap();
        api.create(&PostParams::default(), &cm("c", json!({})))
            .await
            .unwrap();
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some("wrong".into()),
                resource_version: None,
            }),
            ..Default::default()
        };
        match api.delete("a", &dp).await {
            Err(kube::Error::Api(s)) => assert_eq!(s.code, 409),
            other => panic!("{other:?}"),
        }
        api.delete_collection(
            &DeleteParams::default(),
            &kube::api::ListParams::default().labels("x=1"),
        )
        .await
        .unwrap();
        let left: Vec<String> = api
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|c| c.metadata.name.unwrap())
            .collect();
        assert_eq!(left, ["c"]);
        let writes = sim.audit_writes();
        assert!(writes.iter().any(|r| r.verb == "deletecollection"));
    })
    .await
}

#[tokio::test]
async fn namespace_termination_removes_content_then_the_namespace() {
    bounded(async {
        let sim = sim().await;
        let client = sim.client();
        let nss: Api<Namespace> = Api::all(client.clone());
        nss.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "doomed"}})).unwrap(),
        )
        .await
        .unwrap();
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
        api.create(&PostParams::default(), &cm("plain", json!({})))
            .await
            .unwrap();
        api.create(
            &PostParams::default(),
            &cm("held", json!({"finalizers": ["example.com/hold"]})),
        )
        .await
        .unwrap();
        nss.delete("doomed", &DeleteParams::default())
            .await
            .unwrap();
        let ns = nss.get("doomed").await.unwrap();
        assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Terminating"));
        assert!(api.get_opt("plain").await.unwrap().is_none());
        // No new content in a terminating namespace.
        match api
            .create(&PostParams::default(), &cm("new", json!({})))
            .await
        {
            Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden")),
            other => panic!("{other:?}"),
        }
        api.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
        let gone = kube::runtime::wait::await_condition(
            nss.clone(),
            "doomed",
            kube::runtime::conditions::is_deleted(""),
        );
        let _ = tokio::time::timeout(Duration::from_secs(2), gone).await;
        assert!(nss.get_opt("doomed").await.unwrap().is_none());
    })
    .await
}

#[tokio::test]
async fn propagation_policy_validation() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        api.create(&PostParams::default(), &cm("a", json!({})))
            .await
            .unwrap();
        let (code, _) = common::raw(
            &sim,
            "DELETE",
            "/api/v1/namespaces/default/configmaps/a?propagationPolicy=Sideways",
            None,
            None,
        )
        .await;
        assert_eq!(code, 422);
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        api.delete("a", &dp).await.unwrap();
    })
    .await
}
