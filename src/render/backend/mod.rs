//! Backends: how each engine is launched across the nodes of a multinode group (audit §3.4).
//! A backend rewrites the main container's command (and sometimes probes, env and mounts)
//! of a leader or worker pod; single-node pods are left as they are.

mod sglang;
pub(crate) mod shell;
mod trtllm;
pub mod vllm;

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
    /// vLLM: an engine spanning nodes uses vLLM's own multiprocessing executor instead of Ray
    /// ([`vllm::uses_mp`]).
    pub vllm_mp: bool,
}

/// What a pod needs besides its main container for a backend's launch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodExtras {
    /// Volumes, after the pod's own.
    pub volumes: Vec<Value>,
    /// Init containers, after the pod's own.
    pub init_containers: Vec<Value>,
}

/// Rewrites `main` (the main container) for its node; returns what else the pod needs.
/// Errors say what is wrong with the service (the caller adds where).
pub fn launch(
    backend: BackendFramework,
    main: &mut Value,
    launch: &Launch<'_>,
) -> Result<PodExtras, String> {
    match backend {
        BackendFramework::Sglang => {
            sglang::launch(main, &launch.node).map(|()| PodExtras::default())
        }
        BackendFramework::Vllm => {
            vllm::launch(main, &launch.node, launch.gpu_limit, launch.vllm_mp)
        }
        BackendFramework::Trtllm => trtllm::launch(main, launch).map(|volumes| PodExtras {
            volumes,
            ..PodExtras::default()
        }),
    }
}
