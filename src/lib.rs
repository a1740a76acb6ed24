//! dynamoctl: render, diff, apply, install and run NVIDIA Dynamo inference graphs.
//!
//! One pure function turns a graph into Kubernetes objects ([`render`]); the CLI and the
//! in-cluster controller both run it. Only `cluster` (to come) talks to an API server.

pub mod api;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod controller;
pub mod diff;
pub mod error;
pub mod install;
pub mod manifest;
pub mod render;
pub mod status;
pub mod table;
pub mod webhook;
pub mod yaml;
