//! The top-level error and its exit codes: 0 ok, 1 "differences / not ready" where a command
//! defines it, 2 usage and bad input, 3 I/O failures.

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
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Input(_) | Error::Usage(_) => 2,
            Error::Io(_) => 3,
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
        }
    }
}

impl std::error::Error for Error {}
