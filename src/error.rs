//! The top-level error and its exit codes: 0 ok, 1 "differences / not ready" where a command
//! defines it, 2 usage and bad input, 3 I/O and cluster failures, 4 field-manager conflicts.

use std::fmt;

use crate::manifest::Problem;

/// Everything a command can fail with.
#[derive(Debug)]
pub enum Error {
    /// Input files that do not parse or validate: every problem found.
    Input(Vec<Problem>),
    /// Wrong use of the command line (missing file, bad flag combination).
    Usage(String),
    /// Reading or writing local files failed.
    Io(String),
    /// A cluster operation failed before anything was written.
    Cluster(crate::cluster::ClusterError),
    /// A cluster operation failed after some objects were written: says exactly which.
    Partial {
        /// Objects written before the failure, in order.
        applied: Vec<String>,
        /// Objects not written.
        not_applied: Vec<String>,
        /// The failure.
        error: crate::cluster::ClusterError,
    },
}

impl From<crate::cluster::ClusterError> for Error {
    fn from(e: crate::cluster::ClusterError) -> Self {
        Error::Cluster(e)
    }
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Input(_) | Error::Usage(_) => 2,
            Error::Io(_) => 3,
            Error::Cluster(e) | Error::Partial { error: e, .. } => e.exit_code(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(problems) => {
                for (i, p) in problems.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "error: {p}")?;
                }
                Ok(())
            }
            Error::Usage(m) => write!(f, "error: {m}"),
            Error::Io(m) => write!(f, "error: {m}"),
            Error::Cluster(e) => write!(f, "error: {e}"),
            Error::Partial {
                applied,
                not_applied,
                error,
            } => {
                writeln!(f, "error: {error}")?;
                writeln!(
                    f,
                    "applied before the failure ({}): {}",
                    applied.len(),
                    list(applied)
                )?;
                write!(
                    f,
                    "not applied ({}): {}",
                    not_applied.len(),
                    list(not_applied)
                )
            }
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

impl std::error::Error for Error {}
