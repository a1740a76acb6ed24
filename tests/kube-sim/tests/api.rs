//! CRUD, validation, errors, discovery, selectors, pagination, generation,
//! status/scale subresources, dry-run and patches, through a real kube::Client.

mod common;

use common::{bounded, raw, sim};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::{DynamicObject, GroupVersionKind};
use kube::discovery::{Discovery, Scope};
use serde_json::json;

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}})).unwrap()
}

fn deploy(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
    }))
    .unwrap()
}

fn api_err(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn crud_and_server_set_metadata() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let created = api
            .create(&PostParams::default(), &cm("a", json!({})))
            .await
            .unwrap();
        let md = &created.metadata;
        assert!(md.uid.as_ref().is_some_and(|u| u.len() == 36));
        assert!(md.creation_timestamp.is_some());
        let rv1: u64 = md.resource_version.as_ref().unwrap().parse().unwrap();
        assert_eq!(md.namespace.as_deref(), Some("default"));
        assert_eq!(
            md.managed_fields.as_ref().unwrap()[0].operation.as_deref(),
            Some("Update")
        );

        let got = api.get("a").await.unwrap();
        assert_eq!(got.data, created.data);

        // Update with the current resourceVersion succeeds and bumps it.
        let mut upd = got.clone();
        upd.data = Some([("k".to_string(), "v2".to_string())].into());
        let updated = api
            .replace("a", &PostParams::default(), &upd)
            .await
            .unwrap();
        let rv2: u64 = updated
            .metadata
            .resource_version
            .as_ref()
            .unwrap()
            .parse()
            .unwrap();
        assert!(rv2 > rv1);

        // A stale resourceVersion is a 409 Conflict with the server's message.
        let err = api_err(
            api.replace("a", &PostParams::default(), &upd)
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
        assert!(
            err.message.contains("the object has been modified"),
            "{}",
            err.message
        );

        // Create again: AlreadyExists.
        let err = api_err(
            api.create(&PostParams::default(), &cm("a", json!({})))
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (409, "AlreadyExists"));
        assert_eq!(err.message, "configmaps \"a\" already exists");

        api.delete("a", &DeleteParams::default()).await.unwrap();
        let err = api_err(api.get("a").await.unwrap_err());
        assert_eq!(
            (err.code, err.reason.as_str(), err.message.as_str()),
            (404, "NotFound", "configmaps \"a\" not found")
        );
    })
    .await
}

#[tokio::test]
async fn status_bodies_match_the_real_server() {
    bounded(async {
        let sim = sim().await;
        let (code, body) = raw(&sim, "GET", "/apis/apps/v1/namespaces/default/deployments/nope", None, None).await;
        assert_eq!(code, 404);
        assert_eq!(
            body,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "deployments.apps \"nope\" not found", "reason": "NotFound", "details": {"name": "nope", "group": "apps", "kind": "deployments"}, "code": 404})
        );
        let (code, body) = raw(&sim, "GET", "/apis/nope.example.com/v1/things", None, None).await;
        assert_eq!((code, body["reason"].as_str()), (404, Some("NotFound")));
        // Malformed JSON is a 400, not a crash.
        let (code, body) = raw(&sim, "POST", "/api/v1/namespaces/default/configmaps", Some("application/json"), Some("{not json")).await;
        assert_eq!((code, body["kind"].as_str(), body["reason"].as_str()), (400, Some("Status"), Some("BadRequest")));
        // Unknown patch type: 415.
        let (code, _) = raw(&sim, "PATCH", "/api/v1/namespaces/default/configmaps/x", Some("text/plain"), Some("{}")).await;
        assert_eq!(code, 415);
    })
    .await
}

