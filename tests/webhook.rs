//! The conversion webhook of `dynamoctl run controller`, end to end against the simulator:
//! the process makes its certificates into a Secret, points both CRDs at its URL with the CA
//! bundle, and answers `ConversionReview`s over HTTPS exactly as the API server sends them
//! (this client trusts only the injected CA bundle, as the API server does). The simulator
//! itself does not call conversion webhooks (it serves every version of a CRD from one
//! stored body); `real_conversion` proves the API server's side on a real control plane.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};

use common::sim::with_crds;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn webhook(sim: &kube_sim::Simulator, port: u16) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_dynamoctl"))
        .args(["run", "controller", "--webhook-only"])
        .arg(format!("--webhook-url=https://127.0.0.1:{port}/convert"))
        .arg(format!("--webhook-bind-address=127.0.0.1:{port}"))
        .args([
            "--leader-election-namespace=default",
            "--health-probe-bind-address=127.0.0.1:0",
            "--metrics-bind-address=127.0.0.1:0",
        ])
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("the webhook starts")
}

/// The CA bundle both CRDs carry once the webhook configured them for `url`.
async fn injected_ca(client: &kube::Client, url: &str) -> Vec<u8> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut bundles = Vec::new();
        for name in [
            "dynamographdeployments.nvidia.com",
            "dynamocomponentdeployments.nvidia.com",
        ] {
            let crd = serde_json::to_value(crds.get(name).await.unwrap()).unwrap();
            let config = &crd["spec"]["conversion"]["webhook"]["clientConfig"];
            if config["url"] == url && config["service"].is_null() {
                bundles.push(config["caBundle"].as_str().unwrap().to_string());
            }
        }
        if bundles.len() == 2 {
            assert_eq!(bundles[0], bundles[1]);
            return base64::engine::general_purpose::STANDARD
                .decode(&bundles[0])
                .unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the CRDs never named {url}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// POSTs `body` to the webhook over HTTPS, trusting only `ca` (PEM); (status, body).
async fn post(port: u16, ca: &[u8], path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .expect("the serving certificate verifies against the injected CA bundle");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let request = hyper::Request::post(path)
        .header("content-type", "application/json")
        .header("host", "127.0.0.1")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec())
}

fn review(desired: &str, objects: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "ConversionReview",
        "request": { "uid": "0000-1", "desiredAPIVersion": desired, "objects": objects },
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_converts_over_https_with_the_ca_it_injected() {
    let sim = with_crds(false).await;
    let client = sim.client();
    let port = free_port();
    let url = format!("https://127.0.0.1:{port}/convert");
    let mut process = webhook(&sim, port);
    let ca = injected_ca(&client, &url).await;

    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let secret = secrets.get("dynamo-operator-webhook-cert").await.unwrap();
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
    let data = secret.data.clone().unwrap();
    assert_eq!(data["ca.crt"].0, ca, "the bundle is the Secret's CA");
    for key in ["ca.key", "tls.crt", "tls.key"] {
        assert!(!data[key].0.is_empty(), "{key}");
    }

    // An example graph, v1alpha1 -> v1beta1 -> v1alpha1, through the server: lossless.
    let mut graph: Value =
        serde_saphyr::from_str(&common::sim::read("examples/mocker-agg.yaml")).unwrap();
    graph["metadata"]["namespace"] = json!("team-a");
    graph["metadata"]["uid"] = json!("6b1d");
    let (status, body) = post(
        port,
        &ca,
        "/convert",
        review("nvidia.com/v1beta1", json!([graph])),
    )
    .await;
    assert_eq!(status, 200);
    let out: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(out["kind"], "ConversionReview");
    assert_eq!(out["response"]["uid"], "0000-1");
    assert_eq!(out["response"]["result"]["status"], "Success");
    let beta = out["response"]["convertedObjects"][0].clone();
    assert_eq!(beta["apiVersion"], "nvidia.com/v1beta1");
    assert_eq!(beta["metadata"]["uid"], "6b1d");
    let (_, body) = post(
        port,
        &ca,
        "/convert",
        review("nvidia.com/v1alpha1", json!([beta])),
    )
    .await;
    let back: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(back["response"]["convertedObjects"][0], graph);

    // Bad input: a failed review naming the object and the field, never a crash.
    let mut malformed = graph.clone();
    malformed["spec"]["services"]["Worker"]["replicas"] = json!("two");
    let (status, body) = post(
        port,
        &ca,
        "/convert",
        review("nvidia.com/v1beta1", json!([malformed])),
    )
    .await;
    assert_eq!(status, 200);
    let out: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(out["response"]["result"]["status"], "Failure");
    let message = out["response"]["result"]["message"].as_str().unwrap();
    assert!(message.contains("team-a/mocker-agg"), "{message}");
    let (status, body) = post(port, &ca, "/convert", b"{not json".to_vec()).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("not JSON"));
    let (status, _) = post(
        port,
        &ca,
        "/elsewhere",
        review("nvidia.com/v1beta1", json!([])),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        process.try_wait().unwrap().is_none(),
        "the webhook is still serving"
    );

    // A restart (or a second replica) reuses the valid certificates.
    process.kill().await.unwrap();
    let port2 = free_port();
    let url2 = format!("https://127.0.0.1:{port2}/convert");
    let _second = webhook(&sim, port2);
    let ca2 = injected_ca(&client, &url2).await;
    assert_eq!(ca2, ca);
    let again = secrets.get("dynamo-operator-webhook-cert").await.unwrap();
    assert_eq!(again.data.unwrap()["tls.crt"], data["tls.crt"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_scoped_operator_refuses_to_serve_conversion() {
    let sim = with_crds(false).await;
    let out = common::sim::run(
        &sim,
        &[
            "run",
            "controller",
            "--restricted-namespace=team-a",
            "--webhook-service-name=dynamo-operator-webhook",
        ],
        &[],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        common::sim::text(&out.stderr)
    );
    assert!(common::sim::text(&out.stderr).contains("cluster-wide operator"));
    let out = common::sim::run(
        &sim,
        &[
            "run",
            "controller",
            "--webhook-url=http://127.0.0.1:1/convert",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(common::sim::text(&out.stderr).contains("https URL"));
}
