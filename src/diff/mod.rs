//! `kubectl diff`, as pure functions: normalise live and would-be objects, mask Secrets,
//! decide create/update/delete/unchanged, and print the plan as a summary table, unified
//! diffs or JSON. Fetching live objects and dry-run applies happen elsewhere (`cluster`);
//! everything here is deterministic so plans can be compared byte for byte.

mod change;
mod mask;
mod normalize;
mod plan;
mod unified;

pub use change::{Change, Op, change, yaml_of};
pub use mask::{MASK, MASK_AFTER, MASK_BEFORE};
pub use normalize::{LAST_APPLIED_ANNOTATION, normalize};
pub use plan::Plan;
