//! Upstream behaviours the renderer follows (audit §1, issue 14): the startup probe, the
//! annotations of the Deployment and Service, the planner's ServiceAccount, backend
//! detection, the debug annotations, Istio VirtualServices, and the checks a standalone
//! DynamoComponentDeployment gets like a graph's service.

use dynamoctl::manifest::Object;
use dynamoctl::render::{RenderError, RenderOptions, render_all};
use serde_json::{Value, json};

fn graph(services: Value) -> Object {
    let dgd = json!({
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": { "name": "g", "namespace": "ns" },
        "spec": { "services": services },
    });
    Object::Graph(Box::new(serde_json::from_value(dgd).unwrap()))
}

fn component(spec: Value) -> Object {
    let dcd = json!({
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoComponentDeployment",
        "metadata": { "name": "solo", "namespace": "ns" },
        "spec": spec,
    });
    Object::Component(Box::new(serde_json::from_value(dcd).unwrap()))
}

fn render(object: Object, opts: &RenderOptions) -> Result<Vec<Value>, RenderError> {
    render_all(&[object], opts).map_err(|(_, e)| e)
}

fn find<'a>(out: &'a [Value], kind: &str, name: &str) -> &'a Value {
    out.iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {out:#?}"))
}

fn main_container(deployment: &Value) -> &Value {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
}

fn worker(main: Value) -> Value {
    json!({ "componentType": "worker", "extraPodSpec": { "mainContainer": main } })
}

#[test]
fn a_startup_probe_with_a_handler_replaces_the_default_whole() {
    let probe = json!({ "exec": { "command": ["true"] }, "periodSeconds": 3 });
    let out = render(
        graph(json!({ "W": worker(json!({ "image": "x", "startupProbe": probe })) })),
        &RenderOptions::default(),
    )
    .unwrap();
    let main = main_container(find(&out, "Deployment", "g-w"));
    // Exactly the user's probe: no default httpGet beside the exec (two handlers are rejected).
    assert_eq!(main["startupProbe"], probe);
}

#[test]
fn a_startup_probe_without_a_handler_tunes_the_default() {
    let out = render(
        graph(json!({ "W": worker(json!({ "image": "x", "startupProbe": { "initialDelaySeconds": 180 } })) })),
        &RenderOptions::default(),
    )
    .unwrap();
    let probe = &main_container(find(&out, "Deployment", "g-w"))["startupProbe"];
    assert_eq!(probe["initialDelaySeconds"], 180);
    assert_eq!(probe["httpGet"]["path"], "/live");
}

#[test]
fn extra_pod_metadata_annotations_reach_the_deployment_and_the_service() {
    let out = render(
        graph(json!({ "W": {
            "componentType": "worker",
            "annotations": { "a": "component", "b": "component" },
            "extraPodMetadata": { "annotations": { "b": "pod", "c": "pod" } },
            "extraPodSpec": { "mainContainer": { "image": "x" } },
        } })),
        &RenderOptions::default(),
    )
    .unwrap();
    let expected = json!({ "a": "component", "b": "pod", "c": "pod" });
    assert_eq!(
        find(&out, "Deployment", "g-w")["metadata"]["annotations"],
        expected
    );
    assert_eq!(
        find(&out, "Service", "g-w")["metadata"]["annotations"],
        expected
    );
    // The pods get extraPodMetadata's annotations only, as before.
    assert_eq!(
        find(&out, "Deployment", "g-w")["spec"]["template"]["metadata"]["annotations"],
        json!({ "b": "pod", "c": "pod" })
    );
}

#[test]
fn a_planner_runs_as_the_planner_service_account_whatever_it_asks() {
    let out = render(
        graph(json!({ "Planner": {
            "componentType": "planner",
            "extraPodSpec": { "serviceAccountName": "mine", "mainContainer": { "image": "x" } },
        } })),
        &RenderOptions::default(),
    )
    .unwrap();
    assert_eq!(
        find(&out, "Deployment", "g-planner")["spec"]["template"]["spec"]["serviceAccountName"],
        "planner-serviceaccount"
    );
}

#[test]
fn the_backend_is_detected_with_upstreams_pattern() {
    // LWS multinode needs the backend: a vLLM worker is launched with its own flags.
    let opts = RenderOptions {
        orchestrators: dynamoctl::render::Orchestrators {
            lws: true,
            ..Default::default()
        },
        ..Default::default()
    };
    for (command, args, backend) in [
        (
            json!(["python3", "-u", "-m", "dynamo.vllm"]),
            json!(["--tensor-parallel-size", "16"]),
            Some("vllm"),
        ),
        (
            json!(["/usr/bin/python3.12"]),
            json!(["-m", "dynamo.sglang", "--tp", "8"]),
            Some("sglang"),
        ),
        (
            json!(["sh", "-c"]),
            json!(["cd /w && python -X dev -m dynamo.trtllm"]),
            Some("trtllm"),
        ),
        // Not Python running a module: no backend.
        (
            json!(["sh", "-c"]),
            json!(["echo dynamo.vllm | python3 -m json.tool"]),
            None,
        ),
        (json!(["vllm"]), json!(["serve"]), None),
    ] {
        let main = json!({ "image": "x", "command": command, "args": args });
        let result = render(
            graph(json!({ "W": {
                "componentType": "worker",
                "multinode": { "nodeCount": 2 },
                "resources": { "limits": { "gpu": "8" } },
                "extraPodSpec": { "mainContainer": main },
            } })),
            &opts,
        );
        match backend {
            Some(b) => {
                let out = result.unwrap_or_else(|e| panic!("{command} {args}: {e}"));
                let text = serde_json::to_string(&out).unwrap();
                let marker = match b {
                    "vllm" => "ray start",
                    "trtllm" => "mpirun",
                    _ => "--dist-init-addr",
                };
                assert!(text.contains(marker), "{b}: launched for multinode");
            }
            None => {
                let e = result.expect_err("no engine, no multinode launch");
                assert!(e.message.contains("cannot tell which engine"), "{e}");
            }
        }
    }
}

