//! Helpers shared by kube-sim's integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use kube_sim::{Options, Simulator};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every test body runs under this bound, so a hang fails instead of stalling CI.
pub async fn bounded<F: Future<Output = T>, T>(f: F) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("test exceeded its 60s bound")
}

/// A simulator with default options.
pub async fn sim() -> Simulator {
    Simulator::start(Options::default()).await
}

/// One raw HTTP/1.1 request (Connection: close); returns status and parsed JSON body
/// (Value::Null when the body is not JSON).
pub async fn raw(
    sim: &Simulator,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let (code, _, text) = raw_text(sim, method, path, content_type, body, &[]).await;
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Raw request returning status, headers (lower-cased names) and body text.
pub async fn raw_text(
    sim: &Simulator,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, String) {
    let mut s = tokio::net::TcpStream::connect(sim.addr())
        .await
        .expect("connect");
    let body = body.unwrap_or("");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: raw-test/1.0\r\nContent-Length: {}\r\n",
        sim.addr(),
        body.len()
    );
    if let Some(ct) = content_type {
        req.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.expect("read");
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let code: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let hdrs: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let body = if hdrs
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (code, hdrs, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