#[tokio::test]
async fn names_and_namespaces_are_validated() {
    bounded(async {
        let sim = sim().await;
        let client = sim.client();
        let bad: Api<ConfigMap> = Api::default_namespaced(client.clone());
        let err = api_err(bad.create(&PostParams::default(), &cm("Bad_Name", json!({}))).await.unwrap_err());
        assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
        assert!(err.message.starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"), "{}", err.message);

        let missing: Api<ConfigMap> = Api::namespaced(client.clone(), "nowhere");
        let err = api_err(missing.create(&PostParams::default(), &cm("a", json!({}))).await.unwrap_err());
        assert_eq!((err.code, err.message.as_str()), (404, "namespaces \"nowhere\" not found"));

        let nss: Api<Namespace> = Api::all(client.clone());
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team-a"}})).unwrap();
        let created = nss.create(&PostParams::default(), &ns).await.unwrap();
        assert_eq!(created.status.unwrap().phase.as_deref(), Some("Active"));
        let in_ns: Api<ConfigMap> = Api::namespaced(client.clone(), "team-a");
        in_ns.create(&PostParams::default(), &cm("a", json!({}))).await.unwrap();
        let bad_ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "a.b"}})).unwrap();
        assert_eq!(api_err(nss.create(&PostParams::default(), &bad_ns).await.unwrap_err()).code, 422);
        for ns in ["default", "kube-system"] {
            nss.get(ns).await.unwrap();
        }

        // generateName
        let generated: ConfigMap = serde_json::from_value(json!({"metadata": {"generateName": "gen-"}})).unwrap();
        let made = bad.create(&PostParams::default(), &generated).await.unwrap();
        let name = made.metadata.name.unwrap();
        assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
    })
    .await
}

#[tokio::test]
async fn discovery_legacy_and_aggregated() {
    bounded(async {
        let sim = sim().await;
        let client = sim.client();
        let v = client.apiserver_version().await.unwrap();
        assert_eq!(v.major, "1");
        for d in [
            Discovery::new(client.clone())
                .run_aggregated()
                .await
                .unwrap(),
            Discovery::new(client.clone()).run().await.unwrap(),
        ] {
            for (g, v, k, namespaced) in [
                ("", "v1", "ConfigMap", true),
                ("", "v1", "Namespace", false),
                ("", "v1", "Secret", true),
                ("", "v1", "Service", true),
                ("", "v1", "ServiceAccount", true),
                ("", "v1", "PersistentVolumeClaim", true),
                ("", "v1", "Pod", true),
                ("", "v1", "Event", true),
                ("events.k8s.io", "v1", "Event", true),
                ("apps", "v1", "Deployment", true),
                ("coordination.k8s.io", "v1", "Lease", true),
                ("rbac.authorization.k8s.io", "v1", "Role", true),
                ("rbac.authorization.k8s.io", "v1", "RoleBinding", true),
                ("rbac.authorization.k8s.io", "v1", "ClusterRole", false),
                (
                    "rbac.authorization.k8s.io",
                    "v1",
                    "ClusterRoleBinding",
                    false,
                ),
                ("networking.k8s.io", "v1", "Ingress", true),
                (
                    "apiextensions.k8s.io",
                    "v1",
                    "CustomResourceDefinition",
                    false,
                ),
            ] {
                let (ar, caps) = d
                    .resolve_gvk(&GroupVersionKind::gvk(g, v, k))
                    .unwrap_or_else(|| panic!("{g}/{v} {k} not discovered"));
                assert_eq!(caps.scope == Scope::Namespaced, namespaced, "{k}");
                assert!(!ar.plural.is_empty());
            }
        }
        let (code, _, _) = common::raw_text(
            &sim,
            "GET",
            "/apis",
            None,
            None,
            &[(
                "Accept",
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            )],
        )
        .await;
        assert_eq!(code, 200);
    })
    .await
}

#[tokio::test]
async fn label_and_field_selectors() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        for (n, l) in [
            ("a", json!({"app": "x", "tier": "web"})),
            ("b", json!({"app": "y"})),
            ("c", json!({})),
        ] {
            api.create(&PostParams::default(), &cm(n, l)).await.unwrap();
        }
        let names = |sel: &str, field: &str| {
            let api = api.clone();
            let (sel, field) = (sel.to_string(), field.to_string());
            async move {
                let mut lp = ListParams::default();
                if !sel.is_empty() {
                    lp = lp.labels(&sel);
                }
                if !field.is_empty() {
                    lp = lp.fields(&field);
                }
                api.list(&lp)
                    .await
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|c| c.metadata.name.unwrap())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(names("app=x", "").await, ["a"]);
        assert_eq!(names("app!=x", "").await, ["b", "c"]);
        assert_eq!(names("app in (x,y)", "").await, ["a", "b"]);
        assert_eq!(names("app notin (x)", "").await, ["b", "c"]);
        assert_eq!(names("tier", "").await, ["a"]);
        assert_eq!(names("!app", "").await, ["c"]);
        assert_eq!(names("", "metadata.name=b").await, ["b"]);
        assert_eq!(
            names("", "metadata.namespace=default,metadata.name!=b").await,
            ["a", "c"]
        );
        let all: Api<ConfigMap> = Api::all(sim.client());
        assert_eq!(
            all.list(&ListParams::default().fields("metadata.namespace=kube-system"))
                .await
                .unwrap()
                .items
                .len(),
            0
        );
        let err = api_err(
            api.list(&ListParams::default().fields("data.k=v"))
                .await
                .unwrap_err(),
        );
        assert_eq!(
            (err.code, err.message.as_str()),
            (400, "field label not supported: data.k")
        );
    })
    .await
}

