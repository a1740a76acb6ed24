//! Conversion between `nvidia.com/v1alpha1` (the internal model) and `nvidia.com/v1beta1`:
//! pure functions, no I/O. Lossless both ways: v1alpha1 → v1beta1 → v1alpha1 and v1beta1 →
//! v1alpha1 → v1beta1 give back the object they started from, because what one version cannot
//! say is preserved in upstream's private annotations (see [`preserve`]). The same code serves
//! `dynamoctl convert` and reading v1beta1 manifests.

mod component;
mod objects;
mod pod;
pub mod preserve;

use std::fmt;

use serde_json::Value;

pub use objects::{component_to_alpha, component_to_beta, graph_to_alpha, graph_to_beta};

use crate::api::v1alpha1 as alpha;
use crate::api::v1beta1 as beta;

/// `apiVersion` of the internal model.
pub const V1ALPHA1: &str = "nvidia.com/v1alpha1";
/// `apiVersion` of upstream's storage version.
pub const V1BETA1: &str = "nvidia.com/v1beta1";

/// Why an object cannot be converted (it does not parse as its version's type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertError {
    /// Path of the field at fault, as segments from the object root.
    pub path: Vec<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.join("."), self.message)
    }
}

impl std::error::Error for ConvertError {}

/// Whether `kind` is one of the kinds that exist in both versions.
pub fn is_convertible_kind(kind: &str) -> bool {
    matches!(kind, "DynamoGraphDeployment" | "DynamoComponentDeployment")
}

/// Converts one object (as JSON) to `api_version`. Objects of other kinds or groups, and
/// objects already in `api_version`, come back unchanged.
pub fn convert_value(object: &Value, api_version: &str) -> Result<Value, ConvertError> {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let from = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !is_convertible_kind(kind) || from == api_version || ![V1ALPHA1, V1BETA1].contains(&from) {
        return Ok(object.clone());
    }
    let read = |e: serde_json::Error| ConvertError {
        path: vec![],
        message: format!("cannot be read as {from} {kind}: {e}"),
    };
    let out = match (kind, from) {
        ("DynamoGraphDeployment", V1ALPHA1) => to_value(&graph_to_beta(
            &serde_json::from_value::<alpha::DynamoGraphDeployment>(object.clone())
                .map_err(read)?,
        )?),
        ("DynamoGraphDeployment", _) => to_value(&graph_to_alpha(
            &serde_json::from_value::<beta::DynamoGraphDeployment>(object.clone()).map_err(read)?,
        )?),
        ("DynamoComponentDeployment", V1ALPHA1) => to_value(&component_to_beta(
            &serde_json::from_value::<alpha::DynamoComponentDeployment>(object.clone())
                .map_err(read)?,
        )?),
        _ => to_value(&component_to_alpha(
            &serde_json::from_value::<beta::DynamoComponentDeployment>(object.clone())
                .map_err(read)?,
        )?),
    };
    Ok(out)
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("API types serialise")
}

#[cfg(test)]
mod tests;
