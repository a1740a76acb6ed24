//! `nvidia.com/v1alpha1`: DynamoGraphDeployment and DynamoComponentDeployment, field for field
//! compatible with upstream's v1alpha1 (see `docs/compatibility.md` for the deliberate
//! differences). Every optional field is skipped when unset, so server-side apply never sees a
//! `null` that would reset a field.

mod common;
mod component;
mod graph;

pub use common::*;
pub use component::*;
pub use graph::*;
