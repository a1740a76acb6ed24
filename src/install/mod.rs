//! The operator's installation as a pure function: [`InstallOptions`] in, the objects to
//! server-side apply out, in apply order. `dynamoctl install` applies them, `--dry-run`
//! prints them, and the Helm chart in `charts/` renders the same objects (a test compares
//! them). No I/O and nothing async here.

mod bundled;
mod config;
mod image;
mod monitoring;
mod objects;
mod options;
pub mod policy;
mod rbac;

pub use bundled::{ETCD_IMAGE, NATS_IMAGE};
pub use config::{
    CHECKSUM_ANNOTATION, HEALTH_PORT, METRICS_PORT, WEBHOOK_PORT, WEBHOOK_SECRET_NAME,
    WEBHOOK_SERVICE_NAME, config_text, operator_config, sha256_hex,
};
pub use image::ImageRef;
pub use monitoring::{API_VERSION as POD_MONITOR_API_VERSION, NAMES as POD_MONITOR_NAMES};
pub use objects::{
    CONVERSION_RBAC_NAME, DEPLOYMENT_NAME, FIELD_MANAGER, METRICS_SERVICE_NAME, NAME,
    POD_MONITORS_ANNOTATION, SERVICE_ACCOUNT_NAME, crds, crds_json, labels, manifests,
    operator_args,
};
pub use options::{Bundled, InstallOptions, InvalidOptions, format_duration};
pub use rbac::{cluster_rules, conversion_rules, rules, scope_rules, webhook_secret_rules};

/// Names of the objects of a bundled `component` (`etcd`, `nats`) of install `instance`.
pub fn bundled_names(instance: &str, component: &str) -> [String; 2] {
    bundled::names(instance, component)
}
