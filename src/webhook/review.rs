//! The `apiextensions.k8s.io/v1` `ConversionReview` exchange, as a pure function: the request
//! body the API server POSTs in, the response body out. Every object goes through
//! [`crate::api::convert::convert_value`], the code `dynamoctl convert` runs.

use serde_json::{Value, json};

use crate::api::convert::{V1ALPHA1, V1BETA1, convert_value, is_convertible_kind};

/// `apiVersion` of the review both ways.
pub const REVIEW_API_VERSION: &str = "apiextensions.k8s.io/v1";

/// The response body for a request body. A request that cannot be read at all (not JSON, not
/// a `ConversionReview`) is an error for the HTTP layer to answer with 400; everything else,
/// including objects that do not convert, gets a review whose `result` says `Failure` with a
/// message naming the object and the field, which the API server passes on to its client.
pub fn respond(body: &[u8]) -> Result<Value, String> {
    let review: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    if review.get("kind").and_then(Value::as_str) != Some("ConversionReview")
        || review.get("apiVersion").and_then(Value::as_str) != Some(REVIEW_API_VERSION)
    {
        return Err(format!(
            "expected a {REVIEW_API_VERSION} ConversionReview, got apiVersion {} kind {}",
            review.get("apiVersion").unwrap_or(&Value::Null),
            review.get("kind").unwrap_or(&Value::Null)
        ));
    }
    let request = review
        .get("request")
        .ok_or("the ConversionReview has no request")?;
    let uid = request.get("uid").cloned().unwrap_or(Value::Null);
    let response = match convert_all(request) {
        Ok(objects) => json!({
            "uid": uid,
            "convertedObjects": objects,
            "result": { "status": "Success" },
        }),
        Err(message) => json!({
            "uid": uid,
            "convertedObjects": [],
            "result": { "status": "Failure", "message": message },
        }),
    };
    Ok(json!({
        "apiVersion": REVIEW_API_VERSION,
        "kind": "ConversionReview",
        "response": response,
    }))
}

fn convert_all(request: &Value) -> Result<Vec<Value>, String> {
    let desired = request
        .get("desiredAPIVersion")
        .and_then(Value::as_str)
        .ok_or("request.desiredAPIVersion is missing")?;
    if ![V1ALPHA1, V1BETA1].contains(&desired) {
        return Err(format!(
            "cannot convert to {desired}: this webhook converts between {V1ALPHA1} and {V1BETA1}"
        ));
    }
    let objects = request
        .get("objects")
        .and_then(Value::as_array)
        .ok_or("request.objects is missing or not a list")?;
    objects
        .iter()
        .enumerate()
        .map(|(i, object)| convert_one(object, desired).map_err(|e| format!("objects[{i}]: {e}")))
        .collect()
}

fn convert_one(object: &Value, desired: &str) -> Result<Value, String> {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    let from = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .map(|ns| format!("{ns}/"))
        .unwrap_or_default()
        + object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
    // `convert_value` passes unknown kinds and versions through; the API server asked for a
    // conversion, so anything it cannot do is a failure, never a silent copy.
    if !is_convertible_kind(kind) || ![V1ALPHA1, V1BETA1].contains(&from) {
        return Err(format!(
            "{from} {kind} {name}: only {V1ALPHA1} and {V1BETA1} DynamoGraphDeployment and DynamoComponentDeployment convert"
        ));
    }
    convert_value(object, desired).map_err(|e| format!("{from} {kind} {name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(desired: &str, objects: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "apiVersion": REVIEW_API_VERSION,
            "kind": "ConversionReview",
            "request": { "uid": "u-1", "desiredAPIVersion": desired, "objects": objects },
        }))
        .unwrap()
    }

    fn graph() -> Value {
        json!({
            "apiVersion": V1ALPHA1, "kind": "DynamoGraphDeployment",
            "metadata": { "name": "g", "namespace": "ns", "uid": "x", "resourceVersion": "7" },
            "spec": { "backendFramework": "vllm", "services": {
                "Frontend": { "componentType": "frontend", "replicas": 1 } } },
            "status": { "state": "successful" }
        })
    }

    #[test]
    fn converts_every_object_and_keeps_the_uid_and_metadata() {
        let out = respond(&review(V1BETA1, json!([graph(), graph()]))).unwrap();
        let response = &out["response"];
        assert_eq!(response["uid"], "u-1");
        assert_eq!(response["result"]["status"], "Success");
        let objects = response["convertedObjects"].as_array().unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0]["apiVersion"], V1BETA1);
        assert_eq!(objects[0]["metadata"]["uid"], "x");
        assert_eq!(objects[0]["metadata"]["resourceVersion"], "7");
        assert_eq!(objects[0]["spec"]["components"][0]["name"], "Frontend");
        assert_eq!(objects[0]["status"]["state"], "successful");
        // And back: the object it started from.
        let back = respond(&review(V1ALPHA1, json!([objects[0].clone()]))).unwrap();
        assert_eq!(back["response"]["convertedObjects"][0], graph());
    }

    #[test]
    fn bad_objects_fail_the_review_with_a_message() {
        let mut bad = graph();
        bad["spec"]["services"] = json!("not a map");
        let out = respond(&review(V1BETA1, json!([graph(), bad]))).unwrap();
        let result = &out["response"]["result"];
        assert_eq!(result["status"], "Failure");
        let message = result["message"].as_str().unwrap();
        assert!(
            message.starts_with("objects[1]: nvidia.com/v1alpha1 DynamoGraphDeployment ns/g:"),
            "{message}"
        );
        assert_eq!(out["response"]["convertedObjects"], json!([]));

        for (desired, objects, says) in [
            ("v1", json!([graph()]), "cannot convert to v1"),
            (V1BETA1, json!({}), "request.objects"),
            (
                V1BETA1,
                json!([{"apiVersion": "v1", "kind": "Pod"}]),
                "only",
            ),
            (V1BETA1, json!([42]), "only"),
        ] {
            let out = respond(&review(desired, objects)).unwrap();
            assert_eq!(out["response"]["result"]["status"], "Failure");
            let message = out["response"]["result"]["message"].as_str().unwrap();
            assert!(message.contains(says), "{message}");
        }
    }

    #[test]
    fn unreadable_requests_are_errors() {
        assert!(respond(b"{").unwrap_err().contains("not JSON"));
        assert!(
            respond(br#"{"apiVersion":"v1","kind":"Pod"}"#)
                .unwrap_err()
                .contains("ConversionReview")
        );
        let no_request = br#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"ConversionReview"}"#;
        assert!(respond(no_request).unwrap_err().contains("no request"));
    }
}