#[tokio::test]
async fn pagination_with_limit_and_continue() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        for i in 0..7 {
            api.create(&PostParams::default(), &cm(&format!("cm-{i}"), json!({})))
                .await
                .unwrap();
        }
        let mut seen = Vec::new();
        let mut lp = ListParams::default().limit(3);
        let mut pages = 0;
        loop {
            let page = api.list(&lp).await.unwrap();
            pages += 1;
            seen.extend(page.items.into_iter().map(|c| c.metadata.name.unwrap()));
            match page.metadata.continue_ {
                Some(c) if !c.is_empty() => {
                    assert!(page.metadata.remaining_item_count.unwrap() > 0);
                    lp = lp.continue_token(&c);
                }
                _ => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, (0..7).map(|i| format!("cm-{i}")).collect::<Vec<_>>());
        // A token from before a compaction is 410 Gone.
        let first = api.list(&ListParams::default().limit(2)).await.unwrap();
        api.create(&PostParams::default(), &cm("later", json!({})))
            .await
            .unwrap();
        sim.compact();
        let err = api_err(
            api.list(
                &ListParams::default()
                    .limit(2)
                    .continue_token(first.metadata.continue_.as_deref().unwrap()),
            )
            .await
            .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (410, "Expired"));
    })
    .await
}

#[tokio::test]
async fn generation_counts_spec_changes_only() {
    bounded(async {
        let sim = sim().await;
        let api: Api<Deployment> = Api::default_namespaced(sim.client());
        let d = api
            .create(&PostParams::default(), &deploy("web", 1))
            .await
            .unwrap();
        assert_eq!(d.metadata.generation, Some(1));
        // Metadata-only change: no bump.
        let d = api
            .patch(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
            )
            .await
            .unwrap();
        assert_eq!(d.metadata.generation, Some(1));
        // Status through the main resource is ignored (status subresource kind).
        let d = api
            .patch(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"replicas": 9}})),
            )
            .await
            .unwrap();
        assert!(d.status.is_none());
        assert_eq!(d.metadata.generation, Some(1));
        // Status through /status: stored, no bump, spec untouched.
        let d = api
            .patch_status(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"replicas": 9}, "spec": {"replicas": 5}})),
            )
            .await
            .unwrap();
        assert_eq!(d.status.unwrap().replicas, Some(9));
        assert_eq!(d.spec.as_ref().unwrap().replicas, Some(1));
        assert_eq!(d.metadata.generation, Some(1));
        // Spec change: bump.
        let d = api
            .patch(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": 3}})),
            )
            .await
            .unwrap();
        assert_eq!(d.metadata.generation, Some(2));
        // No-op write: same resourceVersion, no bump.
        let rv = d.metadata.resource_version.clone();
        let d = api
            .patch(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": 3}})),
            )
            .await
            .unwrap();
        assert_eq!(
            (d.metadata.resource_version, d.metadata.generation),
            (rv, Some(2))
        );
    })
    .await
}

#[tokio::test]
async fn scale_subresource() {
    bounded(async {
        let sim = sim().await;
        let api: Api<Deployment> = Api::default_namespaced(sim.client());
        api.create(&PostParams::default(), &deploy("web", 2))
            .await
            .unwrap();
        let s = api.get_scale("web").await.unwrap();
        assert_eq!(s.spec.unwrap().replicas, Some(2));
        assert_eq!(s.status.unwrap().selector.as_deref(), Some("app=web"));
        api.patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .unwrap();
        let d = api.get("web").await.unwrap();
        assert_eq!(d.spec.unwrap().replicas, Some(4));
        assert_eq!(d.metadata.generation, Some(2));
    })
    .await
}

