//! `dynamoctl check`: is the installation healthy? linkerd-style grouped checks (`√` ok, `‼`
//! warning, `×` failure, each failure with a hint), `-o json` in linkerd's schema, exit 1 on
//! any failure. `--pre` checks that an install can proceed instead.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, ResourceExt};
use serde::Serialize;
use serde_json::Value;

use super::clock::now;
use super::cluster_args::ClusterArgs;
use super::install::{DEFAULT_NAMESPACE, deployment_available};
use crate::api::DynamoGraphDeployment;
use crate::cluster::leases::Operators;
use crate::cluster::{ClusterError, connect, is_subset};
use crate::config::{CONFIG_MAP_KEY, CONFIG_MAP_NAME, OperatorConfiguration};
use crate::error::Error;
use crate::install::{DEPLOYMENT_NAME, NAME, POD_MONITOR_NAMES, POD_MONITORS_ANNOTATION};

/// Output of `check`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Grouped lines for people.
    #[default]
    Table,
    /// linkerd's JSON: `{success, categories: [{categoryName, checks: [...]}]}`.
    Json,
}

/// Arguments of `dynamoctl check`.
#[derive(Debug, Args)]
#[command(mut_arg("namespace", |a| a.help(super::install::NAMESPACE_HELP)))]
pub struct CheckArgs {
    /// Connection flags; `-n` is the operator's namespace (default dynamo-system).
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Before an install: check that `dynamoctl install` can proceed.
    #[arg(long)]
    pub pre: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = CheckFormat::Table)]
    pub output: CheckFormat,
}

/// The result of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// `√`
    Success,
    /// `‼`: worth a look, does not fail the run.
    Warning,
    /// `×`: fails the run.
    Error,
}

/// One check, as linkerd's JSON has it.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What was checked.
    pub description: String,
    /// What to do about a failure or warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// What went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The outcome.
    pub result: Outcome,
}

/// A group of checks.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Category {
    /// The group's name.
    pub category_name: String,
    /// Its checks, in order.
    pub checks: Vec<Check>,
}

impl Category {
    fn new(name: &str) -> Category {
        Category {
            category_name: name.into(),
            checks: Vec::new(),
        }
    }

    fn ok(&mut self, description: impl Into<String>) {
        self.push(description, Outcome::Success, None, None);
    }

    fn warn(&mut self, description: impl Into<String>, error: impl Into<String>, hint: &str) {
        self.push(
            description,
            Outcome::Warning,
            Some(error.into()),
            Some(hint),
        );
    }

    fn fail(&mut self, description: impl Into<String>, error: impl Into<String>, hint: &str) {
        self.push(description, Outcome::Error, Some(error.into()), Some(hint));
    }

    fn push(
        &mut self,
        description: impl Into<String>,
        result: Outcome,
        error: Option<String>,
        hint: Option<&str>,
    ) {
        self.checks.push(Check {
            description: description.into(),
            hint: hint.map(str::to_string),
            error,
            result,
        });
    }

    fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.result == Outcome::Error)
    }
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// No check failed.
    pub success: bool,
    /// Every group, in order.
    pub categories: Vec<Category>,
}

impl Report {
    /// linkerd's text form.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.categories {
            out.push_str(&format!(
                "{}\n{}\n",
                c.category_name,
                "-".repeat(c.category_name.chars().count())
            ));
            for check in &c.checks {
                let mark = match check.result {
                    Outcome::Success => "√",
                    Outcome::Warning => "‼",
                    Outcome::Error => "×",
                };
                out.push_str(&format!("{mark} {}\n", check.description));
                if let Some(e) = &check.error {
                    for line in e.lines() {
                        out.push_str(&format!("    {line}\n"));
                    }
                }
                if let Some(h) = &check.hint {
                    out.push_str(&format!("    hint: {h}\n"));
                }
            }
            out.push('\n');
        }
        let mark = if self.success { "√" } else { "×" };
        out.push_str(&format!("Status check results are {mark}\n"));
        out
    }
}

