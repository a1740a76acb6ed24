//! Watches: initial state, resume from a resourceVersion, selector transitions,
//! bookmarks, sendInitialEvents, 410 Gone, and kube's watcher on top.

mod common;

use std::time::Duration;

use common::{bounded, raw_text, sim};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube_sim::{Options, Simulator};
use serde_json::json;

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}),
    )
    .unwrap()
}

async fn next(
    stream: &mut (impl futures::Stream<Item = Result<WatchEvent<ConfigMap>, kube::Error>> + Unpin),
) -> WatchEvent<ConfigMap> {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("watch event within 5s")
        .expect("stream open")
        .expect("event ok")
}

fn describe(e: &WatchEvent<ConfigMap>) -> String {
    match e {
        WatchEvent::Added(o) => format!("ADDED {}", o.metadata.name.as_deref().unwrap_or("")),
        WatchEvent::Modified(o) => format!("MODIFIED {}", o.metadata.name.as_deref().unwrap_or("")),
        WatchEvent::Deleted(o) => format!("DELETED {}", o.metadata.name.as_deref().unwrap_or("")),
        WatchEvent::Bookmark(b) => format!("BOOKMARK {}", b.metadata.resource_version),
        WatchEvent::Error(e) => format!("ERROR {}", e.code),
    }
}

#[tokio::test]
async fn watch_from_a_resource_version_sees_every_change_in_order() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        api.create(&PostParams::default(), &cm("before", json!({})))
            .await
            .unwrap();
        let rv = sim.resource_version().to_string();
        let mut s = api
            .watch(&WatchParams::default(), &rv)
            .await
            .unwrap()
            .boxed();
        api.create(&PostParams::default(), &cm("a", json!({})))
            .await
            .unwrap();
        api.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": "2"}})),
        )
        .await
        .unwrap();
        api.delete("a", &DeleteParams::default()).await.unwrap();
        let got: Vec<String> = vec![
            describe(&next(&mut s).await),
            describe(&next(&mut s).await),
            describe(&next(&mut s).await),
        ];
        assert_eq!(got, ["ADDED a", "MODIFIED a", "DELETED a"]);

        // From "0": the current state first, as synthetic ADDED events.
        let mut s0 = api
            .watch(&WatchParams::default(), "0")
            .await
            .unwrap()
            .boxed();
        assert_eq!(describe(&next(&mut s0).await), "ADDED before");
        // Resuming from an old version replays history.
        let mut again = api
            .watch(&WatchParams::default(), &rv)
            .await
            .unwrap()
            .boxed();
        assert_eq!(describe(&next(&mut again).await), "ADDED a");
    })
    .await
}

#[tokio::test]
async fn selector_watches_see_objects_enter_and_leave() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let rv = sim.resource_version().to_string();
        let mut s = api
            .watch(&WatchParams::default().labels("team=a"), &rv)
            .await
            .unwrap()
            .boxed();
        api.create(&PostParams::default(), &cm("x", json!({"team": "b"})))
            .await
            .unwrap();
        api.patch(
            "x",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "a"}}})),
        )
        .await
        .unwrap();
        api.patch(
            "x",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": "3"}})),
        )
        .await
        .unwrap();
        api.patch(
            "x",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "c"}}})),
        )
        .await
        .unwrap();
        let got: Vec<String> = vec![
            describe(&next(&mut s).await),
            describe(&next(&mut s).await),
            describe(&next(&mut s).await),
        ];
        assert_eq!(got, ["ADDED x", "MODIFIED x", "DELETED x"]);
    })
    .await
}

#[tokio::test]
async fn bookmarks_and_initial_events_end() {
    bounded(async {
        let sim = Simulator::start(Options { bookmark_interval: Duration::from_millis(100), ..Options::default() }).await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        api.create(&PostParams::default(), &cm("a", json!({}))).await.unwrap();
        let rv = sim.resource_version();
        let mut s = api.watch(&WatchParams { bookmarks: true, ..Default::default() }, &rv.to_string()).await.unwrap().boxed();
        match next(&mut s).await {
            WatchEvent::Bookmark(b) => assert!(b.metadata.resource_version.parse::<u64>().unwrap() >= rv),
            other => panic!("expected a bookmark, got {}", describe(&other)),
        }
        // sendInitialEvents: ADDED for the state, then a bookmark annotated as the end.
        let (code, _, text) = raw_text(
            &sim,
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1",
            None,
            None,
            &[],
        )
        .await;
        assert_eq!(code, 200);
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0]["type"], "ADDED");
        assert_eq!(lines[1]["type"], "BOOKMARK");
        assert_eq!(lines[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"], "true");
    })
    .await
}