#[test]
fn debug_annotations_are_refused_by_name_in_graphs_and_components() {
    for key in [
        "nvidia.com/enable-debug-mode",
        "nvidia.com/enable-stealing-traffic-debug-mode",
        "nvidia.com/enable-debug-pod-receive-production-traffic",
    ] {
        let spec = json!({
            "componentType": "worker",
            "annotations": { key: "true" },
            "extraPodSpec": { "mainContainer": { "image": "x" } },
        });
        let e = render(
            graph(json!({ "W": spec.clone() })),
            &RenderOptions::default(),
        )
        .expect_err("graph refused");
        assert_eq!(e.path, ["spec", "services", "W", "annotations", key]);
        assert!(e.message.starts_with(key), "{e}");
        let e = render(component(spec), &RenderOptions::default()).expect_err("component refused");
        assert_eq!(e.path, ["spec", "annotations", key]);
    }
    // "false" asks for nothing.
    let spec = json!({
        "componentType": "worker",
        "annotations": { "nvidia.com/enable-debug-mode": "false" },
        "extraPodSpec": { "mainContainer": { "image": "x" } },
    });
    render(graph(json!({ "W": spec })), &RenderOptions::default()).unwrap();
}

fn frontend(ingress: Value) -> Value {
    json!({ "componentType": "frontend", "ingress": ingress, "extraPodSpec": { "mainContainer": { "image": "x" } } })
}

#[test]
fn an_ingress_with_use_virtual_service_renders_an_istio_virtual_service() {
    let ingress = json!({
        "enabled": true, "host": "chat", "hostSuffix": "example.com",
        "useVirtualService": true, "virtualServiceGateway": "istio-system/gw",
        "labels": { "l": "1" }, "annotations": { "a": "1" },
    });
    let out = render(
        graph(json!({ "Frontend": frontend(ingress) })),
        &RenderOptions::default(),
    )
    .unwrap();
    let vs = find(&out, "VirtualService", "g-frontend");
    assert_eq!(vs["apiVersion"], "networking.istio.io/v1beta1");
    assert_eq!(
        vs["spec"],
        json!({
            "hosts": ["chat.example.com"],
            "gateways": ["istio-system/gw"],
            "http": [{
                "match": [{ "uri": { "prefix": "/" } }],
                "route": [{ "destination": { "host": "g-frontend", "port": { "number": 8000 } } }],
            }],
        })
    );
    assert_eq!(vs["metadata"]["labels"]["l"], "1");
    assert_eq!(vs["metadata"]["annotations"], json!({ "a": "1" }));
    // No IngressClass: no Ingress, as upstream.
    assert!(!out.iter().any(|o| o["kind"] == "Ingress"));
    // Last in dependency order, after the Service it routes to.
    assert_eq!(out.last().unwrap()["kind"], "VirtualService");
}

#[test]
fn the_operators_gateway_gives_frontends_a_default_virtual_service() {
    let opts = RenderOptions {
        virtual_service_gateway: Some("istio-system/default".into()),
        ingress_host_suffix: Some("example.com".into()),
        ..Default::default()
    };
    let out = render(
        graph(json!({ "Frontend": { "componentType": "frontend" } })),
        &opts,
    )
    .unwrap();
    let vs = find(&out, "VirtualService", "g-frontend");
    assert_eq!(vs["spec"]["hosts"], json!(["g.example.com"]));
    assert_eq!(vs["spec"]["gateways"], json!(["istio-system/default"]));
    // An ingress with useVirtualService and no gateway of its own uses the operator's.
    let out = render(
        component(
            json!({ "componentType": "frontend", "ingress": { "enabled": true, "host": "h", "useVirtualService": true } }),
        ),
        &opts,
    )
    .unwrap();
    assert_eq!(
        find(&out, "VirtualService", "solo")["spec"]["gateways"],
        json!(["istio-system/default"])
    );
}

#[test]
fn a_standalone_component_gets_the_checks_a_graph_service_gets() {
    let no_gateway = json!({ "enabled": true, "host": "h", "useVirtualService": true });
    let e = render(
        graph(json!({ "Frontend": frontend(no_gateway.clone()) })),
        &RenderOptions::default(),
    )
    .expect_err("graph refused");
    assert_eq!(
        e.path,
        [
            "spec",
            "services",
            "Frontend",
            "ingress",
            "virtualServiceGateway"
        ]
    );
    let e = render(component(frontend(no_gateway)), &RenderOptions::default())
        .expect_err("component refused");
    assert_eq!(e.path, ["spec", "ingress", "virtualServiceGateway"]);
    assert!(e.message.contains("needs an Istio gateway"), "{e}");
    // Multinode without an orchestrator: refused for both.
    let multinode = json!({
        "componentType": "worker",
        "multinode": { "nodeCount": 2 },
        "resources": { "limits": { "gpu": "8" } },
        "extraPodSpec": { "mainContainer": { "image": "x", "command": ["python3", "-m", "dynamo.vllm"] } },
    });
    let e = render(
        graph(json!({ "W": multinode.clone() })),
        &RenderOptions::default(),
    )
    .expect_err("graph refused");
    assert_eq!(e.path, ["spec", "services", "W", "multinode", "nodeCount"]);
    let e = render(component(multinode), &RenderOptions::default()).expect_err("component refused");
    assert_eq!(e.path, ["spec", "multinode", "nodeCount"]);
}
