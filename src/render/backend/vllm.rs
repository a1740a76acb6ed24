//! vLLM across nodes. When one engine (TP × PP) needs more GPUs than a node has, either the
//! nodes form a Ray cluster and the leader runs vLLM with the Ray executor, or (annotation
//! `nvidia.com/vllm-distributed-executor-backend: mp`) every node runs vLLM's own
//! multiprocessing executor, the workers headless. When only data parallelism (TP × PP × DP)
//! spans nodes, every node runs its own engines in vLLM's hybrid load-balancing mode, each
//! with a distinct range of DP ranks.

use serde_json::{Value, json};

use super::{PodExtras, shell};
use crate::api::consts::{ANNOTATION_OPERATOR_ORIGIN_VERSION, ANNOTATION_VLLM_EXECUTOR};
use crate::render::orchestrator::{Node, NodeRole};

/// Ray's GCS port on the leader.
pub const RAY_PORT: u16 = 6379;
/// vLLM's data-parallel RPC port on the leader.
pub const DP_RPC_PORT: u16 = 13445;

/// The `mp` executor's rendezvous port on the leader (`--master-port`).
pub const MP_MASTER_PORT: u16 = 29500;

const TP: &[&str] = &["--tensor-parallel-size", "-tp"];
const PP: &[&str] = &["--pipeline-parallel-size", "-pp"];
const DP: &[&str] = &["--data-parallel-size", "-dp"];

/// Whether an engine spanning nodes uses the `mp` executor, from the service's annotations
/// (the first map naming a key wins), as upstream decides: the executor annotation when it
/// says `mp` or `ray` (any case); otherwise `mp` for graphs an upstream operator ≥ 1.0.0
/// created (its origin-version annotation), else Ray.
pub fn uses_mp<'a>(
    annotations: impl Iterator<Item = &'a std::collections::BTreeMap<String, String>> + Clone,
) -> bool {
    let get = |key: &str| annotations.clone().find_map(|a| a.get(key));
    match get(ANNOTATION_VLLM_EXECUTOR).map(|v| v.to_ascii_lowercase()) {
        Some(v) if v == "mp" => return true,
        Some(v) if v == "ray" => return false,
        _ => {}
    }
    get(ANNOTATION_OPERATOR_ORIGIN_VERSION).is_some_and(|v| at_least_1_0_0(v))
}

/// Whether a semantic version (`1.2.3`, `v1.0.0-rc.1`) is ≥ 1.0.0; a pre-release of 1.0.0 is
/// not. Anything else is not a version and counts as older.
fn at_least_1_0_0(version: &str) -> bool {
    let v = version.trim().trim_start_matches('v');
    let (core, pre) = match v.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (v.split('+').next().unwrap_or(v), None),
    };
    let parts: Vec<Option<u64>> = core.split('.').map(|p| p.parse().ok()).collect();
    let [Some(major), Some(minor), Some(patch)] = parts[..] else {
        return false;
    };
    (major, minor, patch) > (1, 0, 0) || ((major, minor, patch) == (1, 0, 0) && pre.is_none())
}

/// Rewrites the command for Ray, `mp` or data-parallel launch; workers lose their probes.
/// Returns what else the pod needs (the `mp` worker's wait for its leader).
pub fn launch(main: &mut Value, node: &Node<'_>, gpus: i64, mp: bool) -> Result<PodExtras, String> {
    let words = shell::words(main);
    let tp = shell::flag_value(&words, TP).unwrap_or(1);
    let pp = shell::flag_value(&words, PP).unwrap_or(1);
    let dp = shell::flag_value(&words, DP);
    let world = tp * pp;
    if node.role == NodeRole::Worker {
        shell::remove_probes(main, &["livenessProbe", "readinessProbe", "startupProbe"]);
    }
    if world > gpus && mp {
        multiprocessing(main, node)
    } else if world > gpus {
        ray(main, node).map(|()| PodExtras::default())
    } else if world * dp.unwrap_or(1) > gpus {
        data_parallel(main, node, &words, gpus / world, dp).map(|()| PodExtras::default())
    } else {
        Err(format!(
            "the vLLM arguments fit on one node (tensor × pipeline × data parallel = {} ≤ {gpus} GPUs), so {} nodes would run unrelated copies; raise the parallelism or remove multinode",
            world * dp.unwrap_or(1),
            node.count
        ))
    }
}

