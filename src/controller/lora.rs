//! The workers' LoRA API, as upstream's operator calls it on each worker's system port:
//! `POST /v1/loras` with `{"lora_name": <modelName>, "source": {"uri": <uri>}}` loads a LoRA,
//! `DELETE /v1/loras/<modelName>` unloads it. A 2xx answer is success; anything else fails
//! with the status and (at most 64 KiB of) the body. Redirects are not followed.
//!
//! Time is bounded as upstream bounds it: 15 s per request, 30 s per batch, at most 10
//! requests at once. Uses the hyper client kube already brings in (no new dependency).

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use tokio::time::Instant;

use crate::status::model::Candidate;

/// Longest a single request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest a whole batch (every endpoint of a model) may take.
pub const BATCH_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests in flight at once.
pub const CONCURRENCY: usize = 10;
/// The most of an error response that is read.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Talks to the workers' LoRA endpoints.
#[derive(Clone, Debug)]
pub struct LoraClient {
    http: Client<HttpConnector, Full<Bytes>>,
}

impl Default for LoraClient {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(REQUEST_TIMEOUT));
        LoraClient {
            http: Client::builder(TokioExecutor::new()).build(connector),
        }
    }
}

impl LoraClient {
    /// Loads `model_name` from `uri` on every candidate; one result per candidate, in order.
    pub async fn load_all(
        &self,
        candidates: &[Candidate],
        model_name: &str,
        uri: &str,
    ) -> Vec<Result<(), String>> {
        let body = json!({ "lora_name": model_name, "source": { "uri": uri } }).to_string();
        self.batch(candidates, |address| {
            let body = body.clone();
            async move {
                self.send("POST", &format!("{address}/v1/loras"), Some(body), "load")
                    .await
            }
        })
        .await
    }

    /// Unloads `model_name` from every candidate; one result per candidate, in order.
    pub async fn unload_all(
        &self,
        candidates: &[Candidate],
        model_name: &str,
    ) -> Vec<Result<(), String>> {
        let path = format!("/v1/loras/{}", encode_path(model_name));
        self.batch(candidates, |address| {
            let url = format!("{address}{path}");
            async move { self.send("DELETE", &url, None, "unload").await }
        })
        .await
    }

    /// Runs `call` on every candidate's address, [`CONCURRENCY`] at a time; a call that
    /// cannot finish before the batch deadline fails.
    async fn batch<F, Fut>(&self, candidates: &[Candidate], call: F) -> Vec<Result<(), String>>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let deadline = Instant::now() + BATCH_TIMEOUT;
        let calls: Vec<_> = candidates
            .iter()
            .map(|c| {
                let call = call(c.address.trim_end_matches('/').to_string());
                async move {
                    let left = deadline
                        .saturating_duration_since(Instant::now())
                        .min(REQUEST_TIMEOUT);
                    match tokio::time::timeout(left, call).await {
                        Ok(result) => result,
                        Err(_) => Err(format!("no answer within {left:?}")),
                    }
                }
            })
            .collect();
        futures::stream::iter(calls)
            .buffered(CONCURRENCY)
            .collect()
            .await
    }

    async fn send(
        &self,
        method: &str,
        url: &str,
        body: Option<String>,
        what: &str,
    ) -> Result<(), String> {
        let mut request = http::Request::builder().method(method).uri(url);
        if body.is_some() {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| format!("cannot build the {what} request for {url}: {e}"))?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| format!("{what} LoRA request to {url} failed: {}", chain(&e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        match Limited::new(response.into_body(), MAX_ERROR_BODY)
            .collect()
            .await
        {
            Ok(body) => Err(format!(
                "{what} LoRA failed with status {}: {}",
                status.as_u16(),
                String::from_utf8_lossy(&body.to_bytes()).trim()
            )),
            Err(e) => Err(format!(
                "{what} LoRA failed with status {} and an unreadable response: {e}",
                status.as_u16()
            )),
        }
    }
}

/// An error and its sources on one line (hyper's own message alone says little).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// `name` as URL path segments, the way upstream builds the unload URL: `/` stays a
/// separator (`org/lora` → `/v1/loras/org/lora`), anything else outside the unreserved and
/// path-safe characters is percent-encoded.
fn encode_path(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        let safe = b.is_ascii_alphanumeric() || b"-._~/$&+,:;=@".contains(&b);
        if safe {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unload_paths_keep_slashes_and_encode_the_rest() {
        assert_eq!(encode_path("my-lora-v1.0"), "my-lora-v1.0");
        assert_eq!(encode_path("org/model"), "org/model");
        assert_eq!(encode_path("a b?c#d%"), "a%20b%3Fc%23d%25");
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_fails_within_the_request_timeout() {
        // A port nothing listens on: the connection is refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let candidates = [Candidate {
            address: format!("http://127.0.0.1:{port}"),
            pod_name: "w-0".into(),
        }];
        let results = LoraClient::default()
            .load_all(&candidates, "lora", "hf://x")
            .await;
        let error = results[0].as_ref().unwrap_err();
        assert!(
            error.starts_with("load LoRA request to http://127.0.0.1:"),
            "{error}"
        );
    }
}
