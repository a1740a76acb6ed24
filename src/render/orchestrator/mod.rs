//! Orchestrators: how many pods a component runs and in which objects. A single-node
//! component is a Deployment; a multinode one is a LeaderWorkerSet (+ Volcano PodGroup) per
//! replica; with Grove, a whole graph is one PodCliqueSet (research notes, audit §3.1–§3.3).
//!
//! Which orchestrators exist is the operator's business (its configuration and API
//! discovery), handed to render as [`Orchestrators`]; render itself never looks at a cluster.

pub mod deployment;
pub mod grove;
pub mod lws;

/// Label telling a multinode group's leader pod from its workers (`leader` / `worker`). The
/// component Service selects `leader` only, so worker pods (which serve nothing) never
/// receive traffic. Upstream uses the same key on LeaderWorkerSet pods.
pub const LABEL_ROLE: &str = "role";
/// Label numbering the LeaderWorkerSet (and PodGroup) of one replica.
pub const LABEL_INSTANCE_ID: &str = "instance-id";
/// Graph annotation naming the Kai scheduler queue.
pub const ANNOTATION_KAI_QUEUE: &str = "nvidia.com/kai-scheduler-queue";
/// Label Kai reads the queue from.
pub const LABEL_KAI_QUEUE: &str = "kai.scheduler/queue";
/// Kai's scheduler name.
pub const KAI_SCHEDULER: &str = "kai-scheduler";
/// Queue used when the graph names none (upstream's default).
pub const DEFAULT_KAI_QUEUE: &str = "dynamo";
/// Secret holding the MPI SSH key pair when the configuration names none (upstream chart default).
pub const DEFAULT_MPI_SSH_SECRET: &str = "mpi-run-ssh-secret";
/// Grove termination delay when the configuration sets none (upstream's flag default).
pub const DEFAULT_GROVE_TERMINATION_DELAY: &str = "15m";

/// The multinode orchestrators the operator may use. `Default` is "none available": then a
/// multinode graph or component is refused, never rendered as a single-node Deployment.
///
/// Filled from the operator configuration (`orchestrators.*`, `mpi.sshSecretName`) and, in
/// the operator, API discovery.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Orchestrators {
    /// Grove (`grove.io`) is installed and enabled: graphs (unless opted out with
    /// `nvidia.com/enable-grove: "false"`) become one PodCliqueSet each.
    pub grove: bool,
    /// `terminationDelay` of PodCliqueSets, a Go duration like `15m`; `None` is 15m.
    pub grove_termination_delay: Option<String>,
    /// LeaderWorkerSet and Volcano are installed and enabled: multinode components outside
    /// Grove become one LeaderWorkerSet and one PodGroup per replica.
    pub lws: bool,
    /// The Kai scheduler is installed and enabled: Grove cliques are scheduled by it.
    pub kai: bool,
    /// Secret with the MPI SSH key pair TRT-LLM multinode pods mount (`mpi.sshSecretName`);
    /// `None` is `mpi-run-ssh-secret`, upstream's chart default.
    pub mpi_ssh_secret_name: Option<String>,
    /// Namespace the operator copies the MPI SSH secret from into graph namespaces
    /// (`mpi.sshSecretNamespace`, else the operator's own); `None`: no copying, the secret
    /// must already exist where the graph runs. Render never reads it.
    pub mpi_ssh_secret_namespace: Option<String>,
}

impl Orchestrators {
    /// The MPI SSH secret's name.
    pub fn mpi_secret(&self) -> &str {
        self.mpi_ssh_secret_name
            .as_deref()
            .unwrap_or(DEFAULT_MPI_SSH_SECRET)
    }
}

/// Where the pods of one multinode group find each other. Each orchestrator injects its own
/// environment variables into the pods; these are the expressions that read them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// Grove: `GROVE_PCSG_NAME`, `GROVE_PCSG_INDEX`, `GROVE_HEADLESS_SERVICE`,
    /// `GROVE_PCLQ_POD_INDEX` (worker index within the worker clique, from 0).
    Grove,
    /// LeaderWorkerSet: `LWS_LEADER_ADDRESS`, `LWS_WORKER_INDEX` (leader 0, workers from 1).
    Lws,
}

impl Topology {
    /// The leader's address in kubelet `$(VAR)` syntax: the kubelet expands it in `command`
    /// and `args` before the container starts, so it works with or without a shell.
    pub fn leader_host(self, service: &str) -> String {
        match self {
            Topology::Grove => format!(
                "$(GROVE_PCSG_NAME)-$(GROVE_PCSG_INDEX)-{}-ldr-0.$(GROVE_HEADLESS_SERVICE)",
                service.to_lowercase()
            ),
            Topology::Lws => "$(LWS_LEADER_ADDRESS)".to_string(),
        }
    }