/// vLLM's own multiprocessing executor across nodes: every node runs the engine with
/// `--nnodes`, its `--node-rank` and the leader's rendezvous address; workers run headless
/// and, before starting, wait for the leader's rendezvous port (a worker that starts first
/// would fail and restart). Every node advertises its pod IP for the NIXL side channel.
fn multiprocessing(main: &mut Value, node: &Node<'_>) -> Result<PodExtras, String> {
    let leader = node.topology.leader_host(node.service);
    let mut flags: Vec<String> = [
        "--distributed-executor-backend",
        "mp",
        "--nnodes",
        &node.count.to_string(),
        "--master-addr",
        &leader,
        "--master-port",
        &MP_MASTER_PORT.to_string(),
        "--node-rank",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let needs_shell = match node.role {
        NodeRole::Leader => {
            flags.push("0".into());
            false
        }
        NodeRole::Worker => {
            let (rank, needs_shell) = match node.topology.rank_without_shell() {
                Some(rank) => (rank.to_string(), false),
                None => (format!("$({})", node.topology.rank_arithmetic()), true),
            };
            flags.extend([rank, "--headless".to_string()]);
            needs_shell
        }
    };
    let mut env = main
        .get("env")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    env.push(json!({ "name": "VLLM_NIXL_SIDE_CHANNEL_HOST", "valueFrom": { "fieldRef": { "fieldPath": "status.podIP" } } }));
    main["env"] = Value::Array(env);
    shell::add_flags(main, &flags, needs_shell, "vllm")?;
    if node.role == NodeRole::Leader {
        return Ok(PodExtras::default());
    }
    Ok(PodExtras {
        init_containers: vec![wait_for_leader(main, &leader)],
        ..PodExtras::default()
    })
}

/// An init container (the main image, for its Python) that waits until the leader accepts
/// connections on the rendezvous port. The address is read by the shell (`${VAR}`): the
/// orchestrator's variables are not in this container's own env list for the kubelet to
/// expand.
fn wait_for_leader(main: &Value, leader: &str) -> Value {
    let host = leader.replace("$(", "${").replace(')', "}");
    let script = format!(
        "host=\"{host}\"; echo \"waiting for the leader at $host:{MP_MASTER_PORT}\"; until python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], {MP_MASTER_PORT}), 2)' \"$host\" 2>/dev/null; do sleep 5; done; echo \"the leader is up\""
    );
    json!({
        "name": "wait-for-leader-mp",
        "image": main.get("image").cloned().unwrap_or(Value::Null),
        "command": ["sh", "-c", script],
    })
}

fn ray(main: &mut Value, node: &Node<'_>) -> Result<(), String> {
    let script = match node.role {
        NodeRole::Leader => {
            let flags = [
                "--distributed-executor-backend".to_string(),
                "ray".to_string(),
            ];
            let (line, single) = shell::command_line(main, &flags, "vllm")?;
            let exec = if single { "exec " } else { "" };
            format!("ray start --head --port={RAY_PORT} && {exec}{line}")
        }
        NodeRole::Worker => format!(
            "exec ray start --address={}:{RAY_PORT} --block",
            node.topology.leader_host(node.service)
        ),
    };
    shell::set_script(main, script);
    Ok(())
}

fn data_parallel(
    main: &mut Value,
    node: &Node<'_>,
    words: &[String],
    local: i64,
    dp: Option<i64>,
) -> Result<(), String> {
    let has = |flag: &str| {
        words
            .iter()
            .any(|w| w == flag || w.starts_with(&format!("{flag}=")))
    };
    let mut flags: Vec<String> = Vec::new();
    if !has("--data-parallel-hybrid-lb") {
        flags.push("--data-parallel-hybrid-lb".into());
    }
    if dp.is_none() {
        flags.extend([
            "--data-parallel-size".into(),
            (local * i64::from(node.count)).to_string(),
        ]);
    }
    let (start, needs_shell) = match node.role {
        NodeRole::Leader => ("0".to_string(), false),
        // A distinct first rank per node (upstream #5001 gave every node the same one).
        NodeRole::Worker => (
            format!("$(( {local} * {} ))", node.topology.rank_arithmetic()),
            true,
        ),
    };
    flags.extend([
        "--data-parallel-size-local".into(),
        local.to_string(),
        "--data-parallel-start-rank".into(),
        start,
        "--data-parallel-address".into(),
        node.topology.leader_host(node.service),
        "--data-parallel-rpc-port".into(),
        DP_RPC_PORT.to_string(),
    ]);
    shell::add_flags(main, &flags, needs_shell, "vllm")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::orchestrator::Topology;
    use serde_json::json;

    fn node(role: NodeRole, topology: Topology) -> Node<'static> {
        Node {
            role,
            count: 2,
            topology,
            service: "decode",
        }
    }

    #[test]
    fn tensor_parallel_beyond_a_node_uses_ray() {
        let main = json!({"command": ["python3", "-m", "dynamo.vllm"], "args": ["--tensor-parallel-size", "2"], "startupProbe": {}});
        let mut leader = main.clone();
        launch(
            &mut leader,
            &node(NodeRole::Leader, Topology::Grove),
            1,
            false,
        )
        .unwrap();
        assert_eq!(leader["command"], json!(["/bin/sh", "-c"]));
        assert_eq!(
            leader["args"],
            json!([
                "ray start --head --port=6379 && exec python3 -m dynamo.vllm --tensor-parallel-size 2 --distributed-executor-backend ray"
            ])
        );
        assert!(leader.get("startupProbe").is_some());
        let mut worker = main;
        launch(
            &mut worker,
            &node(NodeRole::Worker, Topology::Lws),
            1,
            false,
        )
        .unwrap();
        assert_eq!(
            worker["args"],
            json!(["exec ray start --address=$(LWS_LEADER_ADDRESS):6379 --block"])
        );
        assert!(worker.get("startupProbe").is_none());
    }

    #[test]
    fn a_ray_leader_inside_sh_c_keeps_its_script() {
        // Upstream joined `/bin/sh -c` into the line: `… && /bin/sh -c python3 …`.
        let mut m = json!({"command": ["/bin/sh", "-c"], "args": ["python3 -m dynamo.vllm --tensor-parallel-size 16"]});
        launch(&mut m, &node(NodeRole::Leader, Topology::Lws), 8, false).unwrap();
        assert_eq!(
            m["args"],
            json!([
                "ray start --head --port=6379 && python3 -m dynamo.vllm --distributed-executor-backend ray --tensor-parallel-size 16"
            ])
        );
    }

    #[test]
    fn data_parallel_workers_start_at_distinct_ranks() {
        let main = json!({"command": ["python3", "-m", "dynamo.vllm"], "args": ["--data-parallel-size", "16", "--data-parallel-hybrid-lb"]});
        let mut worker = main.clone();
        launch(
            &mut worker,
            &node(NodeRole::Worker, Topology::Lws),
            8,
            false,
        )
        .unwrap();
        let line = worker["args"][0].as_str().unwrap();
        assert!(line.starts_with("exec python3 -m dynamo.vllm --data-parallel-size 16 --data-parallel-hybrid-lb --data-parallel-size-local 8 --data-parallel-start-rank $(( 8 * LWS_WORKER_INDEX ))"), "{line}");
        assert_eq!(line.matches("--data-parallel-hybrid-lb").count(), 1);
        let mut leader = main;
        launch(
            &mut leader,
            &node(NodeRole::Leader, Topology::Lws),
            8,
            false,
        )
        .unwrap();
        assert_eq!(leader["command"], json!(["python3"]));
        assert!(
            leader["args"]
                .as_array()
                .unwrap()
                .contains(&json!("$(LWS_LEADER_ADDRESS)"))
        );
    }

    #[test]
    fn the_mp_executor_runs_every_node_with_its_rank_and_headless_workers() {
        let main = json!({"image": "vllm:1", "command": ["python3", "-m", "dynamo.vllm"], "args": ["--tensor-parallel-size", "16"], "readinessProbe": {}});
        let mut leader = main.clone();
        let extras = launch(&mut leader, &node(NodeRole::Leader, Topology::Lws), 8, true).unwrap();
        assert_eq!(extras, PodExtras::default());
        assert_eq!(leader["command"], json!(["python3"]));
        let args: Vec<&str> = leader["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            args.join(" "),
            "-m dynamo.vllm --tensor-parallel-size 16 --distributed-executor-backend mp --nnodes 2 --master-addr $(LWS_LEADER_ADDRESS) --master-port 29500 --node-rank 0"
        );
        assert!(leader.get("readinessProbe").is_some());
        assert_eq!(leader["env"][0]["name"], "VLLM_NIXL_SIDE_CHANNEL_HOST");
        assert_eq!(
            leader["env"][0]["valueFrom"]["fieldRef"]["fieldPath"],
            "status.podIP"
        );

        // Grove: the worker's rank needs shell arithmetic.
        let mut worker = main;
        let extras = launch(
            &mut worker,
            &node(NodeRole::Worker, Topology::Grove),
            8,
            true,
        )
        .unwrap();
        let line = worker["args"][0].as_str().unwrap();
        assert!(
            line.ends_with("--node-rank $((GROVE_PCLQ_POD_INDEX + 1)) --headless"),
            "{line}"
        );
        assert!(worker.get("readinessProbe").is_none());
        let init = &extras.init_containers[0];
        assert_eq!(
            (init["name"].as_str(), init["image"].as_str()),
            (Some("wait-for-leader-mp"), Some("vllm:1"))
        );
        let script = init["command"][2].as_str().unwrap();
        assert!(
            script.starts_with("host=\"${GROVE_PCSG_NAME}-${GROVE_PCSG_INDEX}-decode-ldr-0.${GROVE_HEADLESS_SERVICE}\";"),
            "{script}"
        );
        assert!(!script.contains("$("), "no kubelet references: {script}");
    }

    #[test]
    fn the_executor_follows_the_annotation_then_the_origin_version() {
        use std::collections::BTreeMap;
        let a = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let mp = |maps: &[BTreeMap<String, String>]| uses_mp(maps.iter());
        assert!(mp(&[a(&[(ANNOTATION_VLLM_EXECUTOR, "MP")])]));
        assert!(!mp(&[a(&[
            (ANNOTATION_VLLM_EXECUTOR, "ray"),
            (ANNOTATION_OPERATOR_ORIGIN_VERSION, "1.2.0")
        ])]));
        // An invalid value falls through to the origin version, as upstream's.
        assert!(mp(&[a(&[
            (ANNOTATION_VLLM_EXECUTOR, "threads"),
            (ANNOTATION_OPERATOR_ORIGIN_VERSION, "1.0.0")
        ])]));
        assert!(!mp(&[a(&[(
            ANNOTATION_OPERATOR_ORIGIN_VERSION,
            "1.0.0-rc.1"
        )])]));
        assert!(!mp(&[a(&[(ANNOTATION_OPERATOR_ORIGIN_VERSION, "0.9.1")])]));
        assert!(mp(&[a(&[(ANNOTATION_OPERATOR_ORIGIN_VERSION, "v1.1.0")])]));
        assert!(!mp(&[a(&[(ANNOTATION_OPERATOR_ORIGIN_VERSION, "latest")])]));
        assert!(!mp(&[]));
        // The service's annotations win over its pod annotations.
        assert!(!mp(&[
            a(&[(ANNOTATION_VLLM_EXECUTOR, "ray")]),
            a(&[(ANNOTATION_VLLM_EXECUTOR, "mp")])
        ]));
    }

    #[test]
    fn a_command_that_fits_one_node_is_refused() {
        let mut m = json!({"command": ["python3", "-m", "dynamo.vllm"], "args": ["--tensor-parallel-size", "4"]});
        let e = launch(&mut m, &node(NodeRole::Leader, Topology::Grove), 8, true).unwrap_err();
        assert!(e.contains("fit on one node"), "{e}");
    }
}
