//! The operator's installation as a pure function: [`InstallOptions`] in, the objects to
//! server-side apply out, in apply order. `dynamoctl install` applies them, `--dry-run`
//! prints them, and the Helm chart in `charts/` renders the same objects (a test compares
//! them). No I/O and nothing async here.

mod image;
mod objects;
mod options;
mod rbac;

pub use image::ImageRef;
pub use objects::{
    DEPLOYMENT_NAME, FIELD_MANAGER, METRICS_SERVICE_NAME, NAME, SERVICE_ACCOUNT_NAME, crds,
    crds_json, labels, manifests, operator_args,
};
pub use options::{InstallOptions, InvalidOptions, format_duration};
pub use rbac::{rules, scope_rules};
