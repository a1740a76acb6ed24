//! `dynamoctl install` and `dynamoctl uninstall`: the operator's objects from
//! [`crate::install::manifests`], server-side applied (CRDs first, then the rest), skipping
//! every object that is already up to date, so a re-run is an upgrade and an unchanged re-run
//! writes nothing.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::Value;

use super::cluster_args::{ClusterArgs, parse_duration};
use super::output::{ObjectFormat, objects};
use crate::cluster::{Applier, ApplyMode, ClusterError, ObjectRef, Resolver, connect};
use crate::config::OperatorConfiguration;
use crate::error::Error;
use crate::install::{
    Bundled, DEPLOYMENT_NAME, FIELD_MANAGER, InstallOptions, METRICS_SERVICE_NAME, NAME,
    SERVICE_ACCOUNT_NAME, manifests,
};

/// The namespace when `-n` is not given.
pub const DEFAULT_NAMESPACE: &str = "dynamo-system";

/// `-n` of install, uninstall and check: the operator's namespace.
pub const NAMESPACE_HELP: &str = "The operator's namespace [default: dynamo-system]";

/// Arguments of `dynamoctl install`.
#[derive(Debug, Args)]
#[command(mut_arg("namespace", |a| a.help(NAMESPACE_HELP)))]
pub struct InstallArgs {
    /// Connection flags; `-n` is the operator's namespace (default dynamo-system).
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Manage only the operator's namespace: a Role instead of a ClusterRole, and the
    /// namespace-scope marker Lease so a cluster-wide operator leaves the namespace alone.
    #[arg(long)]
    pub namespace_scoped: bool,
    /// The operator image, REPO[:TAG] (default: this version's published image).
    #[arg(long, value_name = "REPO[:TAG]")]
    pub image: Option<String>,
    /// Version the operator reports in its marker (default: the image's tag).
    #[arg(long)]
    pub operator_version: Option<String>,
    /// How long the namespace-scope marker stays valid without renewal [default: 30s, or
    /// the --operator-config file's namespace.scope.leaseDuration].
    #[arg(long, value_parser = parse_duration)]
    pub lease_duration: Option<Duration>,
    /// How often the marker is renewed, shorter than --lease-duration [default: 10s, or the
    /// file's namespace.scope.leaseRenewInterval].
    #[arg(long, value_parser = parse_duration)]
    pub lease_renew_interval: Option<Duration>,
    /// A base operator configuration (upstream's OperatorConfiguration file); the flags below
    /// override its keys.
    #[arg(long, value_name = "FILE")]
    pub operator_config: Option<PathBuf>,
    /// etcd the runtime uses (infrastructure.etcdAddress): host:port or http(s)://host:port.
    #[arg(long, value_name = "URL")]
    pub etcd_address: Option<String>,
    /// NATS the runtime uses (infrastructure.natsAddress): nats://host:port.
    #[arg(long, value_name = "URL")]
    pub nats_address: Option<String>,
    /// Install a single-node etcd (StatefulSet + Services) and point the configuration at it
    /// unless --etcd-address is given.
    #[arg(long)]
    pub with_etcd: bool,
    /// Keep the bundled etcd's data in a PersistentVolumeClaim of this size (default: an
    /// emptyDir, lost when the pod moves).
    #[arg(long, value_name = "SIZE", requires = "with_etcd")]
    pub etcd_storage: Option<String>,
    /// Install a single-node NATS with JetStream and point the configuration at it unless
    /// --nats-address is given.
    #[arg(long)]
    pub with_nats: bool,
    /// Keep the bundled NATS's JetStream data in a PersistentVolumeClaim of this size.
    #[arg(long, value_name = "SIZE", requires = "with_nats")]
    pub nats_storage: Option<String>,
    /// Model Express server (infrastructure.modelExpressURL): an http(s):// URL.
    #[arg(long, value_name = "URL")]
    pub model_express_url: Option<String>,
    /// Prometheus the planner reads (infrastructure.prometheusEndpoint): an http(s):// URL.
    #[arg(long, value_name = "URL")]
    pub prometheus_endpoint: Option<String>,
    /// The runtime's default discovery backend (discovery.backend): kubernetes or etcd.
    #[arg(long, value_name = "BACKEND")]
    pub discovery_backend: Option<String>,
    /// Give frontends a default Ingress of this IngressClass (ingress.controllerClassName).
    #[arg(long, value_name = "CLASS")]
    pub ingress_class: Option<String>,
    /// TLS Secret of the default Ingress (ingress.controllerTLSSecretName).
    #[arg(long, value_name = "SECRET")]
    pub ingress_tls_secret: Option<String>,
    /// Serve frontends at <graph>.<SUFFIX> (ingress.hostSuffix).
    #[arg(long, value_name = "SUFFIX")]
    pub ingress_host_suffix: Option<String>,
    /// Install PodMonitors for frontends, workers and planners (needs the Prometheus
    /// Operator's monitoring.coreos.com API).
    #[arg(long)]
    pub pod_monitors: bool,
    /// The PodMonitors' `release` label, which Prometheus' default selector matches
    /// [default: dynamo-platform].
    #[arg(long, value_name = "VALUE", requires = "pod_monitors")]
    pub pod_monitors_release: Option<String>,
    /// Operator replicas; one leader reconciles.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub replicas: i32,
    /// Do not install or upgrade the CRDs (they must exist): lets a namespace admin install.
    #[arg(long)]
    pub skip_crds: bool,
    /// Print the objects instead of applying them; contacts no cluster.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format of --dry-run.
    #[arg(short = 'o', long, value_enum, requires = "dry_run")]
    pub output: Option<ObjectFormat>,
    /// Wait until the operator Deployment is available.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
}

