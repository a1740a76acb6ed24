//! `metav1.Status` error bodies, shaped exactly like the real API server's.
//!
//! Clients parse these: kube turns them into `kube::Error::Api(ErrorResponse)`,
//! kubectl prints `message` (and for apply conflicts, its own remedies after it),
//! so the `reason`/`code`/`details` fields must carry the same values as upstream.

use serde_json::{Value, json};

/// An API error: an HTTP code plus the `Status` body the server returns with it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code (also `.code` in the body).
    pub code: u16,
    /// The full `kind: Status` body.
    pub body: Value,
    /// Seconds for a `Retry-After` header (429/503 injected faults).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// Builds a failure Status with the given code, reason, message and details.
    pub fn new(
        code: u16,
        reason: &str,
        message: impl Into<String>,
        details: Option<Value>,
    ) -> Self {
        let mut body = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message.into(),
            "reason": reason,
            "code": code,
        });
        if let Some(d) = details {
            body["details"] = d;
        }
        ApiError {
            code,
            body,
            retry_after: None,
        }
    }

    /// The `message` field of the body.
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
}

/// `details` for an object error: `{name, group?, kind}` where `kind` is the
/// plural resource name, as the server's `qualifiedResource` rendering does.
fn details(group: &str, resource: &str, name: &str) -> Value {
    let mut d = json!({ "name": name, "kind": resource });
    if !group.is_empty() {
        d["group"] = json!(group);
    }
    d
}

/// `deployments.apps` or `configmaps`: how the server names a resource in messages.
pub fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

/// 404 for a missing object: `configmaps "x" not found`.
pub fn not_found(group: &str, resource: &str, name: &str) -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        format!("{} \"{name}\" not found", qualified(group, resource)),
        Some(details(group, resource, name)),
    )
}

/// 404 for a path that names no served resource.
pub fn no_such_resource() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

/// 409 when creating an object that exists.
pub fn already_exists(group: &str, resource: &str, name: &str) -> ApiError {
    ApiError::new(
        409,
        "AlreadyExists",
        format!("{} \"{name}\" already exists", qualified(group, resource)),
        Some(details(group, resource, name)),
    )
}

/// 409 for an update with a stale `metadata.resourceVersion`.
pub fn conflict_stale(group: &str, resource: &str, name: &str) -> ApiError {
    ApiError::new(
        409,
        "Conflict",
        format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            qualified(group, resource)
        ),
        Some(details(group, resource, name)),
    )
}

/// 409 for a precondition (uid / resourceVersion) failure on delete.
pub fn conflict_precondition(group: &str, resource: &str, name: &str, what: &str) -> ApiError {
    ApiError::new(
        409,
        "Conflict",
        format!(
            "Operation cannot be fulfilled on {} \"{name}\": {what}",
            qualified(group, resource)
        ),
        Some(details(group, resource, name)),
    )
}

/// 422 Invalid with one field cause, e.g. a bad `metadata.name`.
pub fn invalid(group: &str, kind: &str, name: &str, field: &str, cause: &str) -> ApiError {
    let mut d = json!({
        "name": name,
        "kind": kind,
        "causes": [{ "reason": "FieldValueInvalid", "message": cause, "field": field }],
    });
    if !group.is_empty() {
        d["group"] = json!(group);
    }
    let display = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    ApiError::new(
        422,
        "Invalid",
        format!("{display} \"{name}\" is invalid: {field}: {cause}"),
        Some(d),
    )
}

/// 400 BadRequest with a free-form message.
pub fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "BadRequest", message, None)
}

/// 405 for a verb the resource does not support.
pub fn method_not_allowed(message: impl Into<String>) -> ApiError {
    ApiError::new(405, "MethodNotAllowed", message, Some(json!({})))
}

/// 415 for a patch content type the server does not know.
pub fn unsupported_media_type(content_type: &str) -> ApiError {
    ApiError::new(
        415,
        "UnsupportedMediaType",
        format!(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type:?})"
        ),
        Some(json!({})),
    )
}

/// 410 Gone for a too-old resourceVersion (watch) or continue token (list).
pub fn expired(message: impl Into<String>) -> ApiError {
    ApiError::new(410, "Expired", message, None)
}

/// 403 Forbidden, used when creating objects in a terminating namespace.
pub fn forbidden(group: &str, resource: &str, name: &str, message: &str) -> ApiError {
    ApiError::new(
        403,
        "Forbidden",
        format!(
            "{} \"{name}\" is forbidden: {message}",
            qualified(group, resource)
        ),
        Some(details(group, resource, name)),
    )
}

/// 500 with reason InternalError (also used by fault injection).
pub fn internal(message: impl Into<String>) -> ApiError {
    let m: String = message.into();
    ApiError::new(
        500,
        "InternalError",
        format!("Internal error occurred: {m}"),
        Some(json!({ "causes": [{ "message": m }] })),
    )
}

/// 503 ServiceUnavailable with a Retry-After.
pub fn unavailable(retry_after: u64) -> ApiError {
    let mut e = ApiError::new(
        503,
        "ServiceUnavailable",
        "the server is currently unable to handle the request",
        Some(json!({ "retryAfterSeconds": retry_after })),
    );
    e.retry_after = Some(retry_after);
    e
}

/// 429 TooManyRequests with a Retry-After, as API Priority and Fairness sends.
pub fn too_many_requests(retry_after: u64) -> ApiError {
    let mut e = ApiError::new(
        429,
        "TooManyRequests",
        "the server has received too many requests and has asked us to try again later",
        Some(json!({ "retryAfterSeconds": retry_after })),
    );
    e.retry_after = Some(retry_after);
    e
}

/// 409 for a server-side apply conflict, with one `FieldManagerConflict` cause per
/// conflicting field, and the message the real server writes (which kubectl prints).
pub fn apply_conflict(conflicts: &[(String, String)]) -> ApiError {
    // (manager display, path) pairs; manager display is already quoted/decorated.
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(m, p)| json!({ "reason": "FieldManagerConflict", "message": format!("conflict with {m}"), "field": p }))
        .collect();
    let message = if conflicts.len() == 1 {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            conflicts[0].0, conflicts[0].1
        )
    } else {
        let mut managers: Vec<&String> = conflicts.iter().map(|(m, _)| m).collect();
        managers.sort();
        managers.dedup();
        let mut lines = Vec::new();
        for m in managers {
            lines.push(format!("conflicts with {m}:"));
            for (_, p) in conflicts.iter().filter(|(mm, _)| mm == m) {
                lines.push(format!("- {p}"));
            }
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    ApiError::new(409, "Conflict", message, Some(json!({ "causes": causes })))
}

/// The success Status returned by some deletes (deletecollection, and delete of
/// an object that is gone immediately is answered with the object instead).
pub fn success(group: &str, resource: &str, name: &str, uid: &str) -> Value {
    let mut d = details(group, resource, name);
    d["uid"] = json!(uid);
    json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d })
}
