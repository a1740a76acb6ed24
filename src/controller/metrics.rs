//! The operator's Prometheus metrics: plain atomics rendered in the text exposition format
//! (no metrics library needed for a handful of counters).

use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Reconcile duration histogram buckets, in seconds.
const BUCKETS: [f64; 8] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// Every metric the operator exports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Reconciles run, by controller (graph, component).
    pub reconciles: [AtomicU64; 2],
    /// Reconciles that failed, by controller.
    pub errors: [AtomicU64; 2],
    /// Graphs currently known to the graph controller.
    pub managed_graphs: AtomicU64,
    /// Namespaces the cluster-wide operator currently leaves to a namespace-scoped operator.
    pub excluded_namespaces: AtomicU64,
    /// Writes (apply, delete, status) sent to the API server.
    pub writes: std::sync::Arc<AtomicU64>,
    durations: Mutex<Histogram>,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Which controller a measurement belongs to.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// The DynamoGraphDeployment controller.
    Graph = 0,
    /// The DynamoComponentDeployment controller.
    Component = 1,
}

impl Metrics {
    /// Records one reconcile.
    pub fn observe(&self, kind: Kind, took: Duration, failed: bool) {
        self.reconciles[kind as usize].fetch_add(1, Ordering::Relaxed);
        if failed {
            self.errors[kind as usize].fetch_add(1, Ordering::Relaxed);
        }
        let secs = took.as_secs_f64();
        let mut h = self.durations.lock().expect("metrics lock");
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP dynamoctl_reconciles_total Reconciles run.\n# TYPE dynamoctl_reconciles_total counter"
        );
        for (i, c) in ["graph", "component"].iter().enumerate() {
            let _ = writeln!(
                out,
                "dynamoctl_reconciles_total{{controller=\"{c}\"}} {}",
                get(&self.reconciles[i])
            );
        }
        let _ = writeln!(
            out,
            "# HELP dynamoctl_reconcile_errors_total Reconciles that failed.\n# TYPE dynamoctl_reconcile_errors_total counter"
        );
        for (i, c) in ["graph", "component"].iter().enumerate() {
            let _ = writeln!(
                out,
                "dynamoctl_reconcile_errors_total{{controller=\"{c}\"}} {}",
                get(&self.errors[i])
            );
        }
        let h = self.durations.lock().expect("metrics lock");
        let _ = writeln!(
            out,
            "# HELP dynamoctl_reconcile_duration_seconds Time per reconcile.\n# TYPE dynamoctl_reconcile_duration_seconds histogram"
        );
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "dynamoctl_reconcile_duration_seconds_bucket{{le=\"{le}\"}} {}",
                h.buckets[i]
            );
        }
        let _ = writeln!(
            out,
            "dynamoctl_reconcile_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(out, "dynamoctl_reconcile_duration_seconds_sum {}", h.sum);
        let _ = writeln!(
            out,
            "dynamoctl_reconcile_duration_seconds_count {}",
            h.count
        );
        for (name, help, ty, value) in [
            (
                "dynamoctl_managed_graphs",
                "Graphs this operator manages.",
                "gauge",
                get(&self.managed_graphs),
            ),
            (
                "dynamoctl_excluded_namespaces",
                "Namespaces left to a namespace-scoped operator.",
                "gauge",
                get(&self.excluded_namespaces),
            ),
            (
                "dynamoctl_lease_renew_failures_total",
                "Failed renewals of the namespace-scope marker and the leader Lease.",
                "counter",
                super::marker::RENEW_FAILURES.load(Ordering::Relaxed)
                    + super::leader::RENEW_FAILURES.load(Ordering::Relaxed),
            ),
            (
                "dynamoctl_writes_total",
                "Write requests sent to the API server.",
                "counter",
                get(&self.writes),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {ty}\n{name} {value}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::default();
        m.observe(Kind::Graph, Duration::from_millis(20), false);
        m.observe(Kind::Component, Duration::from_millis(2), true);
        let text = m.render();
        assert!(text.contains("dynamoctl_reconciles_total{controller=\"graph\"} 1\n"));
        assert!(text.contains("dynamoctl_reconcile_errors_total{controller=\"component\"} 1\n"));
        assert!(text.contains("dynamoctl_reconcile_duration_seconds_bucket{le=\"0.01\"} 1\n"));
        assert!(text.contains("dynamoctl_reconcile_duration_seconds_count 2\n"));
    }
}