impl InstallArgs {
    /// The installation these flags describe, validated: nothing is sent unless this passes.
    pub fn options(&self) -> Result<InstallOptions, Error> {
        let config = self.config()?;
        let defaults = InstallOptions::default();
        let scope = &config.namespace.scope;
        let mut opts = InstallOptions {
            namespace: self
                .cluster
                .namespace
                .clone()
                .unwrap_or_else(|| DEFAULT_NAMESPACE.into()),
            namespace_scoped: self.namespace_scoped,
            lease_duration: self
                .lease_duration
                .or(scope
                    .lease_duration
                    .is_some()
                    .then(|| config.lease_duration()))
                .unwrap_or(defaults.lease_duration),
            lease_renew_interval: self
                .lease_renew_interval
                .or(scope
                    .lease_renew_interval
                    .is_some()
                    .then(|| config.lease_renew_interval()))
                .unwrap_or(defaults.lease_renew_interval),
            replicas: self.replicas,
            etcd: self.with_etcd.then(|| Bundled {
                storage: self.etcd_storage.clone(),
            }),
            nats: self.with_nats.then(|| Bundled {
                storage: self.nats_storage.clone(),
            }),
            config,
            ..defaults
        };
        opts.pod_monitors = self.pod_monitors.then(|| {
            self.pod_monitors_release
                .clone()
                .unwrap_or_else(|| opts.instance.clone())
        });
        if let Some(image) = &self.image {
            opts = opts.with_image(image);
        }
        if let Some(v) = &self.operator_version {
            opts.operator_version = v.clone();
        }
        opts.validate()
            .map_err(|e| Error::Usage(e.0.join("\nerror: ")))?;
        Ok(opts)
    }

    /// The `--operator-config` file (checked like the operator checks it), with the flags'
    /// keys set over it.
    fn config(&self) -> Result<OperatorConfiguration, Error> {
        let mut config = match &self.operator_config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::Usage(format!(
                        "--operator-config: cannot read {}: {e}",
                        path.display()
                    ))
                })?;
                crate::config::parse(&path.display().to_string(), &text).map_err(Error::Input)?
            }
            None => OperatorConfiguration::default(),
        };
        let set = |flag: &Option<String>, key: &mut Option<String>| {
            if let Some(v) = flag {
                *key = Some(v.clone());
            }
        };
        let infra = &mut config.infrastructure;
        set(&self.etcd_address, &mut infra.etcd_address);
        set(&self.nats_address, &mut infra.nats_address);
        set(&self.model_express_url, &mut infra.model_express_url);
        set(&self.prometheus_endpoint, &mut infra.prometheus_endpoint);
        set(&self.discovery_backend, &mut config.discovery.backend);
        let ingress = &mut config.ingress;
        set(&self.ingress_class, &mut ingress.controller_class_name);
        set(
            &self.ingress_tls_secret,
            &mut ingress.controller_tls_secret_name,
        );
        set(&self.ingress_host_suffix, &mut ingress.host_suffix);
        Ok(config)
    }
}

