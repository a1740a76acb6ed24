//! `nvidia.com/v1beta1`: DynamoGraphDeployment and DynamoComponentDeployment as upstream 1.x
//! writes them (`spec.components` list, one `podTemplate` per component). This is a wire
//! version only: every object is converted to the `v1alpha1` types (the internal model that
//! render, diff, status and the controller use) by [`crate::api::convert`], losslessly.
//! Leaf types whose shape is the same in both versions are shared with `v1alpha1`.

mod component;
mod graph;

pub use component::*;
pub use graph::*;
