//! `dynamoctl leases`: every namespace-scope marker and every Dynamo leader-election Lease, with
//! who holds it and whether it is live. Only reads. Liveness is judged by the Leases' own
//! timestamps (`renewTime + leaseDurationSeconds`), the rule a cluster-wide operator uses to
//! exclude namespaces, so EXCLUDED says what it does right now.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde::Serialize;

use super::clock::now;
use super::cluster_args::ClusterArgs;
use crate::api::consts::NAMESPACE_SCOPE_LEASE;
use crate::cluster::leases::LEADER_ELECTION_LEASE;
use crate::cluster::{ClusterError, connect};
use crate::controller::marker::{HOLDER_PREFIX, lease_expiry, lease_instance};
use crate::error::Error;
use crate::status::age;

/// Output of `leases`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LeasesFormat {
    /// Columns.
    #[default]
    Table,
    /// One JSON object per Lease, in a list.
    Json,
    /// The same as YAML.
    Yaml,
}

/// Arguments of `dynamoctl leases`.
#[derive(Debug, Args)]
pub struct LeasesArgs {
    /// Connection flags.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Leases of every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = LeasesFormat::Table)]
    pub output: LeasesFormat,
}

/// What a Lease is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LeaseKind {
    /// A namespace-scoped operator's marker (`dynamo-operator-namespace-scope`).
    Marker,
    /// A leader-election Lease (`dynamo.nvidia.com`).
    LeaderElection,
}

/// One Lease as `dynamoctl leases` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseRow {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// Marker or leader election.
    pub kind: LeaseKind,
    /// `spec.holderIdentity`.
    pub holder: Option<String>,
    /// The holder's instance annotation (markers written by dynamoctl).
    pub instance: Option<String>,
    /// The operator version in a marker's holder identity.
    pub operator_version: Option<String>,
    /// `spec.acquireTime`.
    pub acquire_time: Option<Timestamp>,
    /// `spec.renewTime`.
    pub renew_time: Option<Timestamp>,
    /// `spec.leaseDurationSeconds`.
    pub lease_duration_seconds: Option<i32>,
    /// `spec.leaseTransitions`.
    pub lease_transitions: Option<i32>,
    /// renewTime + leaseDurationSeconds (none without a holder).
    pub expires_at: Option<Timestamp>,
    /// Whether the holder's claim is valid now.
    pub active: bool,
    /// Markers only: whether a cluster-wide operator excludes this namespace (the marker is
    /// live).
    pub excluded: Option<bool>,
}

/// Rows for `leases` (markers and leader-election Leases, any order) as of `now`, sorted by
/// namespace, then markers before leader Leases.
pub fn rows(leases: &[Lease], now: Timestamp) -> Vec<LeaseRow> {
    let mut rows: Vec<LeaseRow> = leases
        .iter()
        .map(|l| {
            let name = l.name_any();
            let kind = if name == NAMESPACE_SCOPE_LEASE {
                LeaseKind::Marker
            } else {
                LeaseKind::LeaderElection
            };
            let spec = l.spec.clone().unwrap_or_default();
            let holder = spec.holder_identity.filter(|h| !h.is_empty());
            let expires_at = lease_expiry(l);
            let active = expires_at.is_some_and(|e| now < e);
            LeaseRow {
                namespace: l.namespace().unwrap_or_default(),
                name,
                kind,
                operator_version: holder
                    .as_deref()
                    .and_then(|h| h.strip_prefix(HOLDER_PREFIX))
                    .map(str::to_string),
                holder,
                instance: lease_instance(l).map(str::to_string),
                acquire_time: spec.acquire_time.map(|t| t.0),
                renew_time: spec.renew_time.map(|t| t.0),
                lease_duration_seconds: spec.lease_duration_seconds,
                lease_transitions: spec.lease_transitions,
                expires_at,
                active,
                excluded: (kind == LeaseKind::Marker).then_some(active),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (&a.namespace, a.kind == LeaseKind::LeaderElection, &a.name).cmp(&(
            &b.namespace,
            b.kind == LeaseKind::LeaderElection,
            &b.name,
        ))
    });
    rows
}

/// The table: NAMESPACE NAME HOLDER VERSION RENEWED EXPIRES STATE EXCLUDED, as `kubectl get`
/// lays columns out. RENEWED is the age of renewTime; EXPIRES is `in 25s` or `12s ago`;
/// EXCLUDED is `-` for leader-election Leases.
pub fn table(rows: &[LeaseRow], now: Timestamp) -> String {
    let now = Time(now);
    let header = [
        "NAMESPACE",
        "NAME",
        "HOLDER",
        "VERSION",
        "RENEWED",
        "EXPIRES",
        "STATE",
        "EXCLUDED",
    ];
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let renewed = r
                .renew_time
                .map_or_else(|| "<never>".to_string(), |t| age(&Time(t), &now));
            let expires = match r.expires_at {
                None => "-".to_string(),
                Some(e) if r.active => format!("in {}", age(&now, &Time(e))),
                Some(e) => format!("{} ago", age(&Time(e), &now)),
            };
            vec![
                r.namespace.clone(),
                r.name.clone(),
                r.holder.clone().unwrap_or_else(|| "<none>".into()),
                r.operator_version.clone().unwrap_or_else(|| "-".into()),
                renewed,
                expires,
                if r.active { "active" } else { "expired" }.to_string(),
                match r.excluded {
                    None => "-",
                    Some(true) => "yes",
                    Some(false) => "no",
                }
                .to_string(),
            ]
        })
        .collect();
    crate::table::kubectl_table(&header, lines)
}