#[tokio::test]
async fn dry_run_never_stores() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let rv0 = sim.resource_version();
        let c = api
            .create(
                &PostParams {
                    dry_run: true,
                    ..Default::default()
                },
                &cm("dry", json!({})),
            )
            .await
            .unwrap();
        assert!(c.metadata.uid.is_some());
        assert!(c.metadata.resource_version.is_none());
        assert_eq!(api.get_opt("dry").await.unwrap(), None);
        let applied = api
            .patch(
                "dry",
                &PatchParams::apply("t").dry_run(),
                &Patch::Apply(cm("dry", json!({}))),
            )
            .await
            .unwrap();
        assert_eq!(applied.data.unwrap()["k"], "v");
        assert_eq!(api.get_opt("dry").await.unwrap(), None);
        assert_eq!(sim.resource_version(), rv0);

        api.create(&PostParams::default(), &cm("real", json!({})))
            .await
            .unwrap();
        let rv1 = sim.resource_version();
        let p = api
            .patch(
                "real",
                &PatchParams {
                    dry_run: true,
                    ..Default::default()
                },
                &Patch::Merge(json!({"data": {"k": "changed"}})),
            )
            .await
            .unwrap();
        assert_eq!(p.data.unwrap()["k"], "changed");
        api.delete(
            "real",
            &DeleteParams {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(api.get("real").await.unwrap().data.unwrap()["k"], "v");
        assert_eq!(sim.resource_version(), rv1);
        assert!(sim.audit().iter().filter(|r| r.dry_run).count() >= 4);
    })
    .await
}

#[tokio::test]
async fn merge_json_and_strategic_patches() {
    bounded(async {
        let sim = sim().await;
        let api: Api<Deployment> = Api::default_namespaced(sim.client());
        let mut d = deploy("web", 1);
        d.spec.as_mut().unwrap().template.spec.as_mut().unwrap().containers.push(serde_json::from_value(json!({"name": "side", "image": "busybox", "args": ["a", "b"]})).unwrap());
        api.create(&PostParams::default(), &d).await.unwrap();
        // Strategic: containers merge by name; args (no names) are replaced.
        let p = json!({"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox:2", "args": ["c"]}]}}}});
        let d = api.patch("web", &PatchParams::default(), &Patch::Strategic(p)).await.unwrap();
        let cs = d.spec.unwrap().template.spec.unwrap().containers;
        assert_eq!(cs.len(), 2);
        assert_eq!((cs[0].image.as_deref(), cs[1].image.as_deref()), (Some("nginx"), Some("busybox:2")));
        assert_eq!(cs[1].args.as_deref(), Some(&["c".to_string()][..]));
        // Merge patch: lists are replaced wholesale.
        let p = json!({"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "x"}]}}}});
        let d = api.patch("web", &PatchParams::default(), &Patch::Merge(p)).await.unwrap();
        assert_eq!(d.spec.unwrap().template.spec.unwrap().containers.len(), 1);
        // JSON patch, including a failing test op (422).
        let ops: json_patch::Patch = serde_json::from_value(json!([{"op": "replace", "path": "/spec/replicas", "value": 7}])).unwrap();
        let d = api.patch("web", &PatchParams::default(), &Patch::<()>::Json(ops)).await.unwrap();
        assert_eq!(d.spec.unwrap().replicas, Some(7));
        let ops: json_patch::Patch = serde_json::from_value(json!([{"op": "test", "path": "/spec/replicas", "value": 1}])).unwrap();
        assert_eq!(api_err(api.patch("web", &PatchParams::default(), &Patch::<()>::Json(ops)).await.unwrap_err()).code, 422);
        // Strategic $patch: delete.
        let p = json!({"spec": {"template": {"spec": {"containers": [{"name": "only", "$patch": "delete"}, {"name": "new", "image": "y"}]}}}});
        let d = api.patch("web", &PatchParams::default(), &Patch::Strategic(p)).await.unwrap();
        let cs = d.spec.unwrap().template.spec.unwrap().containers;
        assert_eq!(cs.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["new"]);
    })
    .await
}

