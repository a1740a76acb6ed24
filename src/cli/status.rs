//! `dynamoctl status [NAME]`: graphs at a glance, or one graph in detail. Only reads.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use super::clock::now;
use super::cluster_args::ClusterArgs;
use crate::api::consts::LABEL_GRAPH;
use crate::api::{DynamoComponentDeployment, DynamoGraphDeployment};
use crate::cluster::leases::Operators;
use crate::cluster::{ClusterError, connect};
use crate::error::Error;
use crate::status;

/// Output of `status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// Columns.
    #[default]
    Table,
    /// More columns.
    Wide,
    /// The objects as JSON.
    Json,
    /// The objects as YAML.
    Yaml,
}

/// Arguments of `dynamoctl status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A graph to show in detail.
    pub name: Option<String>,
    /// Connection flags.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Graphs of every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Only graphs with these labels, e.g. `team=a,tier!=dev`.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = StatusFormat::Table)]
    pub output: StatusFormat,
    /// Keep watching and print again on every change.
    #[arg(short = 'w', long)]
    pub watch: bool,
}

/// Prints the status.
pub async fn run(args: StatusArgs) -> Result<ExitCode, Error> {
    let (client, namespace, server) = connect(&args.cluster.options("status")).await?;
    let mut last = String::new();
    loop {
        let text = render(&args, &client, &namespace, &server).await?;
        if text != last {
            if args.watch && std::io::stdout().is_terminal() {
                print!("\x1b[2J\x1b[H");
            }
            print!("{text}");
            last = text;
        }
        if !args.watch {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn render(
    args: &StatusArgs,
    client: &Client,
    namespace: &str,
    server: &str,
) -> Result<String, Error> {
    let err = |what: &str| {
        let what = what.to_string();
        move |e| Error::Cluster(ClusterError::from_kube(&what, server, e))
    };
    let graphs: Api<DynamoGraphDeployment> = if args.all_namespaces {
        Api::all(client.clone())
    } else {
        Api::namespaced(client.clone(), namespace)
    };
    let now = now();
    if let Some(name) = &args.name {
        let dgd = Api::<DynamoGraphDeployment>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(err("get DynamoGraphDeployment"))?
            .ok_or_else(|| {
                Error::Usage(format!(
                    "DynamoGraphDeployment {namespace}/{name} not found"
                ))
            })?;
        let components = Api::<DynamoComponentDeployment>::namespaced(client.clone(), namespace)
            .list(&ListParams::default().labels(&format!("{LABEL_GRAPH}={name}")))
            .await
            .map_err(err("list DynamoComponentDeployments"))?
            .items;
        return match args.output {
            StatusFormat::Json => Ok(serde_json::to_string_pretty(&dgd).expect("JSON") + "\n"),
            StatusFormat::Yaml => crate::yaml::to_string(&dgd).map_err(Error::Io),
            StatusFormat::Table | StatusFormat::Wide => {
                let operators =
                    Operators::load_within(client, server, &[namespace.to_string()]).await?;
                let events = recent_events(client, namespace, &dgd, &components)
                    .await
                    .map_err(err("list Events"))?;
                Ok(detail(
                    &dgd,
                    &components,
                    &operators.managed_by(namespace, now.0),
                    &events,
                    &now,
                ))
            }
        };
    }
    let mut params = ListParams::default();
    if let Some(s) = &args.selector {
        params = params.labels(s);
    }
    let mut list = graphs
        .list(&params)
        .await
        .map_err(err("list DynamoGraphDeployments"))?
        .items;
    list.sort_by_key(|g| (g.namespace(), g.name_any()));
    match args.output {
        StatusFormat::Json => Ok(serde_json::to_string_pretty(
            &json!({"apiVersion": "v1", "kind": "List", "items": list}),
        )
        .expect("JSON")
            + "\n"),
        StatusFormat::Yaml => {
            crate::yaml::to_string(&json!({"apiVersion": "v1", "kind": "List", "items": list}))
                .map_err(Error::Io)
        }
        format => {
            if list.is_empty() {
                let scope = if args.all_namespaces {
                    "any namespace".to_string()
                } else {
                    format!("namespace {namespace}")
                };
                return Ok(format!("No DynamoGraphDeployments found in {scope}.\n"));
            }
            let mut namespaces: Vec<String> = list
                .iter()
                .map(|g| g.namespace().unwrap_or_default())
                .collect();
            namespaces.dedup();
            let operators = Operators::load_within(client, server, &namespaces).await?;
            let rows: Vec<status::GraphRow> = list
                .iter()
                .map(|g| {
                    status::graph_row(
                        g,
                        &operators.managed_by(&g.namespace().unwrap_or_default(), now.0),
                        &now,
                    )
                })
                .collect();
            Ok(status::graphs_table(
                &rows,
                args.all_namespaces,
                format == StatusFormat::Wide,
            ))
        }
    }
}

fn detail(
    dgd: &DynamoGraphDeployment,
    components: &[DynamoComponentDeployment],
    managed_by: &str,
    events: &[Event],
    now: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> String {
    let row = status::graph_row(dgd, managed_by, now);
    let mut out = format!(
        "Name:        {}\nNamespace:   {}\nState:       {}\nBackend:     {}\nManaged by:  {}\nGeneration:  {} (observed: {})\n\nServices:\n",
        row.name,
        row.namespace,
        row.state,
        row.backend,
        row.managed_by,
        dgd.metadata.generation.unwrap_or_default(),
        dgd.status
            .as_ref()
            .and_then(|s| s.observed_generation)
            .map_or("none".to_string(), |g| g.to_string()),
    );
    out.push_str(&indent(&status::services_table(dgd, components)));
    out.push_str("\nConditions:\n");
    let conditions: Vec<_> = dgd
        .status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .collect();
    if conditions.is_empty() {
        out.push_str("  <none>\n");
    }
    for c in conditions {
        out.push_str(&format!(
            "  {}={} ({}): {}\n",
            c.type_, c.status, c.reason, c.message
        ));
    }
    if let Some(r) = dgd.status.as_ref().and_then(|s| s.restart.as_ref()) {
        // Only graphs that were ever asked to restart show the section.
        out.push_str(&format!(
            "\nRestart:     {} {}{}\n",
            r.observed_id.as_deref().unwrap_or("<none>"),
            r.phase
                .map_or("<no phase>".to_string(), |p| format!("{p:?}")),
            r.in_progress
                .as_ref()
                .map(|l| format!(" (in progress: {})", l.join(", ")))
                .unwrap_or_default()
        ));
    }
    out.push_str("\nEvents:\n");
    if events.is_empty() {
        out.push_str("  <none>\n");
    }
    for e in events {
        let when = e
            .last_timestamp
            .as_ref()
            .or(e.first_timestamp.as_ref())
            .map_or_else(|| "<unknown>".to_string(), |t| status::age(t, now));
        out.push_str(&format!(
            "  {:<8} {:<24} {:<6} {}/{}: {}\n",
            e.type_.clone().unwrap_or_default(),
            e.reason.clone().unwrap_or_default(),
            when,
            e.involved_object.kind.clone().unwrap_or_default(),
            e.involved_object.name.clone().unwrap_or_default(),
            e.message.clone().unwrap_or_default()
        ));
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// The ten most recent Events about the graph, its components and their workloads.
async fn recent_events(
    client: &Client,
    namespace: &str,
    dgd: &DynamoGraphDeployment,
    components: &[DynamoComponentDeployment],
) -> Result<Vec<Event>, kube::Error> {
    let names: Vec<String> = std::iter::once(dgd.name_any())
        .chain(components.iter().map(|c| c.name_any()))
        .collect();
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let mut events: Vec<Event> = api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| {
            e.involved_object
                .name
                .as_ref()
                .is_some_and(|n| names.contains(n))
        })
        .collect();
    events.sort_by_key(|e| {
        std::cmp::Reverse(
            e.last_timestamp
                .clone()
                .or(e.first_timestamp.clone())
                .map(|t| t.0),
        )
    });
    events.truncate(10);
    Ok(events)
}
