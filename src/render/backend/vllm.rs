//! vLLM across nodes. When one engine (TP × PP) needs more GPUs than a node has, the nodes
//! form a Ray cluster and the leader runs vLLM with the Ray executor. When only data
//! parallelism (TP × PP × DP) spans nodes, every node runs its own engines in vLLM's hybrid
//! load-balancing mode, each with a distinct range of DP ranks.

use serde_json::Value;

use super::shell;
use crate::render::orchestrator::{Node, NodeRole};

/// Ray's GCS port on the leader.
pub const RAY_PORT: u16 = 6379;
/// vLLM's data-parallel RPC port on the leader.
pub const DP_RPC_PORT: u16 = 13445;

const TP: &[&str] = &["--tensor-parallel-size", "-tp"];
const PP: &[&str] = &["--pipeline-parallel-size", "-pp"];
const DP: &[&str] = &["--data-parallel-size", "-dp"];

/// Rewrites the command for Ray or data-parallel launch; workers lose their probes.
pub fn launch(main: &mut Value, node: &Node<'_>, gpus: i64) -> Result<(), String> {
    let words = shell::words(main);
    let tp = shell::flag_value(&words, TP).unwrap_or(1);
    let pp = shell::flag_value(&words, PP).unwrap_or(1);
    let dp = shell::flag_value(&words, DP);
    let world = tp * pp;
    if node.role == NodeRole::Worker {
        shell::remove_probes(main, &["livenessProbe", "readinessProbe", "startupProbe"]);
    }
    if world > gpus {
        ray(main, node)
    } else if world * dp.unwrap_or(1) > gpus {
        data_parallel(main, node, &words, gpus / world, dp)
    } else {
        Err(format!(
            "the vLLM arguments fit on one node (tensor × pipeline × data parallel = {} ≤ {gpus} GPUs), so {} nodes would run unrelated copies; raise the parallelism or remove multinode",
            world * dp.unwrap_or(1),
            node.count
        ))
    }
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
        launch(&mut leader, &node(NodeRole::Leader, Topology::Grove), 1).unwrap();
        assert_eq!(leader["command"], json!(["/bin/sh", "-c"]));
        assert_eq!(
            leader["args"],
            json!([
                "ray start --head --port=6379 && exec python3 -m dynamo.vllm --tensor-parallel-size 2 --distributed-executor-backend ray"
            ])
        );
        assert!(leader.get("startupProbe").is_some());
        let mut worker = main;
        launch(&mut worker, &node(NodeRole::Worker, Topology::Lws), 1).unwrap();
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
        launch(&mut m, &node(NodeRole::Leader, Topology::Lws), 8).unwrap();
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
        launch(&mut worker, &node(NodeRole::Worker, Topology::Lws), 8).unwrap();
        let line = worker["args"][0].as_str().unwrap();
        assert!(line.starts_with("exec python3 -m dynamo.vllm --data-parallel-size 16 --data-parallel-hybrid-lb --data-parallel-size-local 8 --data-parallel-start-rank $(( 8 * LWS_WORKER_INDEX ))"), "{line}");
        assert_eq!(line.matches("--data-parallel-hybrid-lb").count(), 1);
        let mut leader = main;
        launch(&mut leader, &node(NodeRole::Leader, Topology::Lws), 8).unwrap();
        assert_eq!(leader["command"], json!(["python3"]));
        assert!(
            leader["args"]
                .as_array()
                .unwrap()
                .contains(&json!("$(LWS_LEADER_ADDRESS)"))
        );
    }

    #[test]
    fn a_command_that_fits_one_node_is_refused() {
        let mut m = json!({"command": ["python3", "-m", "dynamo.vllm"], "args": ["--tensor-parallel-size", "4"]});
        let e = launch(&mut m, &node(NodeRole::Leader, Topology::Grove), 8).unwrap_err();
        assert!(e.contains("fit on one node"), "{e}");
    }
}
