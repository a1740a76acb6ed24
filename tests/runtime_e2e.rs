//! End to end with Dynamo's real runtime: a mocker graph rendered by `dynamoctl render
//! --operator-config`, its pods run exactly as rendered (tests/runtime/pod_runner.py: one
//! network namespace and IP per pod, kubelet env and probe semantics, etcd on the bridge
//! at the configured `etcdAddress`), and OpenAI requests sent to the frontend pod's IP.
//!
//! Needs root, `ip`, Debian's `etcd` and the pinned runtime in `.tools/dynamo-venv`
//! (`bash scripts/install-dynamo-runtime.sh`). Without them the tests skip with a message,
//! except when `CI` is set (CI runs with `CI=true`), where they fail.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::repo;
use serde_json::{Value, json};

/// The Dynamo runtime version the install script pins and these tests prove.
const RUNTIME_VERSION: &str = "1.6.1";

#[test]
fn aggregated_mocker_graph_serves_chat_completions() {
    run_graph(0, &repo().join("examples/mocker-agg.yaml"));
}

#[test]
fn disaggregated_mocker_graph_serves_chat_completions() {
    run_graph(
        1,
        &repo().join("tests/fixtures/upstream/examples__backends__mocker__deploy__disagg.yaml"),
    );
}

#[test]
fn pod_runner_follows_kubelet_semantics() {
    // `$(VAR)` expansion and `$$`, envFrom/env order, fieldRefs, Secret keys, named ports
    // and the errors a kubelet would raise; needs only the runtime's Python, not root.
    let python = repo().join(".tools/dynamo-venv/bin/python3");
    if !python.exists() {
        skip_or_fail("pod runner self-test", &format!("no {}", python.display()));
        return;
    }
    let out = Command::new(&python)
        .arg(repo().join("tests/runtime/pod_runner.py"))
        .arg("self-test")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Fails under CI (which must have installed everything), otherwise skips loudly.
fn skip_or_fail(what: &str, why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} cannot run under CI: {why}; .ci/run must install it");
    }
    // Straight to stderr, past the test harness' capture, so a skip is never silent.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {what}: {why}. As root run `bash scripts/install-dynamo-runtime.sh`."
    );
}

/// Why the runtime cannot run here, or None when everything is present.
fn missing_prerequisite(python: &Path) -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid_is_root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        == Some("0");
    if !uid_is_root {
        return Some("needs root (network namespaces, mounts)".into());
    }
    for (tool, arg) in [("ip", "-V"), ("etcd", "--version")] {
        let ok = Command::new(tool)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    let probe = "import importlib.metadata as m, tokenizers, dynamo.frontend, dynamo.mocker; \
                 print(m.version('ai-dynamo'))";
    match Command::new(python).args(["-c", probe]).output() {
        Ok(o) if o.status.success() => {
            let got = String::from_utf8_lossy(&o.stdout).trim().to_string();
            (got != RUNTIME_VERSION).then(|| {
                format!(
                    "{} has ai-dynamo {got}, want {RUNTIME_VERSION}",
                    python.display()
                )
            })
        }
        _ => Some(format!("no Dynamo runtime at {}", python.display())),
    }
}

/// Names and addresses unique to this process and test, so parallel runs do not collide:
/// a pid is below 2^22, so `pid * 4 + index` is unique among live test processes.
struct Slot {
    prefix: String,
    subnet: String,
    gateway: String,
}

fn slot(index: u32) -> Slot {
    let n = std::process::id() * 4 + index;
    let k = n % 12_000; // 10.200.0.0 – 10.246.223.0, one /24 each
    let (b, c) = (200 + k / 256, k % 256);
    Slot {
        prefix: format!("rt{:x}", n % 0x100_0000),
        subnet: format!("10.{b}.{c}.0/24"),
        gateway: format!("10.{b}.{c}.1"),
    }
}

