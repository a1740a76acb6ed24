//! The `nvidia.com/v1alpha1` API: CRD types, their generated CRDs, and the names (labels,
//! annotations, field managers) every other module shares. No I/O here.

pub mod consts;
pub mod crd;
pub mod reference;
pub mod schema;
pub mod v1alpha1;
pub mod worker_metadata;

pub use v1alpha1::{
    BackendFramework, ComponentSpec, DynamoComponentDeployment, DynamoComponentDeploymentSpec,
    DynamoComponentDeploymentStatus, DynamoGraphDeployment, DynamoGraphDeploymentSpec,
    DynamoGraphDeploymentStatus,
};