#[tokio::test]
async fn crds_are_served_once_created_and_gone_once_deleted() {
    bounded(async {
        let sim = sim().await;
        let client = sim.client();
        let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> = Api::all(client.clone());
        let crd = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                    "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}}}]}
        }))
        .unwrap();
        crds.create(&PostParams::default(), &crd).await.unwrap();
        let established = kube::runtime::wait::await_condition(crds.clone(), "widgets.example.com", kube::runtime::conditions::is_crd_established());
        tokio::time::timeout(std::time::Duration::from_secs(5), established).await.unwrap().unwrap();

        let d = Discovery::new(client.clone()).run_aggregated().await.unwrap();
        let (ar, caps) = d.resolve_gvk(&GroupVersionKind::gvk("example.com", "v1", "Widget")).unwrap();
        assert_eq!(caps.scope, Scope::Namespaced);
        let w: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
        let obj: DynamicObject = serde_json::from_value(json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"replicas": 1}, "status": {"ignored": true}})).unwrap();
        let created = w.create(&PostParams::default(), &obj).await.unwrap();
        assert_eq!(created.metadata.generation, Some(1));
        assert!(created.data.get("status").is_none(), "status is dropped on create");
        let s = w.patch_status("w1", &PatchParams::default(), &Patch::Merge(json!({"status": {"replicas": 1}}))).await.unwrap();
        assert_eq!(s.data["status"]["replicas"], 1);
        w.patch_scale("w1", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 3}}))).await.unwrap();
        assert_eq!(w.get("w1").await.unwrap().data["spec"]["replicas"], 3);

        crds.delete("widgets.example.com", &DeleteParams::default()).await.unwrap();
        let (code, _) = raw(&sim, "GET", "/apis/example.com/v1/namespaces/default/widgets/w1", None, None).await;
        assert_eq!(code, 404);
        assert!(Discovery::new(client).run_aggregated().await.unwrap().resolve_gvk(&GroupVersionKind::gvk("example.com", "v1", "Widget")).is_none());
    })
    .await
}

#[tokio::test]
async fn server_defaults_are_filled_but_not_owned_by_the_applier() {
    bounded(async {
        let sim = sim().await;
        let api: Api<Deployment> = Api::default_namespaced(sim.client());
        let body = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}});
        let d = api.patch("d", &PatchParams::apply("me"), &Patch::Apply(body)).await.unwrap();
        let spec = d.spec.unwrap();
        assert_eq!(spec.replicas, Some(1));
        assert_eq!(spec.strategy.unwrap().type_.as_deref(), Some("RollingUpdate"));
        assert_eq!((spec.revision_history_limit, spec.progress_deadline_seconds), (Some(10), Some(600)));
        let pod = spec.template.spec.unwrap();
        assert_eq!((pod.restart_policy.as_deref(), pod.dns_policy.as_deref()), (Some("Always"), Some("ClusterFirst")));
        let c = &pod.containers[0];
        assert_eq!(c.image_pull_policy.as_deref(), Some("IfNotPresent"));
        assert_eq!(c.ports.as_ref().unwrap()[0].protocol.as_deref(), Some("TCP"));
        let mf = d.metadata.managed_fields.unwrap();
        let owned = serde_json::to_string(&mf[0].fields_v1.as_ref().unwrap().0).unwrap();
        assert!(!owned.contains("imagePullPolicy") && !owned.contains("f:strategy"), "{owned}");
    })
    .await
}

