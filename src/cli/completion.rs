//! `dynamoctl completion SHELL`: print a completion script, as `kubectl completion` does.

use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::error::Error;

/// Arguments of `dynamoctl completion`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the completion script for the shell.
pub fn run(args: CompletionArgs) -> Result<ExitCode, Error> {
    clap_complete::generate(
        args.shell,
        &mut super::Cli::command(),
        "dynamoctl",
        &mut std::io::stdout(),
    );
    Ok(ExitCode::SUCCESS)
}
