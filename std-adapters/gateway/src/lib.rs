//! `tidings serve`: the push gateway. An IM backend posts one message with
//! its recipients; the gateway decides, renders and delivers a
//! notification to every device that should get one, through a durable
//! queue — local (redb under `server.data_dir`, the default) or NATS
//! JetStream shared by many gateways — telling the backend which tokens
//! are dead (a cursor feed and an optional webhook), with Prometheus
//! metrics.
//!
//! - [`job`]: a request → one decided case per device;
//! - [`store`]: the local queue, job states, idempotency keys, feedback;
//! - [`nats`]: the same on JetStream, and its consumers;
//! - [`worker`]: due devices → provider clients → committed results;
//! - [`gate`]: per provider, how much is sent while it does not answer
//!   or refuses the sender's credentials;
//! - [`api`]: the HTTP API; [`metrics`]: the Prometheus registry;
//! - [`recall`]: recall and edit (`POST /v1/recall`, Tencent IM's
//!   recall callbacks), `[recall]`;
//! - [`webhook`]: invalid-token feedback POSTed in batches;
//! - [`listen`]: connections (the cap, header and idle deadlines) and
//!   [`tls`]; [`limits`]: body deadline, per-token and failed-auth rates.

#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tidings_std::clock::SharedClock;
use tidings_std::config::{Config, ConfigError};
use tidings_std::ingest::AppDoc;

use crate::time::millis;

pub mod api;
pub mod gate;
pub mod job;
pub mod limits;
pub mod listen;
pub mod metrics;
pub mod nats;
pub mod recall;
pub mod store;
pub mod time;
pub mod tls;
pub mod webhook;
pub mod worker;

/// Defaults of `[server]`, each with its reason.
pub mod defaults {
    use std::time::Duration;
    /// Loopback: exposing the API is a deliberate act.
    pub const LISTEN: &str = "127.0.0.1:8080";
    pub const DATA_DIR: &str = "tidings-data";
    /// A 12 KB message to a few thousand devices fits; more is abuse.
    pub const MAX_BODY_BYTES: u64 = 1024 * 1024;
    pub const MAX_DEVICES: u64 = 10_000;
    /// About a gigabyte of queue at a few hundred bytes per device.
    pub const HIGH_WATER: u64 = 1_000_000;
    /// Long enough for a provider's answer, short enough for an orchestrator's kill timeout (30 s).
    pub const DRAIN: Duration = Duration::from_secs(10);
    /// APNs and FCM take hundreds of streams per connection.
    pub const CONCURRENCY: u64 = 256;
    /// A push nobody gave a lifetime stops being worth sending after an hour.
    pub const RETRY_BUDGET: Duration = Duration::from_secs(3600);
    /// As NATS's `queue.job_ttl_secs`: a week to look a job up.
    pub const JOB_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
    /// A week of invalid-token feedback to read from the feed.
    pub const FEEDBACK_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
    /// A client on a slow mobile link sends its headers in well under a
    /// second; a slowloris holds them back forever.
    pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    /// A 1 MiB body at ~35 KB/s.
    pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
    /// A backend's pooled connection is reused within a minute or dropped.
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
    /// Well under the systemd unit's LimitNOFILE (65,536), leaving room
    /// for the store, provider and NATS connections.
    pub const MAX_CONNECTIONS: u64 = 10_000;
    /// More than a backend misconfigured by hand makes, far too few to
    /// guess a token.
    pub const AUTH_FAILURES_PER_MINUTE: u64 = 60;
    /// The most `server.max_connections` takes.
    pub const MAX_CONNECTIONS_LIMIT: u64 = 1_000_000;
}

