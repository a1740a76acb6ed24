//! Operator presence, read from Leases: namespace-scope markers (`dynamo-operator-namespace-scope`,
//! held by namespace-scoped operators) and leader-election Leases (`dynamo.nvidia.com`, the
//! ID upstream's chart always uses).

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};

use super::ClusterError;
use crate::api::consts::NAMESPACE_SCOPE_LEASE;

/// Name of the leader-election Lease every Dynamo operator replica set holds.
pub const LEADER_ELECTION_LEASE: &str = "dynamo.nvidia.com";

/// What a Lease says about its holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseInfo {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// `spec.holderIdentity`.
    pub holder: String,
    /// `spec.renewTime`.
    pub renew_time: Option<Timestamp>,
    /// `spec.leaseDurationSeconds`.
    pub duration_seconds: Option<i32>,
}

impl LeaseInfo {
    fn from_lease(l: &Lease) -> LeaseInfo {
        let spec = l.spec.clone().unwrap_or_default();
        LeaseInfo {
            namespace: l.namespace().unwrap_or_default(),
            name: l.name_any(),
            holder: spec.holder_identity.unwrap_or_default(),
            renew_time: spec.renew_time.map(|t| t.0),
            duration_seconds: spec.lease_duration_seconds,
        }
    }

    /// When the holder's claim ends: renewTime + leaseDurationSeconds (client-go's rule).
    /// `None` when either is missing: such a Lease claims nothing.
    pub fn expires_at(&self) -> Option<Timestamp> {
        let renew = self.renew_time?;
        renew
            .checked_add(SignedDuration::from_secs(i64::from(self.duration_seconds?)))
            .ok()
    }

    /// Whether the holder's claim is still valid at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at().is_some_and(|e| now < e) && !self.holder.is_empty()
    }

    /// The operator version in a marker's holder (`namespace-restricted-operator-<version>`).
    pub fn operator_version(&self) -> Option<&str> {
        self.holder.strip_prefix("namespace-restricted-operator-")
    }
}

/// Every Lease named `name` in the cluster (a field selector: node heartbeats and other
/// Leases are never read).
pub async fn leases_named(
    client: &Client,
    server: &str,
    name: &str,
) -> Result<Vec<LeaseInfo>, ClusterError> {
    let api: Api<Lease> = Api::all(client.clone());
    let params = ListParams::default().fields(&format!("metadata.name={name}"));
    let list = super::retry(|| api.list(&params))
        .await
        .map_err(|e| ClusterError::from_kube(&format!("list Leases named {name}"), server, e))?;
    let mut out: Vec<LeaseInfo> = list.items.iter().map(LeaseInfo::from_lease).collect();
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(out)
}

/// Which operators are present, as seen at one moment.
#[derive(Clone, Debug, Default)]
pub struct Operators {
    /// Namespace-scope markers.
    pub markers: Vec<LeaseInfo>,
    /// Leader-election Leases.
    pub leaders: Vec<LeaseInfo>,
    /// The namespaces this view is limited to, when Leases could not be listed cluster-wide;
    /// `None`: the whole cluster was seen.
    pub only: Option<Vec<String>>,
}

impl Operators {
    /// Reads both kinds of Lease across the cluster.
    pub async fn load(client: &Client, server: &str) -> Result<Operators, ClusterError> {
        Ok(Operators {
            markers: leases_named(client, server, NAMESPACE_SCOPE_LEASE).await?,
            leaders: leases_named(client, server, LEADER_ELECTION_LEASE).await?,
            only: None,
        })
    }

    /// Like [`Operators::load`], but a user who may not list Leases cluster-wide (a tenant
    /// whose rights end at their namespace) gets the Leases in `namespaces` instead, and a
    /// view that knows it is partial.
    pub async fn load_within(
        client: &Client,
        server: &str,
        namespaces: &[String],
    ) -> Result<Operators, ClusterError> {
        match Operators::load(client, server).await {
            Err(ClusterError::Rejected { code: 403, .. }) => {}
            other => return other,
        }
        let mut view = Operators {
            only: Some(namespaces.to_vec()),
            ..Operators::default()
        };
        for ns in namespaces {
            let api: Api<Lease> = Api::namespaced(client.clone(), ns);
            for (name, into) in [
                (NAMESPACE_SCOPE_LEASE, &mut view.markers),
                (LEADER_ELECTION_LEASE, &mut view.leaders),
            ] {
                let lease = super::retry(|| api.get_opt(name)).await.map_err(|e| {
                    ClusterError::from_kube(&format!("get Lease {ns}/{name}"), server, e)
                })?;
                into.extend(lease.as_ref().map(LeaseInfo::from_lease));
            }
        }
        Ok(view)
    }

