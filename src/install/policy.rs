//! The replica policy: a ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, CEL run by
//! the API server itself, no webhook and no certificates) that keeps the replicas of a service
//! with a scaling adapter for the adapter controller and the planner. Upstream enforces the
//! same rule in its validating webhook (`CanModifyDGDReplicas`).
//!
//! While a service has `scalingAdapter.enabled: true` (before or after the update), its
//! `replicas` may change only by a ServiceAccount that may update adapter status in the
//! graph's namespace (the operator, whichever install mode runs it), or by the graph
//! namespace's `planner-serviceaccount`. Identifying the operator by that permission rather
//! than by name makes one policy right for every install: cluster-wide, namespace-scoped and
//! both at once (hybrid).
//!
//! Each install has its own policy and binding, the same rule under two names (a cluster-scoped
//! object cannot belong to two Helm releases): a cluster-wide install's
//! `dynamo-graph-replicas` is bound everywhere, a namespace-scoped install's
//! `dynamo-graph-replicas-<namespace>` only in its own namespace. In hybrid mode both apply
//! to the namespace-scoped operator's namespace, and agree.

use serde_json::{Value, json};

use crate::api::consts::{GROUP, PLANNER_SERVICE_ACCOUNT, VERSION};
use crate::api::scaling_adapter::PLURAL;

/// Name of a cluster-wide install's policy and binding.
pub const POLICY_NAME: &str = "dynamo-graph-replicas";

/// The API version of the policy and its binding.
pub const API_VERSION: &str = "admissionregistration.k8s.io/v1";

/// The name of the policy and binding of an install: namespace-scoped in `Some(namespace)`,
/// or cluster-wide.
pub fn name(namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("{POLICY_NAME}-{ns}"),
        None => POLICY_NAME.to_string(),
    }
}

/// The services whose replicas an update changes while an adapter owns them (in the old or
/// the new object). A service without `replicas` has the API's default, 1.
const CHANGED: &str = "!has(object.spec.services) || !has(oldObject.spec.services) ? [] : \
object.spec.services.filter(n, n in oldObject.spec.services && (\
(has(object.spec.services[n].scalingAdapter) && has(object.spec.services[n].scalingAdapter.enabled) && object.spec.services[n].scalingAdapter.enabled) || \
(has(oldObject.spec.services[n].scalingAdapter) && has(oldObject.spec.services[n].scalingAdapter.enabled) && oldObject.spec.services[n].scalingAdapter.enabled)) && \
(has(object.spec.services[n].replicas) ? object.spec.services[n].replicas : 1) != \
(has(oldObject.spec.services[n].replicas) ? oldObject.spec.services[n].replicas : 1))";

/// The ValidatingAdmissionPolicy of an install (see [`name`]).
pub fn replica_policy(labels: &Value, namespace: Option<&str>) -> Value {
    let trusted = format!(
        "request.userInfo.username == 'system:serviceaccount:' + request.namespace + ':{PLANNER_SERVICE_ACCOUNT}' || \
         (request.userInfo.username.startsWith('system:serviceaccount:') && \
         authorizer.group('{GROUP}').resource('{PLURAL}').subresource('status').namespace(request.namespace).check('update').allowed())"
    );
    json!({
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": { "name": name(namespace), "labels": labels },
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                // Requests in any served version are converted to v1alpha1 for the check.
                "matchPolicy": "Equivalent",
                "resourceRules": [{
                    "apiGroups": [GROUP],
                    "apiVersions": [VERSION],
                    "operations": ["UPDATE"],
                    "resources": ["dynamographdeployments"],
                }],
            },
            "variables": [
                { "name": "changed", "expression": CHANGED },
                { "name": "trusted", "expression": trusted },
            ],
            "validations": [{
                "expression": "size(variables.changed) == 0 || variables.trusted",
                // Version-neutral wording: a v1beta1 request is judged as v1alpha1, whose path
                // (spec.services.X) the user did not write.
                "messageExpression": "'the replicas of service ' + variables.changed[0] + ' cannot be changed directly while it has a scaling adapter; scale its DynamoGraphDeploymentScalingAdapter instead (kubectl scale dgdsa/' + object.metadata.name + '-' + variables.changed[0].lowerAscii() + ' --replicas=N)'",
                "reason": "Forbidden",
            }],
        },
    })
}

/// The binding of an install's policy: everywhere (`namespace` = `None`, a cluster-wide
/// install) or only in one namespace (a namespace-scoped install).
pub fn replica_binding(labels: &Value, namespace: Option<&str>) -> Value {
    let mut spec = json!({
        "policyName": name(namespace),
        "validationActions": ["Deny"],
    });
    if let Some(ns) = namespace {
        spec["matchResources"] = json!({
            "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": ns } },
        });
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": { "name": name(namespace), "labels": labels },
        "spec": spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_two_scopes() {
        let labels = json!({"app.kubernetes.io/name": "dynamo-operator"});
        let policy = replica_policy(&labels, None);
        assert_eq!(policy["metadata"]["name"], POLICY_NAME);
        assert_eq!(
            replica_policy(&labels, Some("team-b"))["spec"],
            policy["spec"],
            "the same rule"
        );
        assert_eq!(
            policy["spec"]["matchConstraints"]["resourceRules"][0]["operations"],
            json!(["UPDATE"])
        );
        assert!(
            policy["spec"]["variables"][1]["expression"]
                .as_str()
                .unwrap()
                .contains("':planner-serviceaccount'")
        );
        let everywhere = replica_binding(&labels, None);
        assert_eq!(everywhere["metadata"]["name"], POLICY_NAME);
        assert!(everywhere["spec"].get("matchResources").is_none());
        let scoped = replica_binding(&labels, Some("team-b"));
        assert_eq!(scoped["metadata"]["name"], "dynamo-graph-replicas-team-b");
        assert_eq!(
            scoped["spec"]["matchResources"]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            "team-b"
        );
        assert_eq!(scoped["spec"]["policyName"], "dynamo-graph-replicas-team-b");
    }
}