fn run_graph(index: u32, graph: &Path) {
    let python = repo().join(".tools/dynamo-venv/bin/python3");
    if let Some(why) = missing_prerequisite(&python) {
        skip_or_fail(&format!("runtime e2e ({})", graph.display()), &why);
        return;
    }
    let started = Instant::now();
    let slot = slot(index);
    let work = std::env::temp_dir().join(format!("dynamoctl-runtime-e2e-{}", slot.prefix));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();

    // The model: a tokenizer-only directory built offline.
    let model = work.join("model");
    let built = Command::new(&python)
        .arg(repo().join("tests/runtime/build_model.py"))
        .arg(&model)
        .output()
        .unwrap();
    assert!(built.status.success(), "build_model.py: {built:?}");

    // The graph with its model pointed at that directory (the only edit besides the one
    // documented in `rewrite_graph`), then rendered as a user would.
    let (graph_text, served_model, secrets) = rewrite_graph(graph, &model);
    std::fs::write(work.join("graph.yaml"), graph_text).unwrap();
    let etcd_url = format!("http://{}:2379", slot.gateway);
    std::fs::write(
        work.join("operator-config.yaml"),
        format!(
            "apiVersion: operator.config.dynamo.nvidia.com/v1alpha1\n\
             kind: OperatorConfiguration\n\
             infrastructure:\n  etcdAddress: {etcd_url}\n\
             discovery:\n  backend: etcd\n"
        ),
    )
    .unwrap();
    let rendered = common::dynamoctl(
        &work,
        &[
            "render",
            "--operator-config",
            "operator-config.yaml",
            "graph.yaml",
        ],
    );
    assert!(
        rendered.status.success(),
        "dynamoctl render: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let rendered = String::from_utf8(rendered.stdout).unwrap();
    assert_runtime_wiring(&rendered, &etcd_url);

    // The cluster's side: Secrets the graph refers to (as a user would have created them).
    let mut manifests = rendered;
    for name in secrets {
        manifests.push_str(&format!(
            "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: default\n\
             stringData:\n  HF_TOKEN: unused-offline\n"
        ));
    }
    std::fs::write(work.join("manifests.yaml"), &manifests).unwrap();

    let runner_log = work.join("runner.log");
    let child = Command::new(&python)
        .arg(repo().join("tests/runtime/pod_runner.py"))
        .args(["--manifests", "manifests.yaml", "--work", "pods"])
        .args(["--subnet", &slot.subnet, "--prefix", &slot.prefix])
        .args(["--etcd-url", &etcd_url])
        .args(["--ready-timeout", "90", "--timeout", "120"])
        .current_dir(&work)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&runner_log).unwrap())
        .spawn()
        .unwrap();
    let mut runner = Runner {
        child,
        log: runner_log.clone(),
    };
    let pods = runner.wait_ready(Duration::from_secs(100));

    let frontend = pods
        .iter()
        .find(|p| p["labels"]["nvidia.com/dynamo-component-type"] == "frontend")
        .expect("a frontend pod");
    let addr: SocketAddr = format!(
        "{}:{}",
        frontend["ip"].as_str().unwrap(),
        frontend["ports"]["http"]
            .as_u64()
            .expect("the frontend's `http` port")
    )
    .parse()
    .unwrap();
    let ctx = format!("frontend {addr}, runner log {}", runner_log.display());

    // GET /v1/models: the workers registered through etcd and the frontend lists the model.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = http(addr, "GET", "/v1/models", None);
        let listed = serde_json::from_str::<Value>(&body).ok().is_some_and(|v| {
            v["data"]
                .as_array()
                .is_some_and(|d| d.iter().any(|m| m["id"] == served_model.as_str()))
        });
        if status == 200 && listed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{ctx}: /v1/models never listed {served_model}: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    // POST /v1/chat/completions, unary.
    let request = json!({
        "model": served_model,
        "messages": [{"role": "user", "content": "Hello, how are you today?"}],
        "max_tokens": 8,
    });
    let (status, body) = http(addr, "POST", "/v1/chat/completions", Some(&request));
    assert_eq!(status, 200, "{ctx}: {body}");
    let reply: Value = serde_json::from_str(&body).unwrap();
    let content = reply["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or("");
    assert!(
        !content.trim().is_empty(),
        "{ctx}: empty completion: {body}"
    );
    assert_eq!(reply["usage"]["completion_tokens"], 8, "{ctx}: {body}");

    // POST /v1/chat/completions, streaming (server-sent events).
    let mut streaming = request.clone();
    streaming["stream"] = json!(true);
    let (status, body) = http(addr, "POST", "/v1/chat/completions", Some(&streaming));
    assert_eq!(status, 200, "{ctx}: {body}");
    let events: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(
        events.last(),
        Some(&"[DONE]"),
        "{ctx}: stream not closed: {body}"
    );
    let streamed: String = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert!(
        !streamed.trim().is_empty(),
        "{ctx}: no streamed content: {body}"
    );

    // Every worker Deployment served some of those requests (its pods' `generate`
    // counters, read from the `system` port a PodMonitor scrapes): in the disaggregated
    // graph that is prefill and decode both, so the frontend really routed both ways.
    let mut served: std::collections::BTreeMap<&str, u64> = Default::default();
    for pod in pods.iter().filter(|p| p["ports"]["system"].is_u64()) {
        let addr: SocketAddr =
            format!("{}:{}", pod["ip"].as_str().unwrap(), pod["ports"]["system"])
                .parse()
                .unwrap();
        let (status, metrics) = http(addr, "GET", "/metrics", None);
        assert_eq!(status, 200, "{addr}/metrics");
        *served
            .entry(pod["deployment"].as_str().unwrap())
            .or_default() += generate_requests(&metrics);
    }
    assert!(
        !served.is_empty(),
        "{ctx}: no worker pods with a system port"
    );
    assert!(
        served.values().all(|n| *n > 0),
        "{ctx}: requests per worker Deployment: {served:?}"
    );

    // Stop: the runner tears everything down and reports whether any container died or
    // failed its liveness probe while we talked to it.
    let code = runner.stop();
    assert_eq!(code, Some(0), "pod runner failed:\n{}", tail(&runner_log));
    let netns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&netns.stdout).contains(&slot.prefix),
        "network namespaces left behind"
    );
    let bridge = Command::new("ip")
        .args(["link", "show", &format!("{}br", slot.prefix)])
        .output()
        .unwrap();
    assert!(!bridge.status.success(), "bridge left behind");
    let _ = std::fs::remove_dir_all(&work);
    eprintln!("runtime e2e {}: {:?}", graph.display(), started.elapsed());
}

