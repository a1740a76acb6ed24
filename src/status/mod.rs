//! Readiness and status, as pure functions: when a Deployment has rolled out, what a
//! component's and a graph's `status` should say, and the tables `dynamoctl status` prints.
//! Time comes in as a parameter, and an unchanged world gives a byte-identical status, so
//! the controller can compare and skip the write.

mod age;
mod component;
mod condition;
mod graph;
pub mod model;
mod multinode;
mod prerequisite;
mod readiness;
pub mod restart;
mod table;

pub use age::age;
pub use component::{
    CONDITION_AVAILABLE, CONDITION_COMPONENT_READY, CONDITION_VALID,
    REASON_COMPONENT_VALIDATION_FAILED, REASON_DEPLOYMENT_NOT_READY, REASON_DEPLOYMENT_READY,
    REASON_RECONCILING, REASON_VALIDATION_PASSED, component_invalid, component_status,
    with_component_conditions,
};
pub(crate) use graph::component_problem;
pub use graph::{
    CONDITION_READY, REASON_ALL_READY, REASON_RECONCILE_FAILED, REASON_SOME_NOT_READY,
    REASON_VALIDATION_FAILED, STATE_FAILED, STATE_PENDING, STATE_SUCCESSFUL, claims_missing,
    component_name, graph_status, reconcile_failed, validation_failed,
};
pub use multinode::{
    REASON_LWS_NOT_READY, REASON_LWS_READY, grove_graph_status, lws_component_status,
    lws_readiness, pod_clique_readiness, scaling_group_readiness,
};
pub use prerequisite::{
    REASON_KAI_QUEUE_MISSING, REASON_MPI_SECRET_MISSING, component_blocked, graph_blocked,
};
pub use readiness::{Readiness, deployment_readiness};
pub use table::{GraphRow, graph_row, graphs_table, services_table};