/// The gateway's settings, read and checked from the config.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub tokens: Vec<String>,
    pub max_body: usize,
    pub max_devices: usize,
    pub high_water: u64,
    pub drain: Duration,
    pub concurrency: usize,
    pub retry_budget: Duration,
    pub job_ttl: Duration,
    pub feedback_ttl: Duration,
    pub app: AppDoc,
    pub webhook: Option<webhook::WebhookSettings>,
    pub queue: QueueSettings,
    /// The listener's deadlines and connection cap.
    pub listener: listen::Limits,
    pub body_timeout: Duration,
    /// Per API token; `None`: no limit.
    pub token_rate: Option<limits::Rate>,
    pub auth_failures_per_minute: NonZeroU32,
    /// TLS on the listener; `None`: plain HTTP.
    pub tls: Option<tls::CertFiles>,
    /// `[recall]`.
    pub recall: recall::RecallSettings,
}

/// Which queue holds the work.
#[derive(Debug, Clone)]
pub enum QueueSettings {
    Local,
    Nats(Box<nats::NatsSettings>),
}

impl Settings {
    /// `[server]`, `[queue]`, `[feedback]` and `[app]`; errors name the key.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let server = config.server.clone().unwrap_or_default();
        let listen_text = server.listen.unwrap_or_else(|| defaults::LISTEN.into());
        let listen = listen_text.parse().map_err(|_| {
            ConfigError::new("server.listen", format!("{listen_text:?} is not host:port"))
        })?;
        let tokens: Vec<String> = server
            .api_tokens
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        let positive = |value: Option<u64>, default: u64, key: &str| match value {
            Some(0) => Err(ConfigError::new(key, "must be at least 1")),
            Some(n) => Ok(n),
            None => Ok(default),
        };
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let queue_table = config.queue.clone().unwrap_or_default();
        let queue = match queue_table.kind.as_deref() {
            None | Some("local") => QueueSettings::Local,
            Some("nats") => {
                QueueSettings::Nats(Box::new(nats::NatsSettings::from_config(&queue_table)?))
            }
            Some(other) => {
                return Err(ConfigError::new(
                    "queue.kind",
                    format!("{other:?}: use \"local\" or \"nats\""),
                ))
            }
        };
        let secs = |value: Option<u64>, default: Duration, key: &str| {
            positive(value, default.as_secs(), key).map(Duration::from_secs)
        };
        let listener = listen::Limits {
            header_timeout: secs(
                server.header_timeout_secs,
                defaults::HEADER_TIMEOUT,
                "server.header_timeout_secs",
            )?,
            idle_timeout: secs(
                server.idle_timeout_secs,
                defaults::IDLE_TIMEOUT,
                "server.idle_timeout_secs",
            )?,
            max_connections: at_most_u32(
                positive(
                    server.max_connections,
                    defaults::MAX_CONNECTIONS,
                    "server.max_connections",
                )?,
                defaults::MAX_CONNECTIONS_LIMIT,
                "server.max_connections",
            )?,
        };
        let token_rate = match (server.rate_limit_per_second, server.rate_limit_burst) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "server.rate_limit_burst",
                    "needs server.rate_limit_per_second",
                ))
            }
            (Some(per_second), burst) => {
                let per_second = non_zero(per_second, "server.rate_limit_per_second")?;
                let burst =
                    burst.map_or(Ok(per_second), |b| non_zero(b, "server.rate_limit_burst"))?;
                Some(limits::Rate { per_second, burst })
            }
        };
        let tls = match (server.tls_cert_file, server.tls_key_file) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(tls::CertFiles { cert, key }),
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "server.tls_cert_file",
                    "is needed with server.tls_key_file",
                ))
            }
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "server.tls_key_file",
                    "is needed with server.tls_cert_file",
                ))
            }
        };
        Ok(Self {
            listener,
            body_timeout: secs(
                server.body_timeout_secs,
                defaults::BODY_TIMEOUT,
                "server.body_timeout_secs",
            )?,
            token_rate,
            auth_failures_per_minute: non_zero(
                server
                    .auth_failures_per_minute
                    .unwrap_or(defaults::AUTH_FAILURES_PER_MINUTE),
                "server.auth_failures_per_minute",
            )?,
            tls,
            listen,
            data_dir: server
                .data_dir
                .unwrap_or_else(|| PathBuf::from(defaults::DATA_DIR)),
            tokens,
            max_body: size(positive(
                server.max_body_bytes,
                defaults::MAX_BODY_BYTES,
                "server.max_body_bytes",
            )?),
            max_devices: size(positive(
                server.max_devices,
                defaults::MAX_DEVICES,
                "server.max_devices",
            )?),
            high_water: positive(server.high_water, defaults::HIGH_WATER, "server.high_water")?,
            drain: server
                .drain_secs
                .map_or(defaults::DRAIN, Duration::from_secs),
            concurrency: size(positive(
                server.concurrency,
                defaults::CONCURRENCY,
                "server.concurrency",
            )?),
            retry_budget: Duration::from_secs(positive(
                server.retry_budget_secs,
                defaults::RETRY_BUDGET.as_secs(),
                "server.retry_budget_secs",
            )?),
            job_ttl: Duration::from_secs(positive(
                server.job_ttl_secs,
                defaults::JOB_TTL.as_secs(),
                "server.job_ttl_secs",
            )?),
            feedback_ttl: Duration::from_secs(positive(
                config.feedback.as_ref().and_then(|f| f.ttl_secs),
                defaults::FEEDBACK_TTL.as_secs(),
                "feedback.ttl_secs",
            )?),
            app: AppDoc::from_config(config)?,
            webhook: webhook::WebhookSettings::from_config(config)?,
            recall: recall::RecallSettings::from_config(config)?,
            queue,
        })
    }
}