/// Lists the Leases named `name`, in `namespace` or (None) everywhere, by field selector.
async fn list_named(
    client: &Client,
    namespace: Option<&str>,
    name: &str,
) -> Result<Vec<Lease>, kube::Error> {
    let api: Api<Lease> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let params = ListParams::default().fields(&format!("metadata.name={name}"));
    Ok(api.list(&params).await?.items)
}

/// Prints the Leases.
pub async fn run(args: LeasesArgs) -> Result<ExitCode, Error> {
    let (client, namespace, server) = connect(&args.cluster.options("leases")).await?;
    let scope = (!args.all_namespaces).then_some(namespace.as_str());
    let mut leases = Vec::new();
    for name in [NAMESPACE_SCOPE_LEASE, LEADER_ELECTION_LEASE] {
        leases.extend(list_named(&client, scope, name).await.map_err(|e| {
            Error::Cluster(ClusterError::from_kube(
                &format!("list Leases named {name}"),
                &server,
                e,
            ))
        })?);
    }
    let now = now().0;
    let rows = rows(&leases, now);
    let text = match args.output {
        LeasesFormat::Json => serde_json::to_string_pretty(&rows).expect("JSON") + "\n",
        LeasesFormat::Yaml => crate::yaml::to_string(&rows).map_err(Error::Io)?,
        LeasesFormat::Table if rows.is_empty() => {
            let scope = match scope {
                Some(ns) => format!("namespace {ns}"),
                None => "any namespace".to_string(),
            };
            format!("No Dynamo operator Leases found in {scope}.\n")
        }
        LeasesFormat::Table => table(&rows, now),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::marker::INSTANCE_ANNOTATION;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    use kube::api::ObjectMeta;

    fn lease(ns: &str, name: &str, holder: Option<&str>, renew: Option<&str>, secs: i32) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(ns.into()),
                annotations: (name == NAMESPACE_SCOPE_LEASE).then(|| {
                    [(
                        INSTANCE_ANNOTATION.to_string(),
                        format!("op-{ns}-0-1a2b3c4d"),
                    )]
                    .into()
                }),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_string),
                renew_time: renew.map(|r| MicroTime(r.parse().unwrap())),
                acquire_time: renew.map(|r| MicroTime(r.parse().unwrap())),
                lease_duration_seconds: Some(secs),
                ..Default::default()
            }),
        }
    }

    fn sample() -> Vec<Lease> {
        vec![
            lease(
                "team-b",
                NAMESPACE_SCOPE_LEASE,
                Some("namespace-restricted-operator-v2.0.0-beta"),
                Some("2026-01-01T00:00:50Z"),
                30,
            ),
            lease(
                "kube-system",
                LEADER_ELECTION_LEASE,
                Some("dynamo-7f9c-x2"),
                Some("2026-01-01T00:00:58Z"),
                15,
            ),
            lease(
                "team-a",
                NAMESPACE_SCOPE_LEASE,
                Some("namespace-restricted-operator-v1.0.0"),
                Some("2026-01-01T00:00:00Z"),
                30,
            ),
            lease(
                "team-b",
                LEADER_ELECTION_LEASE,
                None,
                Some("2026-01-01T00:00:40Z"),
                1,
            ),
            lease(
                "team-c",
                NAMESPACE_SCOPE_LEASE,
                Some("namespace-restricted-operator-v1.1.0"),
                None,
                30,
            ),
        ]
    }

    #[test]
    fn table_of_markers_and_leader_leases() {
        let now: Timestamp = "2026-01-01T00:01:00Z".parse().unwrap();
        assert_eq!(
            table(&rows(&sample(), now), now),
            "NAMESPACE     NAME                              HOLDER                                      VERSION       RENEWED   EXPIRES   STATE     EXCLUDED\n\
             kube-system   dynamo.nvidia.com                 dynamo-7f9c-x2                              -             2s        in 13s    active    -\n\
             team-a        dynamo-operator-namespace-scope   namespace-restricted-operator-v1.0.0        v1.0.0        60s       30s ago   expired   no\n\
             team-b        dynamo-operator-namespace-scope   namespace-restricted-operator-v2.0.0-beta   v2.0.0-beta   10s       in 20s    active    yes\n\
             team-b        dynamo.nvidia.com                 <none>                                      -             20s       -         expired   -\n\
             team-c        dynamo-operator-namespace-scope   namespace-restricted-operator-v1.1.0        v1.1.0        <never>   -         expired   no\n"
        );
    }

    #[test]
    fn rows_carry_expiry_and_exclusion() {
        let now: Timestamp = "2026-01-01T00:01:00Z".parse().unwrap();
        let rows = rows(&sample(), now);
        let team_b = &rows[2];
        assert_eq!(team_b.kind, LeaseKind::Marker);
        assert_eq!(team_b.instance.as_deref(), Some("op-team-b-0-1a2b3c4d"));
        assert_eq!(
            team_b.expires_at,
            Some("2026-01-01T00:01:20Z".parse().unwrap())
        );
        assert_eq!(team_b.excluded, Some(true));
        assert_eq!(rows[0].excluded, None);
        // Expiry is exclusive: at renewTime + duration the marker no longer counts.
        let at_expiry: Timestamp = "2026-01-01T00:01:20Z".parse().unwrap();
        assert!(!super::rows(&sample(), at_expiry)[2].active);
        let json = serde_json::to_value(team_b).unwrap();
        assert_eq!(json["kind"], "marker");
        assert_eq!(json["operatorVersion"], "v2.0.0-beta");
    }
}