/// Runs the checks and prints the report.
pub async fn run(args: CheckArgs) -> Result<ExitCode, Error> {
    let namespace = args
        .cluster
        .namespace
        .clone()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.into());
    let report = checks(&args, &namespace).await;
    match args.output {
        CheckFormat::Table => print!("{}", report.text()),
        CheckFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("report serialises")
        ),
    }
    Ok(if report.success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn checks(args: &CheckArgs, namespace: &str) -> Report {
    let mut categories = Vec::new();
    let mut api = Category::new("kubernetes-api");
    let client = match connect(&args.cluster.options("check")).await {
        Ok((client, _, server)) => {
            api.ok("can initialize the client");
            match client.apiserver_version().await {
                Ok(v) => {
                    api.ok(format!(
                        "can query the Kubernetes API (v{}.{})",
                        v.major, v.minor
                    ));
                    Some((client, server))
                }
                Err(e) => {
                    api.fail(
                        "can query the Kubernetes API",
                        ClusterError::from_kube("GET /version", &server, e).to_string(),
                        "check the server address and your network (kubectl cluster-info)",
                    );
                    None
                }
            }
        }
        Err(e) => {
            api.fail(
                "can initialize the client",
                e.to_string(),
                "pass --kubeconfig, set KUBECONFIG, or check --context",
            );
            None
        }
    };
    categories.push(api);
    if let Some((client, server)) = client {
        categories.push(crds(&client, args.pre).await);
        if args.pre {
            categories.push(pre_install(&client, namespace).await);
        } else {
            categories.push(operator(&client, &server, namespace).await);
            categories.push(leases(&client, &server).await);
        }
        categories.push(rbac(&client, namespace, args.pre).await);
    }
    Report {
        success: !categories.iter().any(Category::failed),
        categories,
    }
}

/// The openAPIV3Schema of each of this binary's CRDs, by name.
fn expected_crds() -> BTreeMap<String, Value> {
    crate::install::crds()
        .into_iter()
        .map(|crd| {
            let name = crd["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (name, crd)
        })
        .collect()
}

fn schemas(crd: &Value) -> Vec<Value> {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .map(|v| {
                    serde_json::json!({
                        "name": v["name"],
                        "schema": v.pointer("/schema/openAPIV3Schema").cloned().unwrap_or(Value::Null),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn crds(client: &Client, pre: bool) -> Category {
    let mut cat = Category::new("dynamo-crds");
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let version = env!("CARGO_PKG_VERSION");
    for (name, expected) in expected_crds() {
        match api.get_opt(&name).await {
            Ok(Some(live)) => {
                let live = serde_json::to_value(&live).expect("CRD serialises");
                let (want, have) = (schemas(&expected), schemas(&live));
                let same = is_subset(&Value::Array(want.clone()), &Value::Array(have.clone()))
                    && is_subset(&Value::Array(have), &Value::Array(want));
                if same {
                    cat.ok(format!("{name} is installed and matches dynamoctl v{version}"));
                } else if pre {
                    cat.warn(
                        format!("{name} is installed"),
                        format!("its schema differs from dynamoctl v{version}'s; install will upgrade it"),
                        "run `dynamoctl install` with cluster-admin rights, or add --skip-crds to keep it",
                    );
                } else {
                    cat.fail(
                        format!("{name} matches dynamoctl v{version}"),
                        "the installed schema differs from this dynamoctl's",
                        "run `dynamoctl install` (or `helm upgrade --install dynamo-crds charts/crds`) to upgrade the CRDs",
                    );
                }
            }
            Ok(None) if pre => cat.ok(format!("{name} is not installed yet (install creates it)")),
            Ok(None) => cat.fail(
                format!("{name} is installed"),
                "not found",
                "run `dynamoctl install`, or `helm install dynamo-crds charts/crds` as cluster-admin",
            ),
            Err(e) => cat.fail(
                format!("can read CustomResourceDefinition {name}"),
                e.to_string(),
                "reading CRDs needs `get customresourcedefinitions` (cluster-scoped)",
            ),
        }
    }
    cat
}

async fn pre_install(client: &Client, namespace: &str) -> Category {
    let mut cat = Category::new("pre-install");
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    match namespaces.get_opt(namespace).await {
        Ok(Some(_)) => cat.ok(format!("namespace {namespace} exists")),
        Ok(None) => cat.ok(format!("namespace {namespace} does not exist yet (install creates it)")),
        Err(e) => cat.warn(
            format!("can read namespace {namespace}"),
            e.to_string(),
            "a namespace admin can still install with --namespace-scoped --skip-crds into an existing namespace",
        ),
    }
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    match deployments.get_opt(DEPLOYMENT_NAME).await {
        Ok(None) => cat.ok(format!("no operator installed in {namespace} yet")),
        Ok(Some(_)) => cat.warn(
            format!("no operator installed in {namespace} yet"),
            format!("Deployment {namespace}/{DEPLOYMENT_NAME} exists"),
            "install will upgrade it in place",
        ),
        Err(e) => cat.warn(
            format!("can read Deployments in {namespace}"),
            e.to_string(),
            "check your RBAC in that namespace",
        ),
    }
    cat
}

/// Arguments of the operator container, if the Deployment is ours.
fn args_of(d: &Deployment) -> Vec<String> {
    d.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|p| p.containers.first())
        .and_then(|c| c.args.clone())
        .unwrap_or_default()
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .find_map(|a| a.strip_prefix(&format!("--{name}=")).map(str::to_string))
}

/// How an operator Deployment runs: its `run controller` flags over the configuration file it
/// mounts (read from its ConfigMap). Older installs pass everything as flags.
struct Settings {
    restricted: Option<String>,
    leader_elect: bool,
    election_namespace: Option<String>,
    /// Whether it reads a configuration file (`--config`).
    configured: bool,
    /// Why its configuration cannot be read, if it cannot.
    config_problem: Option<String>,
}

async fn settings(client: &Client, d: &Deployment) -> Settings {
    let args = args_of(d);
    let namespace = d.namespace().unwrap_or_default();
    let configured = args.iter().any(|a| a.starts_with("--config"));
    let mut config = OperatorConfiguration::default();
    let mut config_problem = None;
    if configured {
        match read_config(client, &namespace).await {
            Ok(c) => config = c,
            Err(e) => config_problem = Some(e),
        }
    }
    let leader_elect = match flag(&args, "leader-elect") {
        Some(v) => v == "true",
        // `run controller` elects a leader unless told not to.
        None => config.leader_election.enabled.unwrap_or(true),
    };
    Settings {
        restricted: flag(&args, "restricted-namespace")
            .or_else(|| config.restricted_namespace().map(str::to_string)),
        leader_elect,
        election_namespace: flag(&args, "leader-election-namespace")
            .or_else(|| config.leader_election.namespace.clone()),
        configured,
        config_problem,
    }
}

/// The configuration in the operator's ConfigMap, checked as the operator checks it.
async fn read_config(client: &Client, namespace: &str) -> Result<OperatorConfiguration, String> {
    use k8s_openapi::api::core::v1::ConfigMap;
    let name = format!("ConfigMap {namespace}/{CONFIG_MAP_NAME}");
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let map = maps
        .get_opt(CONFIG_MAP_NAME)
        .await
        .map_err(|e| format!("cannot read {name}: {e}"))?
        .ok_or_else(|| format!("{name} not found"))?;
    let text = map
        .data
        .and_then(|d| d.get(CONFIG_MAP_KEY).cloned())
        .ok_or_else(|| format!("{name} has no key {CONFIG_MAP_KEY}"))?;
    crate::config::parse(&format!("{name} {CONFIG_MAP_KEY}"), &text).map_err(|problems| {
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

async fn operator(client: &Client, server: &str, namespace: &str) -> Category {
    let mut cat = Category::new("dynamo-operator");
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let d = match api.get_opt(DEPLOYMENT_NAME).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            cat.fail(
                format!("operator Deployment {namespace}/{DEPLOYMENT_NAME} exists"),
                "not found",
                "run `dynamoctl install -n NAMESPACE` (or pass -n with the operator's namespace)",
            );
            return cat;
        }
        Err(e) => {
            cat.fail(
                format!("can read Deployment {namespace}/{DEPLOYMENT_NAME}"),
                e.to_string(),
                "check your RBAC in that namespace",
            );
            return cat;
        }
    };
    let args = args_of(&d);
    let settings = settings(client, &d).await;
    let mode = match &settings.restricted {
        Some(ns) => format!("namespace-scoped to {ns}"),
        None => "cluster-wide".into(),
    };
    cat.ok(format!(
        "operator Deployment {namespace}/{DEPLOYMENT_NAME} exists ({mode})"
    ));
    if settings.configured {
        match &settings.config_problem {
            None => cat.ok(format!(
                "operator configuration {namespace}/{CONFIG_MAP_NAME} is valid"
            )),
            Some(problem) => cat.fail(
                format!("operator configuration {namespace}/{CONFIG_MAP_NAME} is valid"),
                problem.clone(),
                "the operator cannot start without it: re-run `dynamoctl install` (or `helm upgrade`) to rewrite it",
            ),
        }
    }
    let live = serde_json::to_value(&d).expect("Deployment serialises");
    if deployment_available(&live) {
        cat.ok("operator Deployment is available");
    } else {
        cat.fail(
            "operator Deployment is available",
            "no available replica at the current generation",
            &format!(
                "kubectl -n {namespace} describe deployment {DEPLOYMENT_NAME}; kubectl -n {namespace} logs deployment/{DEPLOYMENT_NAME}"
            ),
        );
    }
    holds_leases(client, server, &settings, namespace, &mut cat).await;
    let ours = format!("v{}", env!("CARGO_PKG_VERSION"));
    match flag(&args, "operator-version") {
        Some(v) if v == ours => cat.ok(format!("operator version {v} matches this dynamoctl")),
        Some(v) => cat.warn(
            "operator version matches this dynamoctl",
            format!("the operator runs {v}, this dynamoctl is {ours}"),
            "`dynamoctl install` upgrades the operator to this version",
        ),
        None => cat.warn(
            "operator version matches this dynamoctl",
            "the Deployment has no --operator-version argument",
            "was it installed by dynamoctl or the dynamo-platform chart?",
        ),
    }
    if d.annotations()
        .get(POD_MONITORS_ANNOTATION)
        .map(String::as_str)
        == Some("true")
    {
        pod_monitors(client, namespace, &mut cat).await;
    }
    cat
}

/// PodMonitors were installed: are they still there? They vanish with the Prometheus
/// Operator's API, and then nothing scrapes the graphs (a warning: graphs still serve).
async fn pod_monitors(client: &Client, namespace: &str, cat: &mut Category) {
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
    let description = "PodMonitors are installed and the Prometheus Operator's API is served";
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "monitoring.coreos.com",
        "v1",
        "PodMonitor",
    ));
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    match api.list(&ListParams::default()).await {
        Ok(list) => {
            let missing: Vec<&str> = POD_MONITOR_NAMES
                .iter()
                .copied()
                .filter(|n| !list.items.iter().any(|m| m.name_any() == *n))
                .collect();
            if missing.is_empty() {
                cat.ok(description);
            } else {
                cat.warn(
                    description,
                    format!("missing in {namespace}: {}", missing.join(", ")),
                    "re-run `dynamoctl install --pod-monitors` (or `helm upgrade`) to recreate them",
                );
            }
        }
        Err(kube::Error::Api(s)) if s.code == 404 => cat.warn(
            description,
            "PodMonitors are enabled, but the cluster does not serve monitoring.coreos.com/v1: nothing scrapes the graphs' metrics",
            "install the Prometheus Operator (e.g. kube-prometheus-stack), then re-run `dynamoctl install --pod-monitors`",
        ),
        Err(e) => cat.warn(
            description,
            e.to_string(),
            "`dynamoctl check` needs `list podmonitors` in the operator's namespace",
        ),
    }
}

/// Whether a replica of the operator runs: it holds its leader-election Lease and, when
/// namespace-scoped, its marker. A warning only: right after an install nobody holds them yet.
async fn holds_leases(
    client: &Client,
    server: &str,
    settings: &Settings,
    namespace: &str,
    cat: &mut Category,
) {
    let description = "operator holds its Leases (a replica is running)";
    let operators = match Operators::load(client, server).await {
        Ok(o) => o,
        Err(e) => {
            cat.warn(
                description,
                e.to_string(),
                "`dynamoctl check` needs `list leases`",
            );
            return;
        }
    };
    let now = now().0;
    let mut missing = Vec::new();
    if settings.leader_elect {
        let election_ns = settings
            .election_namespace
            .clone()
            .unwrap_or_else(|| namespace.to_string());
        let live = operators
            .leaders
            .iter()
            .any(|l| l.namespace == election_ns && l.is_live(now));
        if !live {
            missing.push(format!(
                "no live leader-election Lease {election_ns}/{}",
                crate::cluster::leases::LEADER_ELECTION_LEASE
            ));
        }
    }
    if let Some(ns) = &settings.restricted
        && operators.marker(ns, now).is_none()
    {
        missing.push(format!(
            "no live marker {ns}/{}",
            crate::api::consts::NAMESPACE_SCOPE_LEASE
        ));
    }
    if missing.is_empty() {
        cat.ok(description);
    } else {
        cat.warn(
            description,
            missing.join("\n"),
            &format!(
                "just installed? wait a few seconds; otherwise see `kubectl -n {namespace} logs deployment/{DEPLOYMENT_NAME}` and `dynamoctl leases -A`"
            ),
        );
    }
}

async fn leases(client: &Client, server: &str) -> Category {
    let mut cat = Category::new("dynamo-leases");
    let operators = match Operators::load(client, server).await {
        Ok(o) => o,
        Err(e) => {
            cat.fail(
                "can list Leases",
                e.to_string(),
                "`dynamoctl check` needs `list leases` in all namespaces",
            );
            return cat;
        }
    };
    let now = now().0;
    let expired: Vec<String> = operators
        .markers
        .iter()
        .filter(|m| !m.is_live(now))
        .map(|m| m.namespace.clone())
        .collect();
    if expired.is_empty() {
        cat.ok("no expired namespace-scope marker left behind");
    } else {
        cat.warn(
            "no expired namespace-scope marker left behind",
            format!("expired markers in: {}", expired.join(", ")),
            "a namespace-scoped operator stopped without cleaning up: check it, or delete the Lease dynamo-operator-namespace-scope there",
        );
    }

    // Who claims which namespace, read from the operator Deployments.
    let deployments: Api<Deployment> = Api::all(client.clone());
    let selector = format!("app.kubernetes.io/name={NAME}");
    let mut claims: BTreeMap<String, Vec<String>> = BTreeMap::new();
    match deployments
        .list(&ListParams::default().labels(&selector))
        .await
    {
        Ok(list) => {
            for d in &list.items {
                let settings = settings(client, d).await;
                let who = format!("{}/{}", d.namespace().unwrap_or_default(), d.name_any());
                match (settings.restricted, settings.election_namespace) {
                    (Some(ns), _) => claims.entry(ns).or_default().push(who),
                    // A cluster-wide operator elects its leader in its namespace: the same
                    // Lease a namespace-scoped operator there would use.
                    (None, Some(ns)) if settings.leader_elect => {
                        claims.entry(ns).or_default().push(who)
                    }
                    _ => {}
                }
            }
            let doubled: Vec<String> = claims
                .iter()
                .filter(|(_, who)| who.len() > 1)
                .map(|(ns, who)| format!("{ns}: {}", who.join(", ")))
                .collect();
            if doubled.is_empty() {
                cat.ok("no namespace claimed by two operators");
            } else {
                cat.fail(
                    "no namespace claimed by two operators",
                    doubled.join("\n"),
                    "install namespace-scoped operators in their own namespaces, not in the cluster-wide operator's",
                );
            }
        }
        Err(e) => cat.warn(
            "no namespace claimed by two operators",
            e.to_string(),
            "listing operator Deployments in all namespaces needs `list deployments`",
        ),
    }

    let graphs: Api<DynamoGraphDeployment> = Api::all(client.clone());
    match graphs.list(&ListParams::default()).await {
        Ok(list) => {
            let orphaned: BTreeSet<String> = list
                .items
                .iter()
                .filter_map(|g| g.namespace())
                .filter(|ns| operators.marker(ns, now).is_none())
                .collect();
            if orphaned.is_empty() || operators.cluster_wide_live(now) {
                cat.ok("every namespace with graphs has an operator");
            } else {
                cat.fail(
                    "every namespace with graphs has an operator",
                    format!(
                        "no live cluster-wide operator and no namespace-scoped operator for the graphs in: {}",
                        orphaned.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                    "run `dynamoctl install` (cluster-wide) or `dynamoctl install --namespace-scoped -n NAMESPACE`",
                );
            }
        }
        Err(e) => cat.warn(
            "every namespace with graphs has an operator",
            e.to_string(),
            "listing graphs in all namespaces needs `list dynamographdeployments`",
        ),
    }
    cat
}

/// What the current user needs, per command: (command, verb, group, resource, namespaced).
const NEEDS: &[(&str, &str, &str, &str, bool)] = &[
    (
        "apply",
        "patch",
        "nvidia.com",
        "dynamographdeployments",
        true,
    ),
    (
        "status",
        "list",
        "nvidia.com",
        "dynamographdeployments",
        true,
    ),
    ("status", "list", "", "events", true),
    ("leases", "list", "coordination.k8s.io", "leases", false),
];

async fn rbac(client: &Client, namespace: &str, pre: bool) -> Category {
    let mut cat = Category::new("rbac");
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let mut needs: Vec<(String, &str, &str, &str, Option<&str>)> = NEEDS
        .iter()
        .map(|(cmd, verb, group, resource, namespaced)| {
            (
                cmd.to_string(),
                *verb,
                *group,
                *resource,
                namespaced.then_some(namespace),
            )
        })
        .collect();
    if pre {
        needs.push((
            "install".into(),
            "create",
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            None,
        ));
        needs.push((
            "install".into(),
            "create",
            "apps",
            "deployments",
            Some(namespace),
        ));
        needs.push((
            "install".into(),
            "create",
            "rbac.authorization.k8s.io",
            "roles",
            Some(namespace),
        ));
    }
    for (cmd, verb, group, resource, ns) in needs {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(verb.into()),
                    group: Some(group.into()),
                    resource: Some(resource.into()),
                    namespace: ns.map(str::to_string),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let what = format!(
            "can {verb} {resource}{} (dynamoctl {cmd})",
            ns.map(|n| format!(" in {n}"))
                .unwrap_or_else(|| " in all namespaces".into())
        );
        match api.create(&PostParams::default(), &review).await {
            Ok(r) if r.status.as_ref().is_some_and(|s| s.allowed) => cat.ok(what),
            Ok(r) => cat.fail(
                what,
                r.status
                    .and_then(|s| s.reason)
                    .unwrap_or_else(|| "denied".into()),
                "ask a cluster admin for a Role granting it",
            ),
            Err(kube::Error::Api(s)) if s.code == 404 => {
                cat.checks.clear();
                cat.warn(
                    "can check the current user's permissions",
                    "the API server does not serve SelfSubjectAccessReview; permission checks skipped",
                    "try `kubectl auth can-i --list -n NAMESPACE`",
                );
                return cat;
            }
            Err(e) => {
                cat.warn(what, e.to_string(), "try `kubectl auth can-i`");
            }
        }
    }
    cat
}
