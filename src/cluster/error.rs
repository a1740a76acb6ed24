//! What can go wrong talking to a cluster, phrased for the person at the terminal.

use std::fmt;

/// A failure of a cluster operation.
#[derive(Debug)]
pub enum ClusterError {
    /// No usable kubeconfig / context.
    Config(String),
    /// The API server could not be reached or answered garbage.
    Unreachable {
        /// The server URL.
        server: String,
        /// What failed.
        message: String,
    },
    /// Server-side apply found fields owned by another manager.
    Conflict {
        /// `Kind namespace/name`.
        object: String,
        /// The server's account of the conflicting fields and their managers.
        message: String,
    },
    /// The server refused the request (403, 422, ...).
    Rejected {
        /// `Kind namespace/name` or the request.
        object: String,
        /// HTTP status code.
        code: u16,
        /// The server's message.
        message: String,
    },
    /// A kind the cluster does not serve (CRD missing).
    UnknownKind(String),
}

impl ClusterError {
    /// Maps a kube error about `object` on `server`.
    pub fn from_kube(object: &str, server: &str, e: kube::Error) -> Self {
        match e {
            kube::Error::Api(status)
                if status.code == 409 && status.message.contains("conflict") =>
            {
                ClusterError::Conflict {
                    object: object.to_string(),
                    message: status.message.clone(),
                }
            }
            kube::Error::Api(status) => ClusterError::Rejected {
                object: object.to_string(),
                code: status.code,
                message: status.message.clone(),
            },
            other => ClusterError::Unreachable {
                server: server.to_string(),
                message: one_line(&other),
            },
        }
    }

    /// The process exit code: 3 for cluster failures, 4 for conflicts (so scripts can tell
    /// "someone else owns this" from "cannot reach the cluster").
    pub fn exit_code(&self) -> u8 {
        match self {
            ClusterError::Conflict { .. } => 4,
            _ => 3,
        }
    }
}

/// An error and its sources on one line, without repeating identical messages.
fn one_line(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::Config(m) => write!(f, "{m}"),
            ClusterError::Unreachable { server, message } => {
                write!(f, "cannot reach the API server at {server}: {message}")
            }
            ClusterError::Conflict { object, message } => write!(
                f,
                "{object}: {message}; another field manager owns these fields: rerun with --force-conflicts to take them over"
            ),
            ClusterError::Rejected {
                object,
                code,
                message,
            } => write!(f, "{object}: the API server refused ({code}): {message}"),
            ClusterError::UnknownKind(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for ClusterError {}