/// The graph with every `--model-path` pointed at `model`. Returns the YAML, the model
/// name the frontend will serve (`--model-name`, else the path) and the Secrets the graph
/// names (`envFromSecret`).
///
/// Besides the model, one edit: upstream's disaggregated example passes
/// `--planner-profile-data /workspace/tests/planner/...`, a directory inside upstream's
/// planner image whose conversion needs the planner's `aisimulate` dependency, which PyPI
/// does not serve. The pair is dropped so the mocker uses its built-in timing model.
fn rewrite_graph(path: &Path, model: &Path) -> (String, String, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut docs: Vec<Value> = dynamoctl::yaml::parse_documents(&text)
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .collect();
    let model = model.to_str().unwrap().to_string();
    let mut served = model.clone();
    let mut secrets = Vec::new();
    let mut rewritten = 0;
    for doc in &mut docs {
        let Some(services) = doc["spec"]["services"].as_object_mut() else {
            continue;
        };
        for service in services.values_mut() {
            if let Some(secret) = service["envFromSecret"].as_str() {
                secrets.push(secret.to_string());
            }
            let Some(args) = service["extraPodSpec"]["mainContainer"]["args"].as_array_mut() else {
                continue;
            };
            let mut out: Vec<Value> = Vec::new();
            let mut it = std::mem::take(args).into_iter();
            while let Some(arg) = it.next() {
                match arg.as_str() {
                    Some("--model-path") => {
                        it.next();
                        out.extend([arg, Value::from(model.clone())]);
                        rewritten += 1;
                    }
                    Some("--planner-profile-data") => {
                        it.next();
                    }
                    Some("--model-name") => {
                        let name = it.next().unwrap();
                        served = name.as_str().unwrap().to_string();
                        out.extend([arg, name]);
                    }
                    _ => out.push(arg),
                }
            }
            *args = out;
        }
    }
    assert!(
        rewritten > 0,
        "{}: no --model-path to rewrite",
        path.display()
    );
    secrets.sort();
    secrets.dedup();
    let yaml = docs
        .iter()
        .map(|d| dynamoctl::yaml::to_string(d).unwrap())
        .collect::<Vec<_>>()
        .join("---\n");
    (yaml, served, secrets)
}

