//! Invalid-token feedback POSTed to a webhook in batches: a JSON array of
//! feedback records (each with its `Seq`), from a cursor kept in the store.
//! A batch that is not answered 2xx is sent again after a growing pause;
//! the cursor only moves past a batch the webhook took, so the feed loses
//! nothing while the webhook is down (and `GET /v1/feedback` serves the
//! same records meanwhile).

use std::sync::Arc;
use std::time::Duration;

use tidings_std::config::{Config, ConfigError};

use crate::nats::Nats;
use crate::store::Store;

/// Where the feedback comes from: the local store's feed (with its
/// cursor), or the NATS feedback stream through a durable consumer the
/// gateways share (each record posted by one of them).
#[derive(Clone)]
pub enum FeedSource {
    Local(Store),
    Nats(Arc<Nats>),
}

/// Records per POST unless `feedback.batch` says otherwise.
pub const DEFAULT_BATCH: u64 = 100;
/// How often an idle webhook looks for new records.
const IDLE_POLL: Duration = Duration::from_millis(500);
/// Pauses after a failed POST: 1 s doubling to 60 s.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LONGEST_PAUSE: Duration = Duration::from_secs(60);
/// A POST's whole deadline.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct WebhookSettings {
    pub url: String,
    pub ca_file: Option<std::path::PathBuf>,
    pub batch: usize,
}

impl WebhookSettings {
    pub fn from_config(config: &Config) -> Result<Option<Self>, ConfigError> {
        let Some(feedback) = &config.feedback else {
            return Ok(None);
        };
        let Some(url) = &feedback.webhook_url else {
            return Ok(None);
        };
        let parsed: reqwest::Url = url.parse().map_err(|_| {
            ConfigError::new("feedback.webhook_url", format!("{url:?} is not a URL"))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ConfigError::new(
                "feedback.webhook_url",
                "http:// or https:// only",
            ));
        }
        let batch = match feedback.batch {
            Some(0) => return Err(ConfigError::new("feedback.batch", "must be at least 1")),
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => usize::try_from(DEFAULT_BATCH).unwrap_or(100),
        };
        Ok(Some(Self {
            url: url.clone(),
            ca_file: feedback.ca_file.clone(),
            batch,
        }))
    }
}

pub struct Webhook {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Webhook {
    pub fn start(source: FeedSource, settings: WebhookSettings) -> Result<Self, ConfigError> {
        let client = tidings_deliver::https::client(settings.ca_file.as_deref(), POST_TIMEOUT)
            .map_err(|e| ConfigError::new("feedback.ca_file", e.to_string()))?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(run(source, client, settings, stopped));
        Ok(Self { stop, task })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn run(
    source: FeedSource,
    client: reqwest::Client,
    settings: WebhookSettings,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut pause = FIRST_PAUSE;
    loop {
        let wait = match post_next(&source, &client, &settings).await {
            Ok(true) => {
                pause = FIRST_PAUSE;
                continue;
            }
            Ok(false) => IDLE_POLL,
            Err(why) => {
                tracing::warn!(%why, "feedback webhook failed; retrying");
                let wait = pause;
                pause = (pause * 2).min(LONGEST_PAUSE);
                wait
            }
        };
        tokio::select! {
            _ = stopped.changed() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Posts the next batch; `Ok(false)` when there is none.
async fn post_next(
    source: &FeedSource,
    client: &reqwest::Client,
    settings: &WebhookSettings,
) -> Result<bool, String> {
    match source {
        FeedSource::Local(store) => {
            let (reader, batch) = (store.clone(), settings.batch);
            let records = tokio::task::spawn_blocking(move || {
                let cursor = reader.webhook_cursor()?;
                reader.feedback_after(cursor, batch)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
            let Some(&(last, _)) = records.last() else {
                return Ok(false);
            };
            post(client, settings, records.into_iter()).await?;
            let writer = store.clone();
            tokio::task::spawn_blocking(move || writer.set_webhook_cursor(last))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            Ok(true)
        }
        FeedSource::Nats(nats) => {
            let mut held = nats.webhook_batch(settings.batch).await?;
            if held.is_empty() {
                return Ok(false);
            }
            let records: Vec<(u64, crate::store::Feedback)> = held
                .iter_mut()
                .map(|(seq, f, _)| (*seq, std::mem::take(f)))
                .collect();
            let posted = post(client, settings, records.into_iter()).await;
            for (_, _, message) in &held {
                // Not posted: the records go back to be posted again.
                let kind = if posted.is_ok() {
                    async_nats::jetstream::AckKind::Ack
                } else {
                    async_nats::jetstream::AckKind::Nak(Some(FIRST_PAUSE))
                };
                let _ = message.ack_with(kind).await;
            }
            posted.map(|()| true)
        }
    }
}

async fn post(
    client: &reqwest::Client,
    settings: &WebhookSettings,
    records: impl Iterator<Item = (u64, crate::store::Feedback)>,
) -> Result<(), String> {
    let body: Vec<serde_json::Value> = records
        .map(|(seq, f)| {
            let mut v = serde_json::to_value(f).unwrap_or(serde_json::Value::Null);
            v["Seq"] = seq.into();
            v
        })
        .collect();
    let answer = client
        .post(&settings.url)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !answer.status().is_success() {
        return Err(format!("the webhook answered {}", answer.status()));
    }
    Ok(())
}
