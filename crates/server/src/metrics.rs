//! Prometheus metrics at `/metrics`: requests by route and status, a latency histogram per
//! route, the snapshot's tip height, the followed node's and the lag between them, how many
//! snapshots were swapped in, alerts and failed webhook POSTs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The server's counters.
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<String, RouteStats>>,
    /// Tip height of the snapshot being served.
    pub tip_height: AtomicU64,
    /// Snapshots swapped in since the start.
    pub snapshots: AtomicU64,
    /// Height of the followed node's tip at the last look over RPC (0 when not following
    /// over RPC).
    pub node_height: AtomicU64,
    /// Alerts raised by watches since the start.
    pub alerts: AtomicU64,
    /// Webhook POSTs that failed (each is retried).
    pub webhook_failures: AtomicU64,
}

impl Metrics {
    /// Records one request of `route` answered with `status` after `took`.
    pub fn record(&self, route: &str, status: u16, took: Duration) {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let r = routes.entry(route.to_owned()).or_default();
        *r.by_status.entry(status).or_default() += 1;
        let s = took.as_secs_f64();
        for (b, &le) in r.buckets.iter_mut().zip(&BUCKETS) {
            if s <= le {
                *b += 1;
            }
        }
        r.count += 1;
        r.sum += s;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out += "# HELP sleuth_requests_total Requests answered, by route and status.\n";
        out += "# TYPE sleuth_requests_total counter\n";
        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        for (route, r) in routes.iter() {
            for (status, n) in &r.by_status {
                let _ = writeln!(out, "sleuth_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
            }
        }
        out += "# HELP sleuth_request_seconds Request latency, by route.\n";
        out += "# TYPE sleuth_request_seconds histogram\n";
        for (route, r) in routes.iter() {
            for (le, n) in BUCKETS.iter().zip(&r.buckets) {
                let _ = writeln!(out, "sleuth_request_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {n}");
            }
            let _ = writeln!(out, "sleuth_request_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", r.count);
            let _ = writeln!(out, "sleuth_request_seconds_sum{{route=\"{route}\"}} {}", r.sum);
            let _ = writeln!(out, "sleuth_request_seconds_count{{route=\"{route}\"}} {}", r.count);
        }
        out += "# HELP sleuth_tip_height Height of the tip the answers come from.\n";
        out += "# TYPE sleuth_tip_height gauge\n";
        let _ = writeln!(out, "sleuth_tip_height {}", self.tip_height.load(Ordering::Relaxed));
        let node = self.node_height.load(Ordering::Relaxed);
        if node > 0 {
            out += "# HELP sleuth_node_height Height of the followed node's tip at the last look.\n";
            out += "# TYPE sleuth_node_height gauge\n";
            let _ = writeln!(out, "sleuth_node_height {node}");
            out += "# HELP sleuth_lag_blocks Blocks the answers are behind the followed node.\n";
            out += "# TYPE sleuth_lag_blocks gauge\n";
            let _ = writeln!(out, "sleuth_lag_blocks {}", node.saturating_sub(self.tip_height.load(Ordering::Relaxed)));
        }
        out += "# HELP sleuth_snapshots_total Snapshots of the data dir swapped in.\n";
        out += "# TYPE sleuth_snapshots_total counter\n";
        let _ = writeln!(out, "sleuth_snapshots_total {}", self.snapshots.load(Ordering::Relaxed));
        out += "# HELP sleuth_alerts_total Alerts raised by watches since the start.\n";
        out += "# TYPE sleuth_alerts_total counter\n";
        let _ = writeln!(out, "sleuth_alerts_total {}", self.alerts.load(Ordering::Relaxed));
        out += "# HELP sleuth_webhook_failures_total Webhook POSTs that failed and are retried.\n";
        out += "# TYPE sleuth_webhook_failures_total counter\n";
        let _ = writeln!(out, "sleuth_webhook_failures_total {}", self.webhook_failures.load(Ordering::Relaxed));
        out
    }
}
