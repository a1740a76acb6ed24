//! kube-runtime on top of the simulator: a Controller with the finalizer
//! helper and owned children, and the event Recorder.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{bounded, sim};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as Fin, finalizer};
use kube::{Resource, ResourceExt};
use serde_json::json;

/// The reconciler's error type (a failed child apply).
#[derive(Debug)]
struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("child apply failed")
    }
}

impl std::error::Error for Never {}

async fn reconcile(
    obj: Arc<ConfigMap>,
    api: Arc<Api<ConfigMap>>,
) -> Result<Action, kube::runtime::finalizer::Error<Never>> {
    let children = api.clone();
    finalizer(&api, "example.com/cleanup", obj, |ev| async move {
        match ev {
            Fin::Apply(o) => {
                let oref = o.controller_owner_ref(&()).unwrap();
                let child = json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": format!("{}-child", o.name_any()), "ownerReferences": [oref]}, "data": {"from": o.name_any()}});
                children.patch(&format!("{}-child", o.name_any()), &PatchParams::apply("ctrl").force(), &Patch::Apply(child)).await.map_err(|_| Never)?;
                Ok(Action::await_change())
            }
            Fin::Cleanup(_) => Ok(Action::await_change()),
        }
    })
    .await
}

#[tokio::test]
async fn controller_with_finalizer_and_owned_children() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let ctx = Arc::new(api.clone());
        let ctrl = Controller::new(
            api.clone(),
            kube::runtime::watcher::Config::default().labels("role=parent"),
        )
        .owns(api.clone(), kube::runtime::watcher::Config::default())
        .run(
            reconcile,
            |_, _, _| Action::requeue(Duration::from_secs(1)),
            ctx,
        )
        .for_each(|_| async {});
        let handle = tokio::spawn(ctrl);

        api.create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": "p", "labels": {"role": "parent"}}}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
        let mut child = None;
        for _ in 0..200 {
            if let Some(c) = api.get_opt("p-child").await.unwrap() {
                child = Some(c);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let child = child.expect("the controller created the child");
        assert_eq!(child.owner_references()[0].name, "p");
        assert_eq!(
            api.get("p").await.unwrap().finalizers(),
            ["example.com/cleanup"]
        );

        // Deleting the parent: the controller's cleanup removes the finalizer, GC removes the child.
        api.delete("p", &DeleteParams::default()).await.unwrap();
        let mut gone = false;
        for _ in 0..200 {
            if api
                .list(&ListParams::default())
                .await
                .unwrap()
                .items
                .is_empty()
            {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(gone, "parent and child are gone");
        handle.abort();
    })
    .await
}

#[tokio::test]
async fn event_recorder_creates_then_patches_a_series() {
    bounded(async {
        let sim = sim().await;
        let client = sim.client();
        let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
        let cm = api
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": "subject"}})).unwrap(),
            )
            .await
            .unwrap();
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: "dynamoctl".into(),
                instance: None,
            },
        );
        let reference: ObjectReference = cm.object_ref(&());
        let ev = Event {
            type_: EventType::Normal,
            reason: "Reconciled".into(),
            note: Some("ok".into()),
            action: "Reconcile".into(),
            secondary: None,
        };
        recorder.publish(&ev, &reference).await.unwrap();
        recorder.publish(&ev, &reference).await.unwrap();
        let events: Api<k8s_openapi::api::events::v1::Event> = Api::default_namespaced(client);
        let list = events.list(&ListParams::default()).await.unwrap();
        assert_eq!(list.items.len(), 1);
        assert_eq!(list.items[0].series.as_ref().map(|s| s.count), Some(2));
        assert_eq!(
            list.items[0].reporting_controller.as_deref(),
            Some("dynamoctl")
        );
        // Upstream both Event APIs share storage: kubectl get/describe (core/v1) see it too.
        let core: Api<k8s_openapi::api::core::v1::Event> = Api::default_namespaced(sim.client());
        let seen = core
            .list(&ListParams::default().fields("involvedObject.name=subject"))
            .await
            .unwrap();
        assert_eq!(seen.items.len(), 1);
        assert_eq!(
            (
                seen.items[0].message.as_deref(),
                seen.items[0].reason.as_deref()
            ),
            (Some("ok"), Some("Reconciled"))
        );
        assert_eq!(
            seen.items[0].reporting_component.as_deref(),
            Some("dynamoctl")
        );
    })
    .await
}
