//! SGLang across nodes: every node runs `dynamo.sglang` with `--dist-init-addr`, `--nnodes`
//! and its `--node-rank`; the leader (rank 0) serves.

use serde_json::Value;

use super::shell;
use crate::render::orchestrator::{Node, NodeRole};

/// Port of SGLang's torch.distributed rendezvous on the leader.
pub const DIST_INIT_PORT: u16 = 29500;

/// Adds the distributed flags; workers lose their probes (they serve nothing to probe).
pub fn launch(main: &mut Value, node: &Node<'_>) -> Result<(), String> {
    let (rank, needs_shell) = match node.role {
        NodeRole::Leader => ("0".to_string(), false),
        NodeRole::Worker => match node.topology.rank_without_shell() {
            Some(rank) => (rank.to_string(), false),
            None => (format!("$({})", node.topology.rank_arithmetic()), true),
        },
    };
    if node.role == NodeRole::Worker {
        shell::remove_probes(main, &["livenessProbe", "readinessProbe", "startupProbe"]);
    }
    let flags = vec![
        "--dist-init-addr".to_string(),
        format!(
            "{}:{DIST_INIT_PORT}",
            node.topology.leader_host(node.service)
        ),
        "--nnodes".to_string(),
        node.count.to_string(),
        "--node-rank".to_string(),
        rank,
    ];
    shell::add_flags(main, &flags, needs_shell, "sglang")
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

    fn main() -> Value {
        json!({"command": ["python3", "-m", "dynamo.sglang"], "args": ["--tp", "8"], "readinessProbe": {}})
    }

    #[test]
    fn lws_ranks_are_kubelet_expanded_without_a_shell() {
        let mut m = main();
        launch(&mut m, &node(NodeRole::Worker, Topology::Lws)).unwrap();
        assert_eq!(
            m["args"],
            json!([
                "-m",
                "dynamo.sglang",
                "--tp",
                "8",
                "--dist-init-addr",
                "$(LWS_LEADER_ADDRESS):29500",
                "--nnodes",
                "2",
                "--node-rank",
                "$(LWS_WORKER_INDEX)"
            ])
        );
        assert!(m.get("readinessProbe").is_none());
    }

    #[test]
    fn grove_worker_rank_needs_a_shell() {
        let mut m = main();
        launch(&mut m, &node(NodeRole::Worker, Topology::Grove)).unwrap();
        assert_eq!(m["command"], json!(["/bin/sh", "-c"]));
        assert!(
            m["args"][0]
                .as_str()
                .unwrap()
                .ends_with("--node-rank $((GROVE_PCLQ_POD_INDEX + 1))")
        );
    }

    #[test]
    fn the_leader_keeps_its_probes_and_rank_zero() {
        let mut m = main();
        launch(&mut m, &node(NodeRole::Leader, Topology::Grove)).unwrap();
        assert!(m.get("readinessProbe").is_some());
        assert_eq!(m["command"], json!(["python3"]));
        let args = m["args"].as_array().unwrap();
        assert_eq!(args[args.len() - 1], "0");
        assert_eq!(
            args[5],
            "$(GROVE_PCSG_NAME)-$(GROVE_PCSG_INDEX)-decode-ldr-0.$(GROVE_HEADLESS_SERVICE):29500"
        );
    }
}
