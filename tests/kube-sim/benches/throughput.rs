//! Throughput benchmark for kube-sim (not a timed test; prints figures).
//!
//! Run: `cargo bench -p kube-sim --bench throughput`
//! Optional env: `WRITES` (default 20000), `WRITERS` (default 32), `WATCHES` (default 200),
//! `WATCHED_WRITES` (default 2000).
//!
//! Measures, against an in-process simulator over real HTTP with kube::Client
//! (client and server share this machine's cores, as in our tests):
//! 1. creates/s, server-side-apply patches/s and deletes/s from concurrent writers;
//! 2. 200 concurrent watches: writes/s while they are open, and the time until
//!    every watch has received every event.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube_sim::{Options, Simulator};
use serde_json::json;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"bench": "yes"}}, "data": {"key": "value", "other": "x".repeat(64)}})).unwrap()
}

async fn run_writers<F, Fut>(writers: usize, total: usize, f: F) -> Duration
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let next = next.clone();
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                f(i).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let writes = env("WRITES", 20_000);
    let writers = env("WRITERS", 32);
    let watches = env("WATCHES", 200);
    let watched_writes = env("WATCHED_WRITES", 2_000);
    let sim = Simulator::start(Options::default()).await;
    let client = sim.client();
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());

    // 1a. creates
    let a = api.clone();
    let took = run_writers(writers, writes, move |i| {
        let a = a.clone();
        async move {
            a.create(&PostParams::default(), &cm(&format!("c-{i}")))
                .await
                .unwrap();
        }
    })
    .await;
    println!(
        "creates: {writes} in {:.2}s = {:.0} writes/s ({writers} concurrent writers)",
        took.as_secs_f64(),
        writes as f64 / took.as_secs_f64()
    );

    // 1b. server-side apply, changing a value on existing objects
    let a = api.clone();
    let took = run_writers(writers, writes, move |i| {
        let a = a.clone();
        async move {
            let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c-{i}")}, "data": {"key": format!("v{i}")}});
            a.patch(&format!("c-{i}"), &PatchParams::apply("bench").force(), &Patch::Apply(body)).await.unwrap();
        }
    })
    .await;
    println!(
        "server-side apply: {writes} in {:.2}s = {:.0} writes/s ({writers} concurrent writers)",
        took.as_secs_f64(),
        writes as f64 / took.as_secs_f64()
    );

    // 1c. deletes (each one runs the garbage collector)
    let a = api.clone();
    let took = run_writers(writers, writes, move |i| {
        let a = a.clone();
        async move {
            a.delete(&format!("c-{i}"), &Default::default())
                .await
                .unwrap();
        }
    })
    .await;
    println!(
        "deletes: {writes} in {:.2}s = {:.0} writes/s ({writers} concurrent writers)",
        took.as_secs_f64(),
        writes as f64 / took.as_secs_f64()
    );

    // 2. concurrent watches, two ways: raw HTTP readers (measures the server
    //    alone) and kube::Api watchers (adds kube's per-event decoding, which
    //    shares the same two cores).
    for kind in ["raw HTTP", "kube::Api"] {
        let ns = if kind == "raw HTTP" {
            "watched-raw"
        } else {
            "watched-kube"
        };
        let ns_api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
        ns_api
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
            )
            .await
            .unwrap();
        let rv = sim.resource_version().to_string();
        let received = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..watches {
            let received = received.clone();
            let rv = rv.clone();
            let started = Arc::new(tokio::sync::Notify::new());
            let s2 = started.clone();
            let task = if kind == "raw HTTP" {
                let addr = sim.addr();
                tokio::spawn(async move {
                    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
                    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                    let req = format!(
                        "GET /api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={rv} HTTP/1.1\r\nHost: {addr}\r\n\r\n"
                    );
                    s.write_all(req.as_bytes()).await.unwrap();
                    s2.notify_one();
                    let mut lines = BufReader::new(s).lines();
                    let mut n = 0;
                    while n < watched_writes {
                        let l = lines.next_line().await.unwrap().expect("watch ended early");
                        if l.starts_with("{\"type\":\"ADDED\"") {
                            n += 1;
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            } else {
                // One client (connection pool) per watcher, like separate processes would have.
                let w: Api<ConfigMap> = Api::namespaced(sim.client(), ns);
                tokio::spawn(async move {
                    let mut stream = w
                        .watch(&WatchParams::default().timeout(290), &rv)
                        .await
                        .unwrap()
                        .boxed();
                    s2.notify_one();
                    let mut n = 0;
                    while n < watched_writes {
                        match stream.next().await {
                            Some(Ok(WatchEvent::Added(_))) => {
                                n += 1;
                                received.fetch_add(1, Ordering::Relaxed);
                            }
                            Some(Ok(_)) => {}
                            other => panic!("watch ended early: {other:?}"),
                        }
                    }
                })
            };
            handles.push((task, started));
        }
        for (_, started) in &handles {
            started.notified().await;
        }
        // Let every watch request reach the server before writing.
        while sim
            .audit()
            .iter()
            .filter(|r| r.verb == "watch" && r.namespace == ns)
            .count()
            < watches
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let start = Instant::now();
        let wa: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        let took_writes = run_writers(writers, watched_writes, move |i| {
            let wa = wa.clone();
            async move {
                wa.create(&PostParams::default(), &cm(&format!("w-{i}")))
                    .await
                    .unwrap();
            }
        })
        .await;
        for (h, _) in handles {
            tokio::time::timeout(Duration::from_secs(300), h)
                .await
                .expect("watchers finished")
                .unwrap();
        }
        let took_all = start.elapsed();
        let delivered = received.load(Ordering::Relaxed);
        println!(
            "{watches} concurrent watches ({kind} readers): {watched_writes} creates in {:.2}s = {:.0} writes/s while watched; all {delivered} events delivered in {:.2}s = {:.0} events/s",
            took_writes.as_secs_f64(),
            watched_writes as f64 / took_writes.as_secs_f64(),
            took_all.as_secs_f64(),
            delivered as f64 / took_all.as_secs_f64()
        );
    }
    sim.stop().await;
}
