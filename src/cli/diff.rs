//! `dynamoctl diff FILE...`: what `apply` (and the operator, for the children) would change,
//! computed by server-side dry-run applies; or, with `--from`, between two revisions offline.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use kube::api::ListParams;
use serde_json::Value;

use super::cluster_args::ClusterArgs;
use super::input::read_and_render;
use super::operator_config::{ClusterRenderOptions, OperatorConfigArgs};
use crate::api::consts::*;
use crate::api::{DynamoComponentDeployment, DynamoGraphDeployment};
use crate::cluster::{
    Applier, ApplyMode, ClusterError, ObjectRef, Resolver, connect, with_applied_hash,
};
use crate::diff::{Change, Op, Plan, change};
use crate::error::Error;
use crate::manifest::Object;
use crate::render::adapter::keep_live_replicas;
use crate::render::{self, RenderOptions, order};

/// Output of `diff`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Summary table, then unified diffs.
    #[default]
    Text,
    /// The plan as JSON.
    Json,
}

/// Arguments of `dynamoctl diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Files to compare with the cluster (or, with --from, the new revision).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// More files, kubectl style.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filenames: Vec<PathBuf>,
    /// Compare with this old revision instead of a cluster: renders both and diffs the
    /// rendered objects, no cluster needed.
    #[arg(long, value_name = "OLD")]
    pub from: Option<PathBuf>,
    /// Connection flags.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Take over fields other managers own in the dry run, as `apply --force-conflicts` would.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = DiffFormat::Text)]
    pub output: DiffFormat,
    /// The operator configuration to render with.
    #[command(flatten)]
    pub operator_config: OperatorConfigArgs,
}

