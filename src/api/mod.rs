//! The Dynamo API: the `nvidia.com/v1alpha1` types (the internal model every other module
//! works on), the `nvidia.com/v1beta1` wire types and the pure conversion between them, the
//! generated CRDs, and the names (labels, annotations, field managers) every other module
//! shares. No I/O here.

pub mod consts;
pub mod convert;
pub mod crd;
pub mod model;
pub mod reference;
pub mod scaling_adapter;
pub mod schema;
pub mod v1alpha1;
pub mod v1beta1;
pub mod worker_metadata;

pub use v1alpha1::{
    BackendFramework, ComponentSpec, DynamoComponentDeployment, DynamoComponentDeploymentSpec,
    DynamoComponentDeploymentStatus, DynamoGraphDeployment, DynamoGraphDeploymentSpec,
    DynamoGraphDeploymentStatus,
};