    /// The live marker of `namespace`, if a namespace-scoped operator holds one.
    pub fn marker(&self, namespace: &str, now: Timestamp) -> Option<&LeaseInfo> {
        self.markers
            .iter()
            .find(|m| m.namespace == namespace && m.is_live(now))
    }

    /// Whether a cluster-wide operator is live: a live leader-election Lease in a namespace
    /// that has no marker (a namespace-scoped operator elects its leader in its own namespace).
    pub fn cluster_wide_live(&self, now: Timestamp) -> bool {
        self.leaders
            .iter()
            .any(|l| l.is_live(now) && !self.markers.iter().any(|m| m.namespace == l.namespace))
    }

    /// Who manages graphs in `namespace`, for people.
    pub fn managed_by(&self, namespace: &str, now: Timestamp) -> String {
        if let Some(m) = self.marker(namespace, now) {
            return format!(
                "namespace-scoped operator {}",
                m.operator_version().unwrap_or(&m.holder)
            );
        }
        if self.cluster_wide_live(now) {
            "cluster-wide operator".into()
        } else if self.only.is_some() {
            // A cluster-wide operator elsewhere cannot be seen without listing Leases.
            "unknown (Leases cannot be listed cluster-wide)".into()
        } else {
            "none".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(ns: &str, name: &str, holder: &str, renew: &str, secs: i32) -> LeaseInfo {
        LeaseInfo {
            namespace: ns.into(),
            name: name.into(),
            holder: holder.into(),
            renew_time: Some(renew.parse().unwrap()),
            duration_seconds: Some(secs),
        }
    }

    #[test]
    fn expiry_is_renew_plus_duration() {
        let l = lease(
            "a",
            NAMESPACE_SCOPE_LEASE,
            "namespace-restricted-operator-v2",
            "2026-01-01T00:00:00Z",
            30,
        );
        assert!(l.is_live("2026-01-01T00:00:29Z".parse().unwrap()));
        assert!(!l.is_live("2026-01-01T00:00:30Z".parse().unwrap()));
        let never_renewed = LeaseInfo {
            renew_time: None,
            ..l.clone()
        };
        assert!(!never_renewed.is_live("2026-01-01T00:00:01Z".parse().unwrap()));
        assert_eq!(l.operator_version(), Some("v2"));
    }

    #[test]
    fn managed_by_prefers_the_namespace_marker() {
        let now: Timestamp = "2026-01-01T00:00:10Z".parse().unwrap();
        let ops = Operators {
            markers: vec![lease(
                "team-b",
                NAMESPACE_SCOPE_LEASE,
                "namespace-restricted-operator-v2",
                "2026-01-01T00:00:00Z",
                30,
            )],
            leaders: vec![
                lease(
                    "kube-system",
                    LEADER_ELECTION_LEASE,
                    "pod-1",
                    "2026-01-01T00:00:05Z",
                    15,
                ),
                lease(
                    "team-b",
                    LEADER_ELECTION_LEASE,
                    "pod-2",
                    "2026-01-01T00:00:05Z",
                    15,
                ),
            ],
            only: None,
        };
        assert_eq!(
            ops.managed_by("team-b", now),
            "namespace-scoped operator v2"
        );
        assert_eq!(ops.managed_by("team-a", now), "cluster-wide operator");
        let later: Timestamp = "2026-01-01T00:01:00Z".parse().unwrap();
        assert_eq!(ops.managed_by("team-a", later), "none");
    }

    #[test]
    fn a_partial_view_never_claims_nobody_manages_a_namespace() {
        let now: Timestamp = "2026-01-01T00:00:10Z".parse().unwrap();
        let marker = lease(
            "team-b",
            NAMESPACE_SCOPE_LEASE,
            "namespace-restricted-operator-v2",
            "2026-01-01T00:00:00Z",
            30,
        );
        let ops = Operators {
            markers: vec![marker],
            leaders: vec![],
            only: Some(vec!["team-a".into(), "team-b".into()]),
        };
        assert_eq!(
            ops.managed_by("team-b", now),
            "namespace-scoped operator v2"
        );
        assert_eq!(
            ops.managed_by("team-a", now),
            "unknown (Leases cannot be listed cluster-wide)"
        );
    }
}