/// Arguments of `dynamoctl uninstall`.
#[derive(Debug, Args)]
#[command(mut_arg("namespace", |a| a.help(NAMESPACE_HELP)))]
pub struct UninstallArgs {
    /// Connection flags; `-n` is the operator's namespace (default dynamo-system).
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Also delete the CRDs, and with them every graph in the cluster.
    #[arg(long)]
    pub crds: bool,
    /// With --crds: delete them even while graphs exist.
    #[arg(long, requires = "crds")]
    pub force: bool,
}

/// What happened to one object.
enum Outcome {
    Created,
    Configured,
    Unchanged,
}

/// Installs or upgrades the operator.
pub async fn run_install(args: InstallArgs) -> Result<ExitCode, Error> {
    let opts = args.options()?;
    let mut docs = manifests(&opts);
    if args.dry_run {
        let text = objects(&docs, args.output.unwrap_or(ObjectFormat::Yaml))?;
        use std::io::Write;
        return match std::io::stdout().lock().write_all(text.as_bytes()) {
            // `dynamoctl install --dry-run | head` is not an error.
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(Error::Io(format!("cannot write to standard output: {e}")))
            }
            _ => Ok(ExitCode::SUCCESS),
        };
    }
    let crds: Vec<Value> = docs
        .iter()
        .filter(|d| d["kind"] == "CustomResourceDefinition")
        .cloned()
        .collect();
    docs.retain(|d| d["kind"] != "CustomResourceDefinition");
    // The replica policy and its binding are cluster-scoped like the CRDs, and installed
    // (or skipped with --skip-crds) with them.
    let policies: Vec<Value> = docs
        .iter()
        .filter(|d| d["apiVersion"] == crate::install::policy::API_VERSION)
        .cloned()
        .collect();
    docs.retain(|d| d["apiVersion"] != crate::install::policy::API_VERSION);

    let mut cluster = args.cluster.clone();
    cluster.namespace = Some(opts.namespace.clone());
    let (client, _, server) = connect(&cluster.options("install")).await?;
    let resolver = Resolver::new(client, &server).await?;
    let mut applier = Applier {
        resolver,
        default_namespace: opts.namespace.clone(),
    };
    let mode = ApplyMode {
        field_manager: FIELD_MANAGER.into(),
        force: true,
        dry_run: false,
    };

    // Everything that can refuse the install is read before the first write. PodMonitors
    // need the Prometheus Operator's API: without it the install refuses, rather than
    // installing everything else and failing on the last objects.
    if opts.pod_monitors.is_some() && !serves_pod_monitors(&applier) {
        return Err(Error::Usage(format!(
            "--pod-monitors: the cluster does not serve {}/PodMonitor; install the Prometheus Operator \
             (or kube-prometheus-stack) first, or install without --pod-monitors",
            crate::install::POD_MONITOR_API_VERSION
        )));
    }
    // A namespace
    // admin may not read Namespaces or CRDs (both cluster-scoped): a 403 there means
    // "unknown", and --skip-crds asks discovery, which every user may read.
    let ns_ref = namespace_ref(&opts.namespace);
    let (live_ns, ns_known) = match applier.get(&ns_ref).await {
        Ok(live) => (live, true),
        Err(ClusterError::Rejected { code: 403, .. }) => (None, false),
        Err(e) => return Err(e.into()),
    };
    let mut live_crds = Vec::new();
    if args.skip_crds {
        let missing: Vec<String> = crds
            .iter()
            .filter(|c| !served(&applier, c))
            .map(|c| ObjectRef::of(c).name)
            .collect();
        if !missing.is_empty() {
            return Err(Error::Usage(format!(
                "--skip-crds: the CRDs {} are not installed; a cluster admin must install them first \
                 (`dynamoctl install` without --skip-crds, or `helm install dynamo-crds charts/crds`)",
                missing.join(", ")
            )));
        }
        if ns_known && live_ns.is_none() {
            return Err(Error::Usage(format!(
                "--skip-crds: namespace {} does not exist; ask a cluster admin to create it \
                 (`kubectl create namespace {}`)",
                opts.namespace, opts.namespace
            )));
        }
    } else {
        for crd in &crds {
            live_crds.push(applier.get(&ObjectRef::of(crd)).await.map_err(crd_error)?);
        }
    }

    // What has been written so far: a later failure names it (Error::Partial).
    let mut written: Vec<String> = Vec::new();
    // Objects after the CRDs already handled (written or unchanged).
    let mut done: Vec<String> = Vec::new();
    if !args.skip_crds {
        let mut wrote = false;
        for (crd, live) in crds.iter().zip(&live_crds) {
            let outcome = ensure(&applier, crd, live.as_ref(), &mode)
                .await
                .map_err(crd_error)?;
            if !matches!(outcome, Outcome::Unchanged) {
                wrote = true;
                written.push(ObjectRef::of(crd).to_string());
            }
            report(crd, &outcome);
        }
        if wrote {
            let established = async {
                wait_established(&applier, &crds).await?;
                applier.resolver.refresh().await
            };
            established
                .await
                .map_err(|e| partial(&written, &done, &docs, e))?;
        }
        for doc in &policies {
            let live = applier
                .get(&ObjectRef::of(doc))
                .await
                .map_err(|e| partial(&written, &done, &docs, e))?;
            let outcome = ensure(&applier, doc, live.as_ref(), &mode)
                .await
                .map_err(|e| partial(&written, &done, &docs, e))?;
            if !matches!(outcome, Outcome::Unchanged) {
                written.push(ObjectRef::of(doc).to_string());
            }
            report(doc, &outcome);
        }
    } else {
        eprintln!(
            "note: --skip-crds also skips the replica policy ({}): until a cluster admin installs it \
             (`dynamoctl install` without --skip-crds), replicas of services with a scaling adapter are not protected",
            crate::install::policy::POLICY_NAME
        );
    }

    if opts.namespace_scoped && ns_known && live_ns.is_none() {
        // Like `helm install --create-namespace`: a plain namespace, not labelled as ours, so
        // uninstall keeps it. (A namespace-scoped install otherwise writes nothing
        // cluster-scoped besides the CRDs and the replica policy.)
        let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": opts.namespace}});
        applier
            .apply(&ns, &mode)
            .await
            .map_err(|e| partial(&written, &done, &docs, e))?;
        written.push(ObjectRef::of(&ns).to_string());
        report(&ns, &Outcome::Created);
    }
    for doc in &docs {
        let r = ObjectRef::of(doc);
        let live = if doc["kind"] == "Namespace" {
            // A namespace that exists and is not ours is used, never adopted: uninstall
            // deletes only a namespace install created.
            if !ns_known || live_ns.as_ref().is_some_and(|l| !is_ours(l)) {
                continue;
            }
            live_ns.clone()
        } else {
            applier
                .get(&r)
                .await
                .map_err(|e| partial(&written, &done, &docs, e))?
        };
        let outcome = ensure(&applier, doc, live.as_ref(), &mode)
            .await
            .map_err(|e| partial(&written, &done, &docs, e))?;
        if !matches!(outcome, Outcome::Unchanged) {
            written.push(r.to_string());
        }
        done.push(r.to_string());
        report(doc, &outcome);
    }
    if args.wait {
        return wait_available(&applier, &opts, args.timeout).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// A failure after `written` objects were written: says which were, and which of `docs`
/// (the objects after the CRDs) were not reached (`done` were written or already up to date).
fn partial(written: &[String], done: &[String], docs: &[Value], error: ClusterError) -> Error {
    if written.is_empty() {
        return Error::Cluster(error);
    }
    let not_applied = docs
        .iter()
        .map(|d| ObjectRef::of(d).to_string())
        .filter(|r| !done.contains(r))
        .collect();
    Error::Partial {
        applied: written.to_vec(),
        not_applied,
        error,
    }
}

/// Whether the cluster serves `monitoring.coreos.com/v1` PodMonitors.
pub fn serves_pod_monitors(applier: &Applier) -> bool {
    applier.resolver.resolve(&pod_monitor_ref("", "")).is_some()
}

fn pod_monitor_ref(namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: crate::install::POD_MONITOR_API_VERSION.into(),
        kind: "PodMonitor".into(),
        namespace: (!namespace.is_empty()).then(|| namespace.to_string()),
        name: name.into(),
    }
}

