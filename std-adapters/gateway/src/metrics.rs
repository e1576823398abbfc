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
    /// Every family's name as served (`tidings_pushes`…), whether or not
    /// it has a sample yet.
    families: Vec<String>,
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
    /// 1 while a provider answers (or is not known not to), 0 while it is
    /// down or paused; by channel (APNs VoIP counts as `apns`).
    pub channel_up: Family<Labels, Gauge>,
    /// 1 while a channel is paused on refused credentials.
    pub channel_paused: Family<Labels, Gauge>,
    /// Sends not made because their channel was down or paused (each one
    /// an attempt saved and a device held), by channel.
    pub sends_held: Family<Labels, Counter>,
    /// The local store's file, bytes.
    pub store_bytes: Gauge,
    /// Rows the retention sweep deleted, by kind (jobs, devices, keys,
    /// feedback).
    pub retention_deleted: Family<Labels, Counter>,
    /// Feedback records the webhook has not taken yet (either queue).
    pub webhook_lag: Gauge,
    /// API connections open.
    pub connections_open: Gauge,
    /// API connections closed on arrival: `server.max_connections` open.
    pub connections_refused: Counter,
    /// Connections closed and requests cut by a deadline, by phase
    /// (handshake, header, body, idle).
    pub timeouts: Family<Labels, Counter>,
    /// Requests answered 429 over `server.rate_limit_per_second`, by the
    /// token's index in `server.api_tokens` (never the token).
    pub rate_limited: Family<Labels, Counter>,
    /// Requests with a wrong or missing token, by outcome (unauthorized:
    /// 401; limited: 429, the address over its failure rate).
    pub auth_failures: Family<Labels, Counter>,
    /// Devices a recall or an edit reached, by what it did to each
    /// (recalled, edited, in_flight, replaced, revoked, removed,
    /// untouched); a repeat counts nothing.
    pub recall_devices: Family<Labels, Counter>,
}

/// The registry, remembering each family's name.
struct Named<'r> {
    registry: &'r mut Registry,
    families: &'r mut Vec<String>,
}

