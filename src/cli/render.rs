//! `dynamoctl render FILE...`: the objects a graph becomes, without a cluster.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::output::{self, ObjectFormat};
use crate::error::Error;

/// Arguments of `dynamoctl render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Files to render (`-` for standard input).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// More files to render, kubectl style (`-f -` reads standard input).
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filenames: Vec<PathBuf>,
    /// Namespace of objects that name none.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = ObjectFormat::Yaml)]
    pub output: ObjectFormat,
    /// Print only core Kubernetes objects (no DynamoGraphDeployment or
    /// DynamoComponentDeployment), for clusters without the CRDs or an operator.
    #[arg(long)]
    pub workloads_only: bool,
    /// The operator configuration to render with.
    #[command(flatten)]
    pub operator_config: super::operator_config::OperatorConfigArgs,
}

/// Renders the files to standard output.
pub fn run(args: RenderArgs) -> Result<ExitCode, Error> {
    let files: Vec<PathBuf> = args.files.iter().chain(&args.filenames).cloned().collect();
    let options = args.operator_config.offline()?;
    let mut rendered = super::input::read_and_render(&files, &args.namespace, &options)?.rendered;
    if args.workloads_only {
        rendered.retain(|o| {
            o.get("apiVersion").and_then(|v| v.as_str()) != Some(crate::api::consts::API_VERSION)
        });
    }
    let text = output::objects(&rendered, args.output)?;
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| Error::Io(format!("cannot write output: {e}")))?;
    Ok(ExitCode::SUCCESS)
}
