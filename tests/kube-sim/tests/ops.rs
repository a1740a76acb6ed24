//! Audit log, fault injection and the simulated kubelet.

mod common;

use std::time::{Duration, Instant};

use common::{bounded, raw_text, sim};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube_sim::{FaultConfig, FaultKind, FaultRule, Options, Simulator};
use serde_json::json;

fn deploy(name: &str, replicas: i32) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
    })
}

#[tokio::test]
async fn audit_records_every_request_with_the_documented_keys() {
    bounded(async {
        let dir = std::env::temp_dir().join(format!("kube-sim-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("audit.jsonl");
        let _ = std::fs::remove_file(&file);
        let sim = Simulator::start(Options {
            audit_log: Some(file.clone()),
            ..Options::default()
        })
        .await;
        let api: Api<ConfigMap> = Api::namespaced(sim.client(), "kube-system");
        api.patch(
            "c",
            &PatchParams::apply("tester").dry_run(),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            ),
        )
        .await
        .unwrap();
        let _ = api.get_opt("missing").await.unwrap();
        let recs = sim.audit();
        assert_eq!(recs.len(), 2);
        let r = &recs[0];
        assert_eq!(
            (
                r.verb.as_str(),
                r.group.as_str(),
                r.resource.as_str(),
                r.namespace.as_str(),
                r.name.as_str(),
                r.field_manager.as_str(),
                r.dry_run,
                r.code
            ),
            (
                "patch",
                "",
                "configmaps",
                "kube-system",
                "c",
                "tester",
                true,
                201
            )
        );
        assert_eq!((recs[1].verb.as_str(), recs[1].code), ("get", 404));
        assert!(sim.audit_writes().is_empty(), "a dry-run is not a write");
        let text = std::fs::read_to_string(&file).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        let mut keys: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "code",
                "dryRun",
                "fieldManager",
                "group",
                "name",
                "namespace",
                "resource",
                "subresource",
                "ts",
                "userAgent",
                "verb"
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await
}

#[tokio::test]
async fn injected_errors_latency_and_retry_after() {
    bounded(async {
        let sim = Simulator::start(Options {
            seed: Some(7),
            ..Options::default()
        })
        .await;
        sim.set_faults(FaultConfig {
            rules: vec![
                FaultRule::new(
                    FaultKind::TooManyRequests {
                        retry_after_secs: 3,
                    },
                    1.0,
                )
                .verb("list")
                .resource("configmaps"),
            ],
            ..Default::default()
        });
        let (code, headers, body) = raw_text(
            &sim,
            "GET",
            "/api/v1/namespaces/default/configmaps",
            None,
            None,
            &[],
        )
        .await;
        assert_eq!(code, 429);
        assert!(headers.iter().any(|(k, v)| k == "retry-after" && v == "3"));
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (
                body["reason"].as_str(),
                body["details"]["retryAfterSeconds"].as_u64()
            ),
            (Some("TooManyRequests"), Some(3))
        );
        // Other verbs and resources are untouched.
        let (code, _, _) = raw_text(
            &sim,
            "GET",
            "/api/v1/namespaces/default/secrets",
            None,
            None,
            &[],
        )
        .await;
        assert_eq!(code, 200);

        // A fraction: roughly half of 200 creates fail with 500 or 503.
        sim.set_faults(FaultConfig {
            rules: vec![
                FaultRule::new(FaultKind::InternalError, 0.25).verb("create"),
                FaultRule::new(
                    FaultKind::Unavailable {
                        retry_after_secs: 1,
                    },
                    0.34,
                )
                .verb("create"),
            ],
            ..Default::default()
        });
        let mut config = sim.config();
        config.default_retry = false;
        let api: Api<ConfigMap> = Api::default_namespaced(kube::Client::try_from(config).unwrap());
        let (mut ok, mut e500, mut e503) = (0, 0, 0);
        for i in 0..200 {
            match api
                .create(
                    &PostParams::default(),
                    &serde_json::from_value(json!({"metadata": {"name": format!("c{i}")}}))
                        .unwrap(),
                )
                .await
            {
                Ok(_) => ok += 1,
                Err(kube::Error::Api(s)) if s.code == 500 => e500 += 1,
                Err(kube::Error::Api(s)) if s.code == 503 => e503 += 1,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert!(
            (70..=130).contains(&ok) && e500 > 20 && e503 > 20,
            "ok={ok} 500={e500} 503={e503}"
        );

        // kube's default client retries 429s, honouring Retry-After.
        sim.set_faults(FaultConfig {
            rules: vec![
                FaultRule::new(
                    FaultKind::TooManyRequests {
                        retry_after_secs: 0,
                    },
                    0.5,
                )
                .verb("create"),
            ],
            ..Default::default()
        });
        sim.clear_audit();
        let retrying: Api<ConfigMap> = Api::default_namespaced(sim.client());
        for i in 0..20 {
            retrying
                .create(
                    &PostParams::default(),
                    &serde_json::from_value(json!({"metadata": {"name": format!("r{i}")}}))
                        .unwrap(),
                )
                .await
                .unwrap();
        }
        let creates: Vec<u16> = sim
            .audit()
            .iter()
            .filter(|r| r.verb == "create")
            .map(|r| r.code)
            .collect();
        assert_eq!(creates.iter().filter(|c| **c == 201).count(), 20);
        assert!(
            creates.iter().filter(|c| **c == 429).count() > 3,
            "{creates:?}"
        );

        sim.set_faults(FaultConfig {
            latency: Duration::from_millis(150),
            ..Default::default()
        });
        let t = Instant::now();
        api.get_opt("c0").await.unwrap();
        assert!(t.elapsed() >= Duration::from_millis(150));
    })
    .await
}

async fn wait_for<F: Fn(&Deployment) -> bool>(
    api: &Api<Deployment>,
    name: &str,
    f: F,
) -> Deployment {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = api.get(name).await.unwrap();
        if f(&d) {
            return d;
        }
        assert!(
            Instant::now() < deadline,
            "condition not reached: {:?}",
            d.status
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ready(d: &Deployment) -> bool {
    let s = d.status.clone().unwrap_or_default();
    s.observed_generation == d.metadata.generation
        && s.ready_replicas == d.spec.as_ref().unwrap().replicas
        && s.conditions
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Available" && c.status == "True")
}

#[tokio::test]
async fn kubelet_makes_deployments_ready_after_each_spec_change() {
    bounded(async {
        let sim = Simulator::start(Options {
            kubelet: true,
            kubelet_ready_delay: Duration::from_millis(300),
            ..Options::default()
        })
        .await;
        let api: Api<Deployment> = Api::default_namespaced(sim.client());
        let t = Instant::now();
        api.patch(
            "web",
            &PatchParams::apply("t"),
            &Patch::Apply(deploy("web", 2)),
        )
        .await
        .unwrap();
        let d = wait_for(&api, "web", ready).await;
        assert!(
            t.elapsed() >= Duration::from_millis(300),
            "status must wait for the delay"
        );
        let s = d.status.unwrap();
        assert_eq!(
            (
                s.replicas,
                s.updated_replicas,
                s.available_replicas,
                s.observed_generation
            ),
            (Some(2), Some(2), Some(2), Some(1))
        );
        assert!(kube::runtime::wait::Condition::matches_object(
            &kube::runtime::conditions::is_deployment_completed(),
            Some(&api.get("web").await.unwrap())
        ));

        // Spec change: generation 2 is observed only after the delay (made long
        // here so a slow machine can't race the check, then shortened).
        sim.kubelet().set_ready_delay(Duration::from_secs(60));
        api.patch(
            "web",
            &PatchParams::apply("t"),
            &Patch::Apply(deploy("web", 3)),
        )
        .await
        .unwrap();
        assert_eq!(
            api.get("web")
                .await
                .unwrap()
                .status
                .unwrap()
                .observed_generation,
            Some(1)
        );
        sim.kubelet().set_ready_delay(Duration::from_millis(300));
        let d = wait_for(&api, "web", ready).await;
        assert_eq!(d.status.unwrap().ready_replicas, Some(3));

        // Held: observed but never available, until released.
        sim.kubelet().hold("default", "slow");
        api.patch(
            "slow",
            &PatchParams::apply("t"),
            &Patch::Apply(deploy("slow", 1)),
        )
        .await
        .unwrap();
        let d = wait_for(&api, "slow", |d| {
            d.status
                .as_ref()
                .is_some_and(|s| s.observed_generation == Some(1))
        })
        .await;
        assert!(!ready(&d));
        let avail = d
            .status
            .unwrap()
            .conditions
            .unwrap()
            .into_iter()
            .find(|c| c.type_ == "Available")
            .unwrap();
        assert_eq!(
            (avail.status.as_str(), avail.reason.as_deref()),
            ("False", Some("MinimumReplicasUnavailable"))
        );
        sim.kubelet().release("default", "slow");
        wait_for(&api, "slow", ready).await;
        // The kubelet's writes are not API requests: they don't show in the audit log.
        assert!(sim.audit_writes().iter().all(|r| r.field_manager == "t"));
    })
    .await
}

#[tokio::test]
async fn kubelet_is_off_by_default_in_process() {
    bounded(async {
        let sim = sim().await;
        let api: Api<Deployment> = Api::default_namespaced(sim.client());
        api.patch(
            "web",
            &PatchParams::apply("t"),
            &Patch::Apply(deploy("web", 1)),
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(api.get("web").await.unwrap().status.is_none());
        sim.kubelet().set_ready_delay(Duration::ZERO);
        sim.kubelet().set_enabled(true);
        wait_for(&api, "web", ready).await;
    })
    .await
}

#[tokio::test]
async fn simulated_clock_moves_server_timestamps() {
    bounded(async {
        let sim = sim().await;
        let api: Api<ConfigMap> = Api::default_namespaced(sim.client());
        let before = k8s_openapi::jiff::Timestamp::now();
        sim.advance_clock(Duration::from_secs(3600));
        let c = api
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": "later"}, "data": {"k": "v"}}))
                    .unwrap(),
            )
            .await
            .unwrap();
        let created = c.metadata.creation_timestamp.unwrap().0;
        let ahead = created.duration_since(before).as_secs();
        assert!((3590..=3610).contains(&ahead), "{ahead}");
        assert_eq!(
            c.metadata.managed_fields.unwrap()[0]
                .time
                .as_ref()
                .unwrap()
                .0,
            created
        );
        assert!(sim.now().parse::<k8s_openapi::jiff::Timestamp>().unwrap() >= created);
    })
    .await
}