/// A count from 1 to `u32::MAX`, as the rate limiter takes it.
fn non_zero(value: u64, key: &str) -> Result<NonZeroU32, ConfigError> {
    let value = at_most_u32(value, u64::from(u32::MAX), key)?;
    NonZeroU32::new(value).ok_or_else(|| ConfigError::new(key, "must be at least 1"))
}

fn at_most_u32(value: u64, limit: u64, key: &str) -> Result<u32, ConfigError> {
    u32::try_from(value)
        .ok()
        .filter(|_| value <= limit)
        .ok_or_else(|| ConfigError::new(key, format!("must be at most {limit}")))
}

/// Retention for the local store: a sweep every quarter of the shortest
/// lifetime (between 1 s and a minute), and the store's size as a metric.
/// Ends with the process (a sweep is small transactions: a kill loses
/// nothing but the sweep's progress).
async fn sweep_loop(
    store: store::Store,
    retention: store::Retention,
    clock: SharedClock,
    metrics: Arc<metrics::Metrics>,
) {
    let shortest = retention.job_ttl_ms.min(retention.feedback_ttl_ms);
    let every = Duration::from_millis((shortest / 4).clamp(1_000, 60_000));
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now = time::now_ms(&clock);
        let sweeper = store.clone();
        match tokio::task::spawn_blocking(move || sweeper.sweep(now, &retention)).await {
            Ok(Ok(swept)) => {
                metrics.retention("jobs", swept.jobs);
                metrics.retention("devices", swept.devices);
                metrics.retention("keys", swept.keys);
                metrics.retention("feedback", swept.feedback);
                if swept != store::Swept::default() {
                    tracing::debug!(?swept, "retention sweep");
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "retention sweep failed; trying again later"),
            Err(e) => tracing::warn!(error = %e, "retention sweep task failed"),
        }
        metrics
            .store_bytes
            .set(i64::try_from(store.size_bytes()).unwrap_or(i64::MAX));
    }
}