/// Diffs; exit 0 without changes, 1 with changes, ≥ 2 on error (kubectl's convention).
pub async fn run(args: DiffArgs) -> Result<ExitCode, Error> {
    let files: Vec<PathBuf> = args.files.iter().chain(&args.filenames).cloned().collect();
    let namespace = args
        .cluster
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let plan = match &args.from {
        Some(old) => offline_plan(old, &files, &namespace, &args.operator_config.offline()?)?,
        None => cluster_plan(&args, &files).await?,
    };
    print_plan(&plan, args.output)?;
    Ok(if plan.has_changes() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn offline_plan(
    old: &Path,
    new: &[PathBuf],
    namespace: &str,
    options: &RenderOptions,
) -> Result<Plan, Error> {
    let before = read_and_render(&[old.to_path_buf()], namespace, options)?.rendered;
    let after = read_and_render(new, namespace, options)?.rendered;
    let find = |set: &[Value], r: &ObjectRef| set.iter().find(|o| ObjectRef::of(o) == *r).cloned();
    let mut refs: Vec<(Value, ObjectRef)> = Vec::new();
    for o in after.iter().chain(&before) {
        let r = ObjectRef::of(o);
        if !refs.iter().any(|(_, x)| *x == r) {
            refs.push((o.clone(), r));
        }
    }
    refs.sort_by_cached_key(|(o, _)| order::sort_key(o));
    let changes = refs
        .iter()
        .map(|(_, r)| change(find(&before, r).as_ref(), find(&after, r).as_ref()))
        .collect();
    Ok(Plan { changes })
}

/// One object to diff and how it would be written.
struct Desired {
    object: Value,
    mode: ApplyMode,
}

async fn cluster_plan(args: &DiffArgs, files: &[PathBuf]) -> Result<Plan, Error> {
    let namespace = args
        .cluster
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let objects = read_and_render(files, &namespace, &args.operator_config.offline()?)?.objects;
    let (client, default_ns, server) = connect(&args.cluster.options("diff")).await?;
    let mut settings = ClusterRenderOptions::new(&args.operator_config, client.clone(), &server)?;
    let applier = Applier {
        resolver: Resolver::new(client, &server).await?,
        default_namespace: default_ns,
    };
    let cli = ApplyMode {
        field_manager: FIELD_MANAGER_CLI.into(),
        force: args.force_conflicts,
        dry_run: true,
    };
    let controller = ApplyMode {
        field_manager: FIELD_MANAGER_CONTROLLER.into(),
        force: true,
        dry_run: true,
    };

    let mut desired: Vec<Desired> = Vec::new();
    let mut graphs: Vec<DynamoGraphDeployment> = Vec::new();
    for object in &objects {
        let mut value = object.to_value();
        let live_graph = match object {
            Object::Graph(_) => applier.get(&ObjectRef::of(&value)).await?,
            _ => None,
        };
        // As `apply` does: adapter-owned replicas stay as they are, so they are no drift.
        keep_live_replicas(&mut value, live_graph.as_ref());
        desired.push(Desired {
            object: value.clone(),
            mode: cli.clone(),
        });
        let components: Vec<DynamoComponentDeployment> = match object {
            Object::Graph(_) => {
                let mut dgd: DynamoGraphDeployment =
                    serde_json::from_value(value).expect("a rendered graph deserialises");
                // Children carry the live graph's uid in their ownerReferences, as the
                // operator would write them.
                let ns = applier
                    .effective_ref(&object.to_value())
                    .namespace
                    .unwrap_or_default();
                let options = settings.for_namespace(&ns).await?;
                if let Some(live) = &live_graph {
                    dgd.metadata.uid = live
                        .pointer("/metadata/uid")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    // The restart state is the live graph's: its status decides which
                    // services keep or get a restart stamp, as the operator's next pass would.
                    dgd.status = live
                        .get("status")
                        .and_then(|s| serde_json::from_value(s.clone()).ok());
                    dgd.metadata.namespace.get_or_insert_with(|| ns.clone());
                }
                let children = restart_stamped(&applier, &dgd, &options).await?;
                for o in children.objects {
                    desired.push(Desired {
                        object: with_applied_hash(&o),
                        mode: controller.clone(),
                    });
                }
                graphs.push(dgd);
                children.components
            }
            Object::Component(dcd) => vec![(**dcd).clone()],
            Object::Other(_) => Vec::new(),
        };
        for mut dcd in components {
            let value = serde_json::to_value(&dcd).expect("component serialises");
            if !matches!(object, Object::Component(_)) {
                desired.push(Desired {
                    object: with_applied_hash(&value),
                    mode: controller.clone(),
                });
            }
            if let Some(live) = applier.get(&ObjectRef::of(&value)).await? {
                dcd.metadata.uid = live
                    .pointer("/metadata/uid")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            let ns = applier.effective_ref(&value).namespace.unwrap_or_default();
            let options = settings.for_namespace(&ns).await?;
            for o in render::component(&dcd, &options).map_err(render_error)? {
                desired.push(Desired {
                    object: with_applied_hash(&o),
                    mode: controller.clone(),
                });
            }
        }
    }
    desired.sort_by_cached_key(|d| order::sort_key(&d.object));
    desired.dedup_by(|a, b| ObjectRef::of(&a.object) == ObjectRef::of(&b.object));

    let mut changes = Vec::new();
    for d in &desired {
        changes.push(diff_one(&applier, d).await?);
    }
    let wanted: BTreeSet<ObjectRef> = desired.iter().map(|d| ObjectRef::of(&d.object)).collect();
    for dgd in &graphs {
        for live in stale_children(&applier, dgd, &wanted).await? {
            changes.push(change(Some(&live), None));
        }
    }
    Ok(Plan { changes })
}

/// A graph's children with the restart stamps the operator keeps or sets next
/// (`status::restart`), so a diff does not show them as removed.
async fn restart_stamped(
    applier: &Applier,
    dgd: &DynamoGraphDeployment,
    options: &RenderOptions,
) -> Result<render::GraphChildren, Error> {
    let children = render::graph(dgd, options).map_err(render_error)?;
    if dgd.metadata.uid.is_none() {
        return Ok(children);
    }
    let pcs = children
        .objects
        .iter()
        .find(|o| o["kind"] == "PodCliqueSet");
    let live = crate::controller::restart::live_restart(
        crate::controller::live::Live::uncached(applier),
        dgd,
        pcs,
    )
    .await?;
    let next = crate::status::restart::next_status(dgd, &live);
    let stamps = crate::status::restart::stamps(dgd, next.as_ref(), &live);
    if stamps.is_empty() {
        return Ok(children);
    }
    render::graph(&render::restart::stamped(dgd, &stamps), options).map_err(render_error)
}

/// A render error found after the inputs rendered once (with the live uid): no position.
fn render_error(e: render::RenderError) -> Error {
    Error::Input(vec![crate::manifest::Problem {
        file: String::new(),
        position: Default::default(),
        subject: e.object,
        path: crate::manifest::display_path(&e.path),
        message: e.message,
    }])
}

/// Live vs. what a server-side dry-run apply would store. Objects whose kind or namespace
/// does not exist yet are creations.
async fn diff_one(applier: &Applier, d: &Desired) -> Result<Change, Error> {
    let r = ObjectRef::of(&d.object);
    if applier.resolver.resolve(&r).is_none() {
        return Ok(change(None, Some(&d.object)));
    }
    let live = applier.get(&r).await?;
    match applier.apply(&d.object, &d.mode).await {
        Ok(merged) => Ok(change(live.as_ref(), Some(&merged))),
        // The namespace does not exist yet: apply would create it first.
        Err(ClusterError::Rejected { code: 404, .. }) => Ok(change(None, Some(&d.object))),
        Err(e) => Err(e.into()),
    }
}

/// Live children of a graph that it controls but no longer renders: what the operator
/// will delete (components and RBAC) or garbage collection will remove (their workloads).
async fn stale_children(
    applier: &Applier,
    dgd: &DynamoGraphDeployment,
    wanted: &BTreeSet<ObjectRef>,
) -> Result<Vec<Value>, Error> {
    let (Some(name), Some(ns)) = (dgd.metadata.name.clone(), dgd.metadata.namespace.clone()) else {
        return Ok(Vec::new());
    };
    if dgd.metadata.uid.is_none() {
        return Ok(Vec::new());
    }
    let selector = format!("{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_PART_OF}={name}");
    let mut out = Vec::new();
    for (api_version, kind) in [
        ("v1", "ServiceAccount"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        (API_VERSION, "DynamoComponentDeployment"),
        ("apps/v1", "Deployment"),
        ("v1", "Service"),
        ("networking.k8s.io/v1", "Ingress"),
        (crate::render::VIRTUAL_SERVICE_API_VERSION, "VirtualService"),
    ] {
        let probe = ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: Some(ns.clone()),
            name: String::new(),
        };
        let Ok((api, _)) = applier.resolver.api(&probe, &ns) else {
            continue;
        };
        let params = ListParams::default().labels(&selector);
        let list = crate::cluster::retry(|| api.list(&params))
            .await
            .map_err(|e| {
                ClusterError::from_kube(&format!("list {kind}"), applier.resolver.server(), e)
            })?;
        for obj in list.items {
            let mut value = serde_json::to_value(obj).expect("object serialises");
            value["apiVersion"] = Value::String(api_version.into());
            value["kind"] = Value::String(kind.into());
            if !wanted.contains(&ObjectRef::of(&value)) {
                out.push(value);
            }
        }
    }
    Ok(out)
}

fn print_plan(plan: &Plan, format: DiffFormat) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    let write = |out: &mut std::io::StdoutLock, text: &str| {
        out.write_all(text.as_bytes())
            .map_err(|e| Error::Io(format!("cannot write output: {e}")))
    };
    match format {
        DiffFormat::Json => write(
            &mut out,
            &(serde_json::to_string_pretty(&plan.to_json()).expect("JSON") + "\n"),
        ),
        DiffFormat::Text => {
            write(&mut out, &plan.summary_table())?;
            if let Ok(external) = std::env::var("KUBECTL_EXTERNAL_DIFF") {
                drop(out);
                return external_diff(plan, &external);
            }
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let diffs = plan.unified(color);
            if !diffs.is_empty() {
                write(&mut out, "\n")?;
                write(&mut out, &diffs)?;
            }
            Ok(())
        }
    }
}

/// kubectl's `KUBECTL_EXTERNAL_DIFF`: write LIVE and MERGED directories and run the program
/// (which may carry arguments) on them.
fn external_diff(plan: &Plan, command: &str) -> Result<(), Error> {
    let base = std::env::temp_dir().join(format!("dynamoctl-diff-{}", std::process::id()));
    let (live_dir, merged_dir) = (base.join("LIVE"), base.join("MERGED"));
    let io = |e: std::io::Error| {
        Error::Io(format!(
            "cannot write diff files under {}: {e}",
            base.display()
        ))
    };
    std::fs::create_dir_all(&live_dir).map_err(io)?;
    std::fs::create_dir_all(&merged_dir).map_err(io)?;
    for c in plan.changes.iter().filter(|c| c.op != Op::Unchanged) {
        let (live, merged) = crate::diff::yaml_of(c);
        if c.live.is_some() {
            std::fs::write(live_dir.join(c.file_name()), live).map_err(io)?;
        }
        if c.merged.is_some() {
            std::fs::write(merged_dir.join(c.file_name()), merged).map_err(io)?;
        }
    }
    let mut words = command.split_whitespace();
    let program = words.next().unwrap_or("diff");
    let status = std::process::Command::new(program)
        .args(words)
        .arg(&live_dir)
        .arg(&merged_dir)
        .status();
    std::fs::remove_dir_all(&base).ok();
    status.map(|_| ()).map_err(|e| {
        Error::Usage(format!(
            "KUBECTL_EXTERNAL_DIFF={command:?} could not run: {e}"
        ))
    })
}
