//! Backends: how each engine is launched across the nodes of a multinode group (audit §3.4).
//! A backend rewrites the main container's command (and sometimes probes, env and mounts)
//! of a leader or worker pod; single-node pods are left as they are.

mod sglang;
pub(crate) mod shell;
mod trtllm;
mod vllm;

use serde_json::Value;

use super::orchestrator::Node;
use crate::api::BackendFramework;

/// What a backend needs to know besides the container.
#[derive(Clone, Copy, Debug)]
pub struct Launch<'a> {
    /// The pod's place in its group.
    pub node: Node<'a>,
    /// `resources.limits.gpu` of the service.
    pub gpu_limit: i64,
    /// GPUs per node: `resources.requests.gpu`, else the limit (TRT-LLM's `mpirun -n`).
    pub gpus_per_node: i64,
    /// The MPI SSH secret (TRT-LLM).
    pub mpi_secret: &'a str,
}

/// Rewrites `main` (the main container) for its node; returns volumes the pod needs besides
/// its own. Errors say what is wrong with the service (the caller adds where).
pub fn launch(
    backend: BackendFramework,
    main: &mut Value,
    launch: &Launch<'_>,
) -> Result<Vec<Value>, String> {
    match backend {
        BackendFramework::Sglang => sglang::launch(main, &launch.node).map(|()| Vec::new()),
        BackendFramework::Vllm => {
            vllm::launch(main, &launch.node, launch.gpu_limit).map(|()| Vec::new())
        }
        BackendFramework::Trtllm => trtllm::launch(main, launch),
    }
}