#[tokio::test]
async fn custom_resources_get_schema_defaults_and_pruning() {
    bounded(async {
        let sim = sim().await;
        let client = sim.client();
        let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> = Api::all(client.clone());
        let crd = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "gadgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": {"size": {"type": "integer", "default": 2}, "name": {"type": "string"}}}}}}}]}
        }))
        .unwrap();
        crds.create(&PostParams::default(), &crd).await.unwrap();
        let body = r#"{"apiVersion":"example.com/v1","kind":"Gadget","metadata":{"name":"g"},"spec":{"name":"x","bogus":1}}"#;
        // Strict validation rejects the undeclared field, as kubectl's default --validate=strict does.
        let (code, status) = raw(&sim, "POST", "/apis/example.com/v1/namespaces/default/gadgets?fieldValidation=Strict", Some("application/json"), Some(body)).await;
        assert_eq!((code, status["reason"].as_str()), (400, Some("BadRequest")));
        assert!(status["message"].as_str().unwrap().ends_with("strict decoding error: unknown field \"spec.bogus\""), "{status}");
        // Otherwise it is pruned silently and defaults are applied.
        let (code, obj) = raw(&sim, "POST", "/apis/example.com/v1/namespaces/default/gadgets", Some("application/json"), Some(body)).await;
        assert_eq!(code, 201);
        assert_eq!(obj["spec"], json!({"name": "x", "size": 2}));
    })
    .await
}

#[tokio::test]
async fn typed_list_items_carry_no_type_meta() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        api.create(&PostParams::default(), &cm("a", json!({})))
            .await
            .unwrap();
        let (_, list) = raw(
            &sim,
            "GET",
            "/api/v1/namespaces/default/configmaps",
            None,
            None,
        )
        .await;
        assert_eq!(
            (list["kind"].as_str(), list["apiVersion"].as_str()),
            (Some("ConfigMapList"), Some("v1"))
        );
        assert!(
            list["items"][0].get("kind").is_none() && list["items"][0].get("apiVersion").is_none()
        );
        // kube fills them in for typed lists.
        assert_eq!(
            api.list(&ListParams::default()).await.unwrap().items[0]
                .metadata
                .name
                .as_deref(),
            Some("a")
        );
        // The audit namespace of a Namespace object's own request is its name, as upstream.
        let nss: Api<Namespace> = Api::all(sim.client());
        nss.get("kube-system").await.unwrap();
        let last = sim.audit().pop().unwrap();
        assert_eq!(
            (
                last.resource.as_str(),
                last.namespace.as_str(),
                last.name.as_str()
            ),
            ("namespaces", "kube-system", "kube-system")
        );
    })
    .await
}

#[tokio::test]
async fn create_with_resource_version_and_update_with_wrong_uid_fail_as_upstream() {
    bounded(async {
        let sim = sim().await;
        let (code, body) = raw(&sim, "POST", "/api/v1/namespaces/default/configmaps", Some("application/json"), Some(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","resourceVersion":"5"}}"#)).await;
        assert_eq!((code, body["message"].as_str()), (500, Some("Internal error occurred: resourceVersion should not be set on objects to be created")));
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let mut c = api.create(&PostParams::default(), &cm("c", json!({}))).await.unwrap();
        c.metadata.uid = Some("00000000-0000-0000-0000-000000000000".into());
        let err = api_err(api.replace("c", &PostParams::default(), &c).await.unwrap_err());
        assert_eq!(err.code, 409);
        assert!(err.message.contains("Precondition failed: UID in precondition"), "{}", err.message);
    })
    .await
}

#[tokio::test]
async fn optimistic_concurrency_loses_no_update() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let mut c = cm("counter", json!({}));
        c.data = Some([("n".to_string(), "0".to_string())].into());
        api.create(&PostParams::default(), &c).await.unwrap();
        let (tasks, per_task) = (8, 10);
        let mut handles = Vec::new();
        for _ in 0..tasks {
            let api = api.clone();
            handles.push(tokio::spawn(async move {
                let mut conflicts = 0;
                for _ in 0..per_task {
                    loop {
                        let mut cur = api.get("counter").await.unwrap();
                        let n: u32 = cur.data.as_ref().unwrap()["n"].parse().unwrap();
                        cur.data
                            .as_mut()
                            .unwrap()
                            .insert("n".into(), (n + 1).to_string());
                        match api.replace("counter", &PostParams::default(), &cur).await {
                            Ok(_) => break,
                            Err(kube::Error::Api(s)) if s.code == 409 => conflicts += 1,
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                }
                conflicts
            }));
        }
        let mut conflicts = 0;
        for h in handles {
            conflicts += h.await.unwrap();
        }
        assert_eq!(
            api.get("counter").await.unwrap().data.unwrap()["n"],
            (tasks * per_task).to_string()
        );
        assert!(conflicts > 0, "concurrent writers should have seen 409s");
    })
    .await
}