/// Whether the cluster serves the kind a CRD defines (discovery: readable by every user).
fn served(applier: &Applier, crd: &Value) -> bool {
    let s = |p: &str| crd.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let probe = ObjectRef {
        api_version: format!("{}/{}", s("/spec/group"), s("/spec/versions/0/name")),
        kind: s("/spec/names/kind").to_string(),
        namespace: None,
        name: String::new(),
    };
    applier.resolver.resolve(&probe).is_some()
}

/// Applies `doc` unless `live` is up to date.
async fn ensure(
    applier: &Applier,
    doc: &Value,
    live: Option<&Value>,
    mode: &ApplyMode,
) -> Result<Outcome, ClusterError> {
    Ok(match applier.ensure(doc, live, mode).await? {
        None => Outcome::Unchanged,
        Some(_) if live.is_none() => Outcome::Created,
        Some(_) => Outcome::Configured,
    })
}

fn report(doc: &Value, outcome: &Outcome) {
    let word = match outcome {
        Outcome::Created => "created",
        Outcome::Configured => "configured",
        Outcome::Unchanged => "unchanged",
    };
    println!("{} {word}", display_name(doc));
}

/// kubectl's `kind.group/name`.
fn display_name(doc: &Value) -> String {
    let r = ObjectRef::of(doc);
    let group = r
        .api_version
        .split_once('/')
        .map(|(g, _)| format!(".{g}"))
        .unwrap_or_default();
    format!("{}{group}/{}", r.kind.to_lowercase(), r.name)
}