#[tokio::test]
async fn too_old_resource_version_is_410_gone() {
    bounded(async {
        let sim = Simulator::start(Options {
            history_limit: 3,
            ..Options::default()
        })
        .await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let old = sim.resource_version().to_string();
        for i in 0..5 {
            api.create(&PostParams::default(), &cm(&format!("c{i}"), json!({})))
                .await
                .unwrap();
        }
        let mut s = api
            .watch(&WatchParams::default(), &old)
            .await
            .unwrap()
            .boxed();
        match next(&mut s).await {
            WatchEvent::Error(e) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
            other => panic!("expected 410, got {}", describe(&other)),
        }
        // Forced expiry through fault injection.
        sim.faults().update(|f| f.expire_watches = true);
        let rv = sim.resource_version().to_string();
        let mut s = api
            .watch(&WatchParams::default(), &rv)
            .await
            .unwrap()
            .boxed();
        assert!(matches!(next(&mut s).await, WatchEvent::Error(e) if e.code == 410));
    })
    .await
}

#[tokio::test]
async fn kube_watcher_recovers_from_cut_streams_and_410() {
    bounded(async {
        let sim = Simulator::start(Options {
            bookmark_interval: Duration::from_millis(200),
            ..Options::default()
        })
        .await;
        sim.faults()
            .update(|f| f.watch_cut_after = Some(Duration::from_millis(300)));
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let stream = watcher(api.clone(), watcher::Config::default()).applied_objects();
        let mut stream = stream.boxed();
        let writer = {
            let api = api.clone();
            tokio::spawn(async move {
                for i in 0..10 {
                    api.create(&PostParams::default(), &cm(&format!("w{i}"), json!({})))
                        .await
                        .unwrap();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        let mut seen = std::collections::BTreeSet::new();
        while seen.len() < 10 {
            let o = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
                .await
                .expect("progress")
                .unwrap()
                .unwrap();
            seen.insert(o.metadata.name.unwrap());
        }
        writer.await.unwrap();
        // Every re-watch from a resourceVersion now gets 410 Gone: the watcher must
        // re-list to see objects created afterwards.
        let lists_before = sim.audit().iter().filter(|r| r.verb == "list").count();
        sim.faults().update(|f| f.expire_watches = true);
        // Let the open stream be cut (300ms) before the write, so the object can
        // only arrive through the re-list.
        tokio::time::sleep(Duration::from_millis(400)).await;
        api.create(&PostParams::default(), &cm("after-expiry", json!({})))
            .await
            .unwrap();
        let mut saw_410 = false;
        loop {
            // The watcher reports the 410 as a stream error, then re-lists.
            match tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .expect("progress")
                .expect("stream open")
            {
                Err(watcher::Error::WatchError(s)) if s.code == 410 => saw_410 = true,
                Err(e) => panic!("unexpected watcher error {e:?}"),
                Ok(o) if o.metadata.name.as_deref() == Some("after-expiry") => break,
                Ok(_) => {}
            }
        }
        assert!(saw_410);
        assert!(
            sim.audit().iter().filter(|r| r.verb == "list").count() > lists_before,
            "the watcher re-listed after 410"
        );
    })
    .await
}

#[tokio::test]
async fn watch_timeout_seconds_ends_the_stream() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let start = std::time::Instant::now();
        let s = api
            .watch(&WatchParams::default().timeout(1), "0")
            .await
            .unwrap();
        let events: Vec<_> = s.collect().await;
        assert!(
            events
                .iter()
                .all(|e| matches!(e, Ok(WatchEvent::Bookmark(_)))),
            "only bookmarks on an empty namespace"
        );
        assert!(start.elapsed() < Duration::from_secs(5));
    })
    .await
}

#[tokio::test]
async fn deleting_a_crd_deletes_its_objects_then_ends_their_watches() {
    bounded(async {
        let sim = sim().await;
        let client = sim.client();
        let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> = Api::all(client.clone());
        let crd = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "things.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "things", "singular": "thing", "kind": "Thing"},
                "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
        }))
        .unwrap();
        crds.create(&PostParams::default(), &crd).await.unwrap();
        let ar = kube::api::ApiResource::from_gvk_with_plural(&kube::api::GroupVersionKind::gvk("example.com", "v1", "Thing"), "things");
        let things: Api<kube::api::DynamicObject> = Api::namespaced_with(client, "default", &ar);
        let t: kube::api::DynamicObject = serde_json::from_value(json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t1"}})).unwrap();
        things.create(&PostParams::default(), &t).await.unwrap();
        let rv = sim.resource_version().to_string();
        let mut s = things.watch(&WatchParams::default(), &rv).await.unwrap().boxed();
        crds.delete("things.example.com", &DeleteParams::default()).await.unwrap();
        let first = tokio::time::timeout(Duration::from_secs(5), s.next()).await.unwrap().unwrap().unwrap();
        assert!(matches!(first, WatchEvent::Deleted(ref o) if o.metadata.name.as_deref() == Some("t1")), "{first:?}");
        let end = tokio::time::timeout(Duration::from_secs(5), s.next()).await.expect("stream ends");
        assert!(end.is_none(), "{end:?}");
    })
    .await
}
