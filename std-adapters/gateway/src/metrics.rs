//! Prometheus metrics (prometheus-client, text format at `GET /metrics`).
//! Labels are bounded: channel, outcome, reason (provider reason codes and
//! the core's reasons), route (the matched route, never the raw path) and
//! status — never a token or an id.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

pub struct Metrics {
    registry: Registry,
    /// Sends by channel and outcome (delivered, token_invalid, retry, rejected, expired).
    pub pushes: Family<Labels, Counter>,
    /// Devices suppressed by the rules, by reason.
    pub suppressed: Family<Labels, Counter>,
    /// Provider answers other than delivered, by channel and reason.
    pub provider_errors: Family<Labels, Counter>,
    /// Devices waiting in the queue.
    pub queue_depth: Gauge,
    /// Request received → job committed, seconds.
    pub accept_seconds: Histogram,
    /// Job accepted → device delivered, seconds.
    pub delivery_seconds: Histogram,
    /// HTTP requests by matched route and status.
    pub http_requests: Family<Labels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tidings");
        let pushes = Family::default();
        let suppressed = Family::default();
        let provider_errors = Family::default();
        let queue_depth = Gauge::default();
        // 0.5 ms … ~16 s: an accept commits in milliseconds.
        let accept_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        // 1 ms … ~9 h: retries can take hours.
        let delivery_seconds = Histogram::new(exponential_buckets(0.001, 2.5, 20));
        let http_requests = Family::default();
        registry.register("pushes", "Sends by channel and outcome", pushes.clone());
        registry.register(
            "suppressed",
            "Devices suppressed by the rules, by reason",
            suppressed.clone(),
        );
        registry.register(
            "provider_errors",
            "Provider answers other than delivered, by channel and reason",
            provider_errors.clone(),
        );
        registry.register(
            "queue_depth",
            "Devices waiting in the queue",
            queue_depth.clone(),
        );
        registry.register(
            "accept_seconds",
            "Push request received to job committed",
            accept_seconds.clone(),
        );
        registry.register(
            "delivery_seconds",
            "Job accepted to device delivered",
            delivery_seconds.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            http_requests.clone(),
        );
        Self {
            registry,
            pushes,
            suppressed,
            provider_errors,
            queue_depth,
            accept_seconds,
            delivery_seconds,
            http_requests,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    pub fn push(&self, channel: &str, outcome: &str) {
        self.pushes
            .get_or_create(&vec![
                ("channel", channel.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }

    pub fn suppress(&self, reason: &str) {
        self.suppressed
            .get_or_create(&vec![("reason", reason.to_owned())])
            .inc();
    }

    pub fn provider_error(&self, channel: &str, reason: &str) {
        self.provider_errors
            .get_or_create(&vec![
                ("channel", channel.to_owned()),
                ("reason", reason.to_owned()),
            ])
            .inc();
    }

    pub fn http(&self, route: &str, status: u16) {
        self.http_requests
            .get_or_create(&vec![
                ("route", route.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
    }
}