impl Named<'_> {
    fn add(&mut self, name: &str, help: &str, metric: impl prometheus_client::registry::Metric) {
        self.families.push(format!("tidings_{name}"));
        self.registry.register(name, help, metric);
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tidings");
        let mut families = Vec::new();
        let mut named = Named {
            registry: &mut registry,
            families: &mut families,
        };
        let pushes = Family::default();
        let suppressed = Family::default();
        let provider_errors = Family::default();
        let queue_depth = Gauge::default();
        // 0.5 ms … ~16 s: an accept commits in milliseconds.
        let accept_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        // 1 ms … ~9 h: retries can take hours.
        let delivery_seconds = Histogram::new(exponential_buckets(0.001, 2.5, 20));
        let http_requests = Family::default();
        let channel_up = Family::<Labels, Gauge>::default();
        let channel_paused = Family::<Labels, Gauge>::default();
        let sends_held = Family::default();
        let store_bytes = Gauge::default();
        let retention_deleted = Family::default();
        let webhook_lag = Gauge::default();
        let connections_open = Gauge::default();
        let connections_refused = Counter::default();
        let timeouts = Family::default();
        let rate_limited = Family::default();
        let auth_failures = Family::default();
        let recall_devices = Family::default();
        named.add(
            "recall_devices",
            "Devices a recall or an edit reached, by what it did to each",
            recall_devices.clone(),
        );
        named.add(
            "connections_open",
            "API connections open",
            connections_open.clone(),
        );
        named.add(
            "connections_refused",
            "API connections closed on arrival, server.max_connections being open",
            connections_refused.clone(),
        );
        named.add(
            "timeouts",
            "Connections closed and requests cut by a deadline, by phase",
            timeouts.clone(),
        );
        named.add(
            "rate_limited",
            "Requests answered 429 over the per-token rate, by token index",
            rate_limited.clone(),
        );
        named.add(
            "auth_failures",
            "Requests with a wrong or missing token, by outcome",
            auth_failures.clone(),
        );
        named.add(
            "webhook_lag",
            "Feedback records not yet taken by the webhook (local queue)",
            webhook_lag.clone(),
        );
        named.add(
            "channel_up",
            "1 while the channel's provider answers, 0 while it is down or paused",
            channel_up.clone(),
        );
        named.add(
            "channel_paused",
            "1 while the channel is paused on refused credentials",
            channel_paused.clone(),
        );
        named.add(
            "sends_held",
            "Sends not made (attempts saved) while the channel was down or paused",
            sends_held.clone(),
        );
        named.add(
            "store_bytes",
            "Size of the local store's file",
            store_bytes.clone(),
        );
        named.add(
            "retention_deleted",
            "Rows deleted by the retention sweep, by kind",
            retention_deleted.clone(),
        );
        named.add("pushes", "Sends by channel and outcome", pushes.clone());
        named.add(
            "suppressed",
            "Devices suppressed by the rules, by reason",
            suppressed.clone(),
        );
        named.add(
            "provider_errors",
            "Provider answers other than delivered, by channel and reason",
            provider_errors.clone(),
        );
        named.add(
            "queue_depth",
            "Devices waiting in the queue",
            queue_depth.clone(),
        );
        named.add(
            "accept_seconds",
            "Push request received to job committed",
            accept_seconds.clone(),
        );
        named.add(
            "delivery_seconds",
            "Job accepted to device delivered",
            delivery_seconds.clone(),
        );
        named.add(
            "http_requests",
            "HTTP requests by route and status",
            http_requests.clone(),
        );
        Self {
            registry,
            families,
            pushes,
            suppressed,
            provider_errors,
            queue_depth,
            accept_seconds,
            delivery_seconds,
            http_requests,
            channel_up,
            channel_paused,
            sends_held,
            store_bytes,
            retention_deleted,
            webhook_lag,
            connections_open,
            connections_refused,
            timeouts,
            rate_limited,
            auth_failures,
            recall_devices,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition.
    /// Every family's name as `/metrics` serves it once it has a sample
    /// (`tidings_pushes` for the `tidings_pushes_total` counter).
    pub fn families(&self) -> &[String] {
        &self.families
    }

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

    /// A channel's state: up (answering) and paused (credentials refused).
    pub fn channel_state(&self, channel: &str, up: bool, paused: bool) {
        let labels = vec![("channel", channel.to_owned())];
        self.channel_up.get_or_create(&labels).set(i64::from(up));
        self.channel_paused
            .get_or_create(&labels)
            .set(i64::from(paused));
    }

    /// A send held on a down or paused channel.
    pub fn held(&self, channel: &str) {
        self.sends_held
            .get_or_create(&vec![("channel", channel.to_owned())])
            .inc();
    }

    pub fn retention(&self, kind: &'static str, rows: u64) {
        if rows > 0 {
            self.retention_deleted
                .get_or_create(&vec![("kind", kind.to_owned())])
                .inc_by(rows);
        }
    }

    pub fn http(&self, route: &str, status: u16) {
        self.http_requests
            .get_or_create(&vec![
                ("route", route.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
    }

    /// A connection or request cut by a deadline.
    pub fn timeout(&self, phase: &'static str) {
        self.timeouts
            .get_or_create(&vec![("phase", phase.to_owned())])
            .inc();
    }

    /// A request over its token's rate; `token` is the token's index.
    pub fn rate_limit(&self, token: usize) {
        self.rate_limited
            .get_or_create(&vec![("token", token.to_string())])
            .inc();
    }

    /// What a recall (not a repeat) did: `(action, devices)` pairs.
    pub fn recall(&self, done: &[(&'static str, u64)]) {
        for (action, devices) in done {
            self.recall_devices
                .get_or_create(&vec![("action", (*action).to_owned())])
                .inc_by(*devices);
        }
    }

    /// A wrong or missing token, answered 401 or (`limited`) 429.
    pub fn auth_failure(&self, limited: bool) {
        let outcome = if limited { "limited" } else { "unauthorized" };
        self.auth_failures
            .get_or_create(&vec![("outcome", outcome.to_owned())])
            .inc();
    }
}