/// What the operator configuration must have put into every pod for the etcd backend.
fn assert_runtime_wiring(rendered: &str, etcd_url: &str) {
    let docs = dynamoctl::yaml::parse_documents(rendered).unwrap();
    let mut deployments = 0;
    for doc in docs.iter().filter(|d| d.value["kind"] == "Deployment") {
        deployments += 1;
        let env = doc.value["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let get = |name: &str| {
            env.iter()
                .find(|e| e["name"] == name)
                .map(|e| e["value"].clone())
        };
        let deployment = &doc.value["metadata"]["name"];
        assert_eq!(get("ETCD_ENDPOINTS"), Some(json!(etcd_url)), "{deployment}");
        assert_ne!(
            get("DYN_DISCOVERY_BACKEND"),
            Some(json!("kubernetes")),
            "{deployment}"
        );
    }
    assert!(deployments > 0, "render produced no Deployment");
}

/// The pod runner child; stopping it (or dropping it) closes its stdin, which makes it
/// tear down every process, namespace and link it made.
struct Runner {
    child: Child,
    log: PathBuf,
}

impl Runner {
    fn wait_ready(&mut self, limit: Duration) -> Vec<Value> {
        let stdout = self.child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(json) = line.strip_prefix("READY ") {
                    let _ = tx.send(json.to_string());
                }
            }
        });
        let Ok(line) = rx.recv_timeout(limit) else {
            let code = self.stop();
            panic!(
                "pods not ready within {limit:?} (runner exit {code:?}):\n{}",
                tail(&self.log)
            );
        };
        let report: Value = serde_json::from_str(&line).unwrap();
        report["pods"].as_array().unwrap().clone()
    }

    /// Closes stdin and waits (bounded) for the runner's own cleanup; escalates to
    /// SIGTERM (still cleaning up) and finally SIGKILL.
    fn stop(&mut self) -> Option<i32> {
        drop(self.child.stdin.take());
        for (wait, escalate) in [(40, Some("-TERM")), (20, None)] {
            let deadline = Instant::now() + Duration::from_secs(wait);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = self.child.try_wait() {
                    return status.code();
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if let Some(signal) = escalate {
                let _ = Command::new("kill")
                    .args([signal, &self.child.id().to_string()])
                    .status();
            }
        }
        let _ = self.child.kill();
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns the status and the (de-chunked) body.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP header");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut payload = raw[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        payload = dechunk(&payload);
    }
    (status, String::from_utf8_lossy(&payload).to_string())
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_field = String::from_utf8_lossy(&data[..eol]).to_string();
        let size = usize::from_str_radix(size_field.split(';').next().unwrap().trim(), 16)
            .expect("a chunk size");
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}

/// Sum of `dynamo_component_requests_total{dynamo_endpoint="generate"}` in a Prometheus text page.
fn generate_requests(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("dynamo_component_requests_total{"))
        .filter(|l| l.contains("dynamo_endpoint=\"generate\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}