/// Failed authentications logged once a minute per client address (the
/// first at once, in the request).
async fn log_failed_auth(state: Arc<api::AppState>) {
    let mut ticks = tokio::time::interval(Duration::from_secs(10));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        for line in state.limits.failed_auth.due(time::now_ms(&state.clock)) {
            limits::log_failed_auth(line);
        }
    }
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Nats(#[from] nats::NatsError),
    #[error("server.listen {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A running gateway.
pub struct Gateway {
    addr: SocketAddr,
    tls: bool,
    http: tokio::task::JoinHandle<()>,
    stop_http: tokio::sync::watch::Sender<bool>,
    workers: Workers,
    webhook: Option<webhook::Webhook>,
    sweeper: Option<tokio::task::JoinHandle<()>>,
    /// The failed-auth log and the SIGHUP reloader: ended at shutdown.
    background: Vec<tokio::task::JoinHandle<()>>,
    drain: Duration,
}

enum Workers {
    Local(worker::Workers),
    Nats(nats::NatsWorkers),
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Opens the queue, starts the workers (which pick up whatever a
    /// previous run left queued) and the HTTP API.
    pub async fn start(config: Config, clock: SharedClock) -> Result<Self, StartError> {
        let mut settings = Settings::from_config(&config)?;
        // A bad certificate stops the start before anything is opened.
        let tls = settings.tls.as_ref().map(tls::acceptor).transpose()?;
        let metrics = Arc::new(metrics::Metrics::default());
        if settings.tokens.is_empty() {
            tracing::warn!("server.api_tokens is not set: the API takes requests without a token");
        }
        let worker_settings = worker::Settings {
            concurrency: settings.concurrency,
            retry_budget: settings.retry_budget,
            app: settings.app.clone(),
        };
        let mut sweeper = None;
        // Recalls and edits, rendered alike on either queue.
        let renderer: Arc<dyn store::Renderer> = Arc::new(recall::RecallRenderer {
            app: settings.app.clone(),
            remove_on: settings.recall.remove_on.clone(),
        });
        let (queue, workers, feed) = match settings.queue.clone() {
            QueueSettings::Local => {
                let dir = settings.data_dir.clone();
                let store = tokio::task::spawn_blocking(move || store::Store::open(&dir))
                    .await
                    .map_err(|e| store::StoreError::from_join(&e))??
                    .with_renderer(renderer);
                let workers = worker::Workers::start(
                    store.clone(),
                    config,
                    Arc::clone(&clock),
                    Arc::clone(&metrics),
                    worker_settings,
                )?;
                let retention = store::Retention {
                    job_ttl_ms: millis(settings.job_ttl),
                    feedback_ttl_ms: millis(settings.feedback_ttl),
                    webhook: settings.webhook.is_some(),
                };
                sweeper = Some(tokio::spawn(sweep_loop(
                    store.clone(),
                    retention,
                    Arc::clone(&clock),
                    Arc::clone(&metrics),
                )));
                let queue = api::Queue::Local {
                    store: store.clone(),
                    writer: workers.writer.clone(),
                    wake: Arc::clone(&workers.wake),
                    leases: Arc::clone(&workers.leases),
                };
                (
                    queue,
                    Workers::Local(workers),
                    webhook::FeedSource::Local(store),
                )
            }
            QueueSettings::Nats(nats_settings) => {
                let nats = nats::Nats::connect(
                    *nats_settings,
                    settings.app.clone(),
                    settings.max_devices,
                    renderer,
                )
                .await?;
                // A request is published whole: one larger than the
                // server's max_payload (less room for the job's record)
                // could never be.
                let room = nats.max_payload().saturating_sub(16 * 1024);
                if settings.max_body > room {
                    tracing::info!(
                        max_body_bytes = room,
                        "server.max_body_bytes lowered to what the NATS server's max_payload allows"
                    );
                    settings.max_body = room;
                }
                let context = worker::Context::new(
                    config,
                    Arc::clone(&clock),
                    Arc::clone(&metrics),
                    worker_settings,
                );
                let workers = nats::NatsWorkers::start(Arc::clone(&nats), context);
                (
                    api::Queue::Nats(Arc::clone(&nats)),
                    Workers::Nats(workers),
                    webhook::FeedSource::Nats(nats),
                )
            }
        };
        let webhook = settings
            .webhook
            .clone()
            .map(|w| webhook::Webhook::start(feed, w, Arc::clone(&metrics)))
            .transpose()?;
        let state = Arc::new(api::AppState {
            queue,
            metrics,
            clock,
            tokens: settings.tokens.clone(),
            app: settings.app.clone(),
            recall: settings.recall.clone(),
            max_devices: settings.max_devices,
            high_water: settings.high_water,
            limits: limits::ApiLimits::new(
                settings.body_timeout,
                settings.token_rate,
                settings.auth_failures_per_minute,
            ),
        });
        let mut background = vec![tokio::spawn(log_failed_auth(Arc::clone(&state)))];
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: settings.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: settings.listen,
            source,
        })?;
        let (stop_http, stopped) = tokio::sync::watch::channel(false);
        let app = api::router(Arc::clone(&state), settings.max_body);
        let (acceptor, certificate) = tls.unzip();
        #[cfg(unix)]
        if let Some(certificate) = certificate {
            background.push(tokio::spawn(tls::reload_on_sighup(certificate)));
        }
        let http = tokio::spawn(listen::serve(
            listener,
            app,
            acceptor,
            settings.listener,
            Arc::clone(&state.metrics),
            stopped,
        ));
        tracing::info!(%addr, tls = settings.tls.is_some(), "tidings gateway listening");
        Ok(Self {
            tls: settings.tls.is_some(),
            background,
            addr,
            http,
            stop_http,
            workers,
            webhook,
            sweeper,
            drain: settings.drain,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API's base URL (`https://` when the listener speaks TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Stops taking requests, lets sends in flight finish within the
    /// drain deadline, and leaves the rest queued.
    pub async fn shutdown(self) {
        let _ = self.stop_http.send(true);
        let _ = tokio::time::timeout(self.drain, self.http).await;
        match self.workers {
            Workers::Local(workers) => workers.stop(self.drain).await,
            Workers::Nats(workers) => workers.stop(self.drain).await,
        }
        if let Some(webhook) = self.webhook {
            webhook.stop().await;
        }
        for task in self.background {
            task.abort();
        }
        if let Some(sweeper) = self.sweeper {
            sweeper.abort();
            let _ = sweeper.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(server: &str) -> Result<Settings, ConfigError> {
        Settings::from_config(&Config::parse(&format!("[server]\n{server}"))?)
    }

    fn refused(server: &str) -> ConfigError {
        settings(server).expect_err("refused")
    }

    #[test]
    fn the_limits_default_to_the_documented_values() {
        let s = settings("").unwrap();
        assert_eq!(
            s.listener,
            listen::Limits {
                header_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(60),
                max_connections: 10_000,
            }
        );
        assert_eq!(s.body_timeout, Duration::from_secs(30));
        assert_eq!(s.token_rate, None, "no per-token limit unless asked");
        assert_eq!(s.auth_failures_per_minute.get(), 60);
        assert_eq!(s.tls, None);
    }

    #[test]
    fn the_rate_limit_takes_its_burst_from_the_rate() {
        let rate = |keys: &str| settings(keys).unwrap().token_rate.unwrap();
        assert_eq!(rate("rate_limit_per_second = 5\n").burst.get(), 5);
        let both = rate("rate_limit_per_second = 5\nrate_limit_burst = 20\n");
        assert_eq!((both.per_second.get(), both.burst.get()), (5, 20));
    }

    #[test]
    fn bad_limits_are_errors_naming_the_key() {
        for (keys, key) in [
            ("header_timeout_secs = 0\n", "server.header_timeout_secs"),
            ("body_timeout_secs = 0\n", "server.body_timeout_secs"),
            ("idle_timeout_secs = 0\n", "server.idle_timeout_secs"),
            ("max_connections = 0\n", "server.max_connections"),
            ("max_connections = 1000001\n", "server.max_connections"),
            (
                "rate_limit_per_second = 0\n",
                "server.rate_limit_per_second",
            ),
            (
                "rate_limit_per_second = 4294967296\n",
                "server.rate_limit_per_second",
            ),
            ("rate_limit_burst = 10\n", "server.rate_limit_burst"),
            (
                "rate_limit_per_second = 1\nrate_limit_burst = 0\n",
                "server.rate_limit_burst",
            ),
            (
                "auth_failures_per_minute = 0\n",
                "server.auth_failures_per_minute",
            ),
            ("tls_cert_file = \"a.crt\"\n", "server.tls_key_file"),
            ("tls_key_file = \"a.key\"\n", "server.tls_cert_file"),
        ] {
            assert_eq!(refused(keys).key, key, "{keys}");
        }
    }
}
