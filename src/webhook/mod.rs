//! The conversion webhook the API server calls to move DynamoGraphDeployments and
//! DynamoComponentDeployments between `nvidia.com/v1alpha1` and `nvidia.com/v1beta1` (the
//! storage version): the review exchange ([`review`], pure), the certificates ([`certs`], pure)
//! and the HTTPS server ([`server`]). The Secret, the CRDs' `caBundle` and storage migration
//! are cluster I/O, in `cluster::conversion`.

pub mod certs;
pub mod review;
pub mod server;
