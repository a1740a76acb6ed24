//! Fault injection: error responses for a fraction of requests, added latency,
//! watch streams cut after a while, and forced 410 Gone on watches.

use std::sync::Mutex;
use std::time::Duration;

use crate::status::{self, ApiError};
use crate::util::Rng;

/// The error an injected fault answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// 500 InternalError.
    InternalError,
    /// 503 ServiceUnavailable with `Retry-After: retry_after_secs`.
    Unavailable {
        /// Seconds for Retry-After.
        retry_after_secs: u64,
    },
    /// 429 TooManyRequests with `Retry-After: retry_after_secs`.
    TooManyRequests {
        /// Seconds for Retry-After.
        retry_after_secs: u64,
    },
}

/// Answer a fraction of matching requests with an error.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// Audit verb to match (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`); None = any.
    pub verb: Option<String>,
    /// Plural resource to match (e.g. `leases`); None = any (including discovery).
    pub resource: Option<String>,
    /// Probability in [0, 1] that a matching request fails.
    pub fraction: f64,
    /// What the failure looks like.
    pub kind: FaultKind,
}

impl FaultRule {
    /// A rule failing `fraction` of all requests with `kind`.
    pub fn new(kind: FaultKind, fraction: f64) -> FaultRule {
        FaultRule {
            verb: None,
            resource: None,
            fraction,
            kind,
        }
    }

    /// Restricts the rule to one verb.
    pub fn verb(mut self, verb: &str) -> FaultRule {
        self.verb = Some(verb.to_string());
        self
    }

    /// Restricts the rule to one resource (plural name).
    pub fn resource(mut self, resource: &str) -> FaultRule {
        self.resource = Some(resource.to_string());
        self
    }
}

/// The current fault configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Error rules, checked in order.
    pub rules: Vec<FaultRule>,
    /// Latency added before every request is handled.
    pub latency: Duration,
    /// Close every watch stream this long after it starts.
    pub watch_cut_after: Option<Duration>,
    /// Answer every watch that names a resourceVersion with 410 Gone.
    pub expire_watches: bool,
}

/// Shared, mutable fault state.
#[derive(Debug)]
pub struct Faults {
    config: Mutex<FaultConfig>,
    rng: Mutex<Rng>,
}

impl Faults {
    /// No faults; `seed` makes sampling reproducible.
    pub fn new(seed: Option<u64>) -> Faults {
        Faults {
            config: Mutex::new(FaultConfig::default()),
            rng: Mutex::new(Rng::new(seed)),
        }
    }

    /// Reads the configuration.
    pub fn config(&self) -> FaultConfig {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Changes the configuration.
    pub fn update(&self, f: impl FnOnce(&mut FaultConfig)) {
        f(&mut self.config.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// The injected error for this request, if one fires.
    pub fn sample(&self, verb: &str, resource: &str) -> Option<ApiError> {
        let cfg = self.config.lock().unwrap_or_else(|e| e.into_inner());
        for r in &cfg.rules {
            if r.verb.as_deref().is_some_and(|v| v != verb)
                || r.resource.as_deref().is_some_and(|x| x != resource)
            {
                continue;
            }
            let roll = self
                .rng
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .next_f64();
            if roll < r.fraction {
                return Some(match r.kind {
                    FaultKind::InternalError => status::internal("injected fault"),
                    FaultKind::Unavailable { retry_after_secs } => {
                        status::unavailable(retry_after_secs)
                    }
                    FaultKind::TooManyRequests { retry_after_secs } => {
                        status::too_many_requests(retry_after_secs)
                    }
                });
            }
        }
        None
    }
}
