//! The operator's logic: reconcile a graph (render, apply its components and per-graph
//! objects, prune what is no longer rendered, report status) and a component (render, apply
//! its workload, report status). The CLI's `apply --reconcile` runs these same functions.

mod adapter;
pub mod cache;
mod compact;
pub mod conversion;
pub mod events;
pub mod exclusion;
pub mod leader;
pub mod live;
mod lora;
pub mod marker;
pub mod metrics;
pub mod model;
mod multinode;
pub mod operator;
pub mod prerequisites;
mod reconcile;
pub mod restart;
pub mod run;
pub mod server;
pub mod takeover;
mod watches;

pub use reconcile::{GraphOutcome, Reconciler};
