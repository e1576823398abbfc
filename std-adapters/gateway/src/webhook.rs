//! Invalid-token feedback POSTed to a webhook in batches: a JSON array of
//! feedback records (each with its `Seq`), from a cursor kept in the store.
//! A batch that is not answered 2xx is sent again after a growing pause;
//! the cursor only moves past a batch the webhook took, so the feed loses
//! nothing while the webhook is down (and `GET /v1/feedback` serves the
//! same records meanwhile).

use std::sync::Arc;
use std::time::Duration;

use tidings_std::config::{Config, ConfigError};

use crate::metrics::Metrics;
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
    /// `[feedback] signing_secret`: every POST carries its signature.
    pub signing_secret: Option<SigningSecret>,
}

/// The webhook's signing secret: never shown (`Debug` prints `..`).
#[derive(Clone)]
pub struct SigningSecret(String);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

/// The header a signed POST carries.
pub const SIGNATURE_HEADER: &str = "Tidings-Signature";

/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the
/// scheme Stripe and others use, so a receiver checks it with the code it
/// has (and refuses an old `t` to stop replays).
pub fn signature(secret: &SigningSecret, unix_secs: u64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.0.as_bytes());
    let mut mac = ring::hmac::Context::with_key(&key);
    mac.update(unix_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={unix_secs},v1={}", hex::encode(mac.sign().as_ref()))
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
        let signing_secret = match feedback.signing_secret.as_deref() {
            Some("") => {
                return Err(ConfigError::new(
                    "feedback.signing_secret",
                    "empty: leave it out to send unsigned POSTs",
                ))
            }
            Some(secret) => Some(SigningSecret(secret.to_owned())),
            None => None,
        };
        Ok(Some(Self {
            url: url.clone(),
            ca_file: feedback.ca_file.clone(),
            batch,
            signing_secret,
        }))
    }
}

pub struct Webhook {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Webhook {
    pub fn start(
        source: FeedSource,
        settings: WebhookSettings,
        metrics: Arc<Metrics>,
    ) -> Result<Self, ConfigError> {
        let client = tidings_deliver::https::client(settings.ca_file.as_deref(), POST_TIMEOUT)
            .map_err(|e| ConfigError::new("feedback.ca_file", e.to_string()))?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(run(source, client, settings, metrics, stopped));
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
    metrics: Arc<Metrics>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut pause = FIRST_PAUSE;
    loop {
        let wait = match post_next(&source, &client, &settings, &metrics).await {
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
    metrics: &Metrics,
) -> Result<bool, String> {
    match source {
        FeedSource::Local(store) => {
            let (reader, batch) = (store.clone(), settings.batch);
            let (records, lag) = tokio::task::spawn_blocking(move || {
                let cursor = reader.webhook_cursor()?;
                let lag = reader.feedback_seq()?.saturating_sub(cursor);
                Ok::<_, crate::store::StoreError>((reader.feedback_after(cursor, batch)?, lag))
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
            metrics
                .webhook_lag
                .set(i64::try_from(lag).unwrap_or(i64::MAX));
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
            let (mut held, lag) = nats.webhook_batch(settings.batch).await?;
            metrics
                .webhook_lag
                .set(i64::try_from(lag).unwrap_or(i64::MAX));
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
    let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    let mut request = client
        .post(&settings.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    if let Some(secret) = &settings.signing_secret {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        request = request.header(SIGNATURE_HEADER, signature(secret, now, &body));
    }
    let answer = request
        .body(body)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !answer.status().is_success() {
        return Err(format!("the webhook answered {}", answer.status()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body() {
        // Python: hmac.new(b"whsec-test", b'1700000000.[{"Seq":1}]', sha256).hexdigest()
        let secret = SigningSecret("whsec-test".into());
        assert_eq!(
            signature(&secret, 1_700_000_000, br#"[{"Seq":1}]"#),
            "t=1700000000,v1=093644988ba43ae12af75255ee5850b70bea0c0aee0e9d356d4e54dc59f4adfa"
        );
        assert_eq!(format!("{secret:?}"), "..");
    }
}