/// A refused CRD write, explained: CRDs are cluster-scoped, so installing them needs
/// cluster-admin, and a namespace admin can install without them.
fn crd_error(e: ClusterError) -> Error {
    match e {
        ClusterError::Rejected {
            object,
            code: 403,
            message,
        } => Error::Cluster(ClusterError::Rejected {
            object,
            code: 403,
            message: format!(
                "{message}\ninstalling the CRDs needs cluster-admin rights (CustomResourceDefinitions are cluster-scoped). \
                 Ask a cluster admin to install them once (`dynamoctl install` or `helm install dynamo-crds charts/crds`), \
                 then install the operator as a namespace admin with `dynamoctl install --namespace-scoped --skip-crds -n NAMESPACE`"
            ),
        }),
        other => Error::Cluster(other),
    }
}

fn namespace_ref(name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "Namespace".into(),
        namespace: None,
        name: name.into(),
    }
}

/// Whether install created this object: it carries install's name and managed-by labels.
fn is_ours(live: &Value) -> bool {
    let label = |k: &str| {
        live.pointer("/metadata/labels")
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
    };
    label("app.kubernetes.io/name") == Some(NAME)
        && label("app.kubernetes.io/managed-by") == Some(crate::api::consts::MANAGED_BY)
}

/// Whether an object carries the `part-of: dynamo` label every installed object has.
fn is_part_of_dynamo(live: &Value) -> bool {
    live.pointer("/metadata/labels/app.kubernetes.io~1part-of")
        .and_then(Value::as_str)
        == Some("dynamo")
}