    /// Every node's address, leader first. Only valid inside a shell: LeaderWorkerSet gives
    /// worker addresses no variable, so they are derived from the leader's with `sed`.
    pub fn hosts_in_shell(self, service: &str, nodes: i32) -> Vec<String> {
        let mut hosts = vec![self.leader_host(service)];
        for i in 1..nodes {
            hosts.push(match self {
                Topology::Grove => format!(
                    "$(GROVE_PCSG_NAME)-$(GROVE_PCSG_INDEX)-{}-wkr-{}.$(GROVE_HEADLESS_SERVICE)",
                    service.to_lowercase(),
                    i - 1
                ),
                Topology::Lws => format!("$(echo \"$LWS_LEADER_ADDRESS\" | sed 's/\\./-{i}\\./')"),
            });
        }
        hosts
    }

    /// This pod's node rank where the kubelet alone can provide it (no shell needed).
    pub fn rank_without_shell(self) -> Option<&'static str> {
        match self {
            Topology::Grove => None,
            Topology::Lws => Some("$(LWS_WORKER_INDEX)"),
        }
    }

    /// This pod's node rank as a shell arithmetic operand (inside `$(( ))`). Bare variable
    /// names, never `$(VAR)`: the kubelet leaves `$((…` alone, so a `$(VAR)` inside would
    /// reach the shell as a command substitution (upstream #5001's same start rank).
    pub fn rank_arithmetic(self) -> &'static str {
        match self {
            Topology::Grove => "(GROVE_PCLQ_POD_INDEX + 1)",
            Topology::Lws => "LWS_WORKER_INDEX",
        }
    }

    /// Whether the leader must wait for the workers' DNS names before connecting: LWS starts
    /// all pods at once; Grove's startup order covers it.
    pub fn needs_dns_wait(self) -> bool {
        self == Topology::Lws
    }
}

/// Which pod of a multinode group a template is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRole {
    /// Node rank 0: runs the engine's entry point and serves.
    Leader,
    /// Ranks 1..n: join the leader.
    Worker,
}

impl NodeRole {
    /// The `role` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Leader => "leader",
            NodeRole::Worker => "worker",
        }
    }
}

/// One pod template's place in a multinode group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node<'a> {
    /// Leader or worker.
    pub role: NodeRole,
    /// Nodes per replica (at least 2).
    pub count: i32,
    /// How the nodes find each other.
    pub topology: Topology,
    /// The service key (Grove host names contain it).
    pub service: &'a str,
}

/// Nodes per replica of a service: `multinode.nodeCount` (default 2) or 1 without multinode.
pub fn node_count(spec: &crate::api::v1alpha1::ComponentSpec) -> i32 {
    spec.multinode
        .as_ref()
        .map_or(1, |m| m.node_count.unwrap_or(2))
}

/// Why a multinode service (`what`: `service "decode"` or `component "x"`) cannot be
/// rendered with the orchestrators at hand.
pub fn unavailable_message(what: &str, nodes: i32, grove_opted_out: bool) -> String {
    let opt_out = if grove_opted_out {
        " (this graph opts out of Grove with nvidia.com/enable-grove: \"false\")"
    } else {
        ""
    };
    format!(
        "{what} asks for {nodes} nodes per replica, but no multinode orchestrator is available{opt_out}: enable Grove (orchestrators.grove.enabled) or LeaderWorkerSet with Volcano (orchestrators.lws.enabled) in the operator configuration, or remove multinode to run on one node"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grove_hosts_name_the_leader_and_worker_cliques() {
        let hosts = Topology::Grove.hosts_in_shell("Decode", 3);
        assert_eq!(
            hosts,
            vec![
                "$(GROVE_PCSG_NAME)-$(GROVE_PCSG_INDEX)-decode-ldr-0.$(GROVE_HEADLESS_SERVICE)",
                "$(GROVE_PCSG_NAME)-$(GROVE_PCSG_INDEX)-decode-wkr-0.$(GROVE_HEADLESS_SERVICE)",
                "$(GROVE_PCSG_NAME)-$(GROVE_PCSG_INDEX)-decode-wkr-1.$(GROVE_HEADLESS_SERVICE)",
            ]
        );
    }

    #[test]
    fn lws_worker_hosts_splice_the_index_into_the_leader_address() {
        let hosts = Topology::Lws.hosts_in_shell("x", 3);
        assert_eq!(hosts[0], "$(LWS_LEADER_ADDRESS)");
        assert_eq!(
            hosts[2],
            "$(echo \"$LWS_LEADER_ADDRESS\" | sed 's/\\./-2\\./')"
        );
    }

    #[test]
    fn rank_arithmetic_uses_bare_names() {
        for t in [Topology::Grove, Topology::Lws] {
            assert!(!t.rank_arithmetic().contains('$'));
        }
        assert_eq!(
            Topology::Lws.rank_without_shell(),
            Some("$(LWS_WORKER_INDEX)")
        );
        assert_eq!(Topology::Grove.rank_without_shell(), None);
    }

    #[test]
    fn default_is_no_multinode_orchestrator() {
        let o = Orchestrators::default();
        assert!(!o.grove && !o.lws && !o.kai);
        assert_eq!(o.mpi_secret(), DEFAULT_MPI_SSH_SECRET);
    }
}
