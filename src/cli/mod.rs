//! The command line: clap definitions and one thin module per subcommand.

mod apply;
mod check;
mod clock;
mod cluster_args;
mod completion;
mod convert;
mod diff;
pub mod generate;
mod input;
mod install;
mod leases;
mod operator_config;
mod output;
mod progress;
mod render;
mod restart;
mod run;
mod status;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::Error;

/// dynamoctl renders, diffs, applies, installs and runs NVIDIA Dynamo inference graphs on
/// Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "dynamoctl", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// kubectl's global connection flags, accepted before the subcommand too.
    #[command(flatten)]
    pub global: cluster_args::GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the Kubernetes objects a graph becomes, without a cluster.
    Render(render::RenderArgs),
    /// Show what apply (and the operator) would change, or diff two revisions offline.
    Diff(diff::DiffArgs),
    /// Convert graphs between nvidia.com/v1alpha1 and nvidia.com/v1beta1, offline and losslessly.
    Convert(convert::ConvertArgs),
    /// Server-side apply graphs and other objects, in dependency order.
    Apply(apply::ApplyArgs),
    /// Restart a graph's pods (a fresh `spec.restart.id`), one service at a time or all at once.
    Restart(restart::RestartArgs),
    /// Show graphs and their health; with a name, one graph in detail.
    Status(status::StatusArgs),
    /// List namespace-scope markers and leader-election Leases: who holds them, until when.
    Leases(leases::LeasesArgs),
    /// Install or upgrade the operator (CRDs, RBAC, Deployment); `--dry-run` prints it.
    Install(install::InstallArgs),
    /// Remove the operator; the CRDs (and every graph) only with `--crds`.
    Uninstall(install::UninstallArgs),
    /// Check the cluster, the CRDs, the operator and its Leases, linkerd style.
    Check(check::CheckArgs),
    /// Run a long-lived process: `dynamoctl run controller` is the operator.
    #[command(subcommand)]
    Run(run::RunCommand),
    /// Print a shell completion script.
    Completion(completion::CompletionArgs),
    /// Regenerate or check the generated files (CRDs, completions, man pages, API reference).
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Render(args) => render::run(args),
        Command::Apply(args) => apply::run(args).await,
        Command::Diff(args) => diff::run(args).await,
        Command::Convert(args) => convert::run(args),
        Command::Restart(args) => restart::run(args).await,
        Command::Status(args) => status::run(args).await,
        Command::Leases(args) => leases::run(args).await,
        Command::Install(args) => install::run_install(args).await,
        Command::Uninstall(args) => install::run_uninstall(args).await,
        Command::Check(args) => check::run(args).await,
        Command::Run(cmd) => run::run(cmd).await,
        Command::Completion(args) => completion::run(args),
        Command::Generate(args) => generate::run(args),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