async fn wait_established(applier: &Applier, crds: &[Value]) -> Result<(), ClusterError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    for crd in crds {
        let r = ObjectRef::of(crd);
        loop {
            let established = applier
                .get(&r)
                .await?
                .is_some_and(|l| condition_true(&l, "Established"));
            if established {
                break;
            }
            if Instant::now() > deadline {
                return Err(ClusterError::Rejected {
                    object: r.to_string(),
                    code: 0,
                    message: "not Established after 60s".into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

fn condition_true(obj: &Value, type_: &str) -> bool {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == type_ && c["status"] == "True")
        })
}

/// Whether the operator Deployment is available at its current generation.
pub fn deployment_available(live: &Value) -> bool {
    let generation = live.pointer("/metadata/generation").and_then(Value::as_i64);
    let observed = live
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64);
    generation.is_some() && observed >= generation && condition_true(live, "Available")
}

fn deployment_ref(namespace: &str) -> ObjectRef {
    ObjectRef {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: Some(namespace.into()),
        name: DEPLOYMENT_NAME.into(),
    }
}

async fn wait_available(
    applier: &Applier,
    opts: &InstallOptions,
    timeout: Duration,
) -> Result<ExitCode, Error> {
    let r = deployment_ref(&opts.namespace);
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    loop {
        let live = applier.get(&r).await?;
        if live.as_ref().is_some_and(deployment_available) {
            println!("{r} is available");
            return Ok(ExitCode::SUCCESS);
        }
        let ready = live
            .as_ref()
            .and_then(|l| l.pointer("/status/readyReplicas"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let line = format!("{r}: {ready}/{} ready", opts.replicas);
        if line != last {
            eprintln!("{line}");
            last = line;
        }
        if Instant::now() >= deadline {
            eprintln!(
                "error: timed out after {}s waiting for {r} to become available (see `dynamoctl check`)",
                timeout.as_secs()
            );
            return Ok(ExitCode::from(1));
        }
        tokio::time::sleep(Duration::from_millis(250).min(deadline - Instant::now())).await;
    }
}

/// Removes the operator, in reverse install order. CRDs (and with them every graph) go only
/// with `--crds`, which refuses while graphs exist unless `--force`.
pub async fn run_uninstall(args: UninstallArgs) -> Result<ExitCode, Error> {
    let namespace = args
        .cluster
        .namespace
        .clone()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.into());
    let mut cluster = args.cluster.clone();
    cluster.namespace = Some(namespace.clone());
    let (client, _, server) = connect(&cluster.options("uninstall")).await?;
    let resolver = Resolver::new(client, &server).await?;
    let applier = Applier {
        resolver,
        default_namespace: namespace.clone(),
    };
    let crds: Vec<ObjectRef> = crate::install::crds().iter().map(ObjectRef::of).collect();
    let graphs = if args.crds {
        count_graphs(&applier).await?
    } else {
        0
    };
    if graphs > 0 && !args.force {
        eprintln!(
            "error: --crds would delete {graphs} DynamoGraphDeployment(s) with the CRDs; delete them first, or add --force"
        );
        return Ok(ExitCode::from(1));
    }

    let rbac = |kind: &str, ns: Option<&str>| ObjectRef {
        api_version: "rbac.authorization.k8s.io/v1".into(),
        kind: kind.into(),
        namespace: ns.map(str::to_string),
        name: NAME.into(),
    };
    let namespaced = |api_version: &str, kind: &str, name: &str| ObjectRef {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: Some(namespace.clone()),
        name: name.into(),
    };
    let mut order: Vec<ObjectRef> = crate::install::POD_MONITOR_NAMES
        .iter()
        .map(|name| pod_monitor_ref(&namespace, name))
        .collect();
    // The bundled etcd and NATS of the default instance (PVCs stay, as with every
    // StatefulSet: delete them to drop the data).
    for component in ["nats", "etcd"] {
        let [client, headless] =
            crate::install::bundled_names(&InstallOptions::default().instance, component);
        order.push(namespaced("apps/v1", "StatefulSet", &client));
        order.push(namespaced("v1", "Service", &client));
        order.push(namespaced("v1", "Service", &headless));
    }
    order.extend([
        // The conversion webhook's Service and the certificate Secret the operator made.
        namespaced("v1", "Service", crate::install::WEBHOOK_SERVICE_NAME),
        namespaced("v1", "Secret", crate::install::WEBHOOK_SECRET_NAME),
        namespaced("v1", "Service", METRICS_SERVICE_NAME),
        deployment_ref(&namespace),
        namespaced("v1", "ConfigMap", crate::config::CONFIG_MAP_NAME),
        // The operator's own Leases: its marker and its leader election.
        namespaced(
            "coordination.k8s.io/v1",
            "Lease",
            crate::api::consts::NAMESPACE_SCOPE_LEASE,
        ),
        namespaced(
            "coordination.k8s.io/v1",
            "Lease",
            crate::cluster::leases::LEADER_ELECTION_LEASE,
        ),
        rbac("RoleBinding", Some(&namespace)),
        rbac("Role", Some(&namespace)),
    ]);
    for kind in ["RoleBinding", "Role"] {
        order.push(ObjectRef {
            name: crate::install::CONVERSION_RBAC_NAME.into(),
            ..rbac(kind, Some(&namespace))
        });
    }
    // The cluster-wide binding is this install's only when it binds this namespace's
    // ServiceAccount; another namespace's cluster-wide install is left alone.
    let crb = rbac("ClusterRoleBinding", None);
    let binds_us = readable(applier.get(&crb).await)?.is_some_and(|b| {
        b["subjects"].as_array().is_some_and(|s| {
            s.iter()
                .any(|s| s["namespace"] == namespace.as_str() && s["name"] == SERVICE_ACCOUNT_NAME)
        })
    });
    let policy = |kind: &str, name: &str| ObjectRef {
        api_version: crate::install::policy::API_VERSION.into(),
        kind: kind.into(),
        namespace: None,
        name: name.into(),
    };
    let scoped_policy = crate::install::policy::name(Some(&namespace));
    order.push(policy("ValidatingAdmissionPolicyBinding", &scoped_policy));
    order.push(policy("ValidatingAdmissionPolicy", &scoped_policy));
    if binds_us {
        let cluster_policy = crate::install::policy::name(None);
        order.push(policy("ValidatingAdmissionPolicyBinding", &cluster_policy));
        order.push(policy("ValidatingAdmissionPolicy", &cluster_policy));
        order.push(crb);
        order.push(rbac("ClusterRole", None));
        for kind in ["ClusterRoleBinding", "ClusterRole"] {
            order.push(ObjectRef {
                name: crate::install::CONVERSION_RBAC_NAME.into(),
                ..rbac(kind, None)
            });
        }
    }
    order.push(namespaced("v1", "ServiceAccount", SERVICE_ACCOUNT_NAME));
    let ns_ref = namespace_ref(&namespace);
    if readable(applier.get(&ns_ref).await)?.is_some_and(|l| is_ours(&l)) {
        if args.crds || count_graphs_in(&applier, &namespace).await? == 0 {
            order.push(ns_ref);
        } else {
            eprintln!(
                "warning: namespace {namespace} still holds graphs; it is kept (delete them, then `kubectl delete namespace {namespace}`)"
            );
        }
    }
    if args.crds {
        order.extend(crds);
    }
    let instance_prefix = format!("{}-", InstallOptions::default().instance);
    for r in &order {
        if applier.resolver.resolve(r).is_none() {
            continue;
        }
        let Some(live) = applier.get(r).await? else {
            continue;
        };
        // PodMonitors and the bundled etcd/NATS have generic names: remove only ours.
        let generic = r.kind == "PodMonitor" || r.name.starts_with(&instance_prefix);
        if generic && !is_part_of_dynamo(&live) {
            continue;
        }
        applier.delete(r, false).await?;
        let doc = serde_json::json!({"apiVersion": r.api_version, "kind": r.kind, "metadata": {"name": r.name}});
        println!("{} deleted", display_name(&doc));
    }
    Ok(ExitCode::SUCCESS)
}

/// A cluster-scoped read a namespace admin may not make: forbidden means "not ours to touch".
fn readable(got: Result<Option<Value>, ClusterError>) -> Result<Option<Value>, ClusterError> {
    match got {
        Err(ClusterError::Rejected { code: 403, .. }) => Ok(None),
        other => other,
    }
}

async fn count_graphs(applier: &Applier) -> Result<usize, Error> {
    list_graphs(applier, None).await
}

async fn count_graphs_in(applier: &Applier, namespace: &str) -> Result<usize, Error> {
    list_graphs(applier, Some(namespace)).await
}

async fn list_graphs(applier: &Applier, namespace: Option<&str>) -> Result<usize, Error> {
    use crate::api::DynamoGraphDeployment;
    use kube::api::{Api, ListParams};
    let probe = ObjectRef {
        api_version: crate::api::consts::API_VERSION.into(),
        kind: "DynamoGraphDeployment".into(),
        namespace: None,
        name: String::new(),
    };
    if applier.resolver.resolve(&probe).is_none() {
        return Ok(0);
    }
    let client = applier.resolver.client().clone();
    let api: Api<DynamoGraphDeployment> = match namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    let params = ListParams::default();
    let list = crate::cluster::retry(|| api.list(&params))
        .await
        .map_err(|e| {
            ClusterError::from_kube("list DynamoGraphDeployments", applier.resolver.server(), e)
        })?;
    Ok(list.items.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forbidden_crd_write_explains_cluster_admin_and_skip_crds() {
        let e = crd_error(ClusterError::Rejected {
            object: "CustomResourceDefinition dynamographdeployments.nvidia.com".into(),
            code: 403,
            message: "forbidden".into(),
        });
        let text = e.to_string();
        assert!(text.contains("needs cluster-admin rights"), "{text}");
        assert!(text.contains("--skip-crds"), "{text}");
        assert_eq!(e.exit_code(), 3);
    }
}
