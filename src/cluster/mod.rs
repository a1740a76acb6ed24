//! The only module that talks to an API server: connecting, resolving kinds, server-side
//! apply (real and dry-run), reading live objects, pruning. Shared by the CLI and the
//! controller, so both write children the same way.

mod apply;
pub mod applyset;
mod client;
pub mod conversion;
mod error;
pub mod leases;
pub mod operator_config;
mod resolve;

pub use apply::{Applier, ApplyMode, is_subset, retry, up_to_date, with_applied_hash};
pub use client::{ConnectOptions, connect};
pub use error::ClusterError;
pub use resolve::{ObjectRef, Resolver};
