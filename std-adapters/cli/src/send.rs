//! `tidings send`: decide, render and deliver one case, and print the
//! result object with its `Delivery`.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use tidings_core::{decide, Decision};
use tidings_deliver::{Delivery, Outcome, Push};
use tidings_std::clock::{Clock, SystemClock};
use tidings_std::config::{Config, ConfigError, ProcessEnv};
use tidings_std::ingest::{parse_case, AppDoc};
use tidings_std::report::{push_report, suppress_report};

/// How `send` ended, for the exit code.
pub enum Sent {
    /// Delivered, or suppressed by the rules: exit 0.
    Done(Value),
    /// The provider did not take it: exit 3.
    NotDelivered(Value),
}

/// A case or configuration that cannot be used: one line naming the key.
pub struct Unusable(pub String);

impl From<ConfigError> for Unusable {
    fn from(e: ConfigError) -> Self {
        Unusable(e.to_string())
    }
}

pub fn run(
    config_path: Option<&Path>,
    case_json: &[u8],
    now: Option<i64>,
) -> Result<Sent, Unusable> {
    let config = Config::load(config_path, &ProcessEnv)?;
    let clock = Arc::new(SystemClock);
    let doc = parse_case(case_json).map_err(|e| Unusable(e.to_string()))?;
    let lent = doc.lend().map_err(|e| Unusable(e.to_string()))?;
    let app = AppDoc::from_config(&config)?;
    let case = lent
        .case(now.unwrap_or_else(|| clock.unix_seconds()), &app)
        .map_err(|e| Unusable(e.to_string()))?;
    let notification = match decide(&case).map_err(|e| Unusable(e.to_string()))? {
        Decision::Suppress(reason) => return Ok(Sent::Done(suppress_report(reason).report)),
        Decision::Push(n) => n,
    };
    let (outcome, rendered) = push_report(&notification).map_err(|e| Unusable(e.to_string()))?;
    let body = outcome.payload.unwrap_or_default();
    let provider = tidings_deliver::client_for(case.recipient.device.channel, &config, clock)?;
    let push = Push {
        body: &body,
        headers: rendered.headers,
        id: uuid::Uuid::new_v4(),
        attempt: 0,
        action: tidings_deliver::Action::Send,
    };
    let delivery = runtime()?.block_on(provider.send(&push));
    let mut report = outcome.report;
    let delivered = matches!(delivery.outcome, Outcome::Delivered { .. });
    if let Value::Object(map) = &mut report {
        map.insert("Delivery".into(), delivery_object(&delivery));
    }
    Ok(if delivered {
        Sent::Done(report)
    } else {
        Sent::NotDelivered(report)
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, Unusable> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Unusable(format!("cannot start the runtime: {e}")))
}

/// `{"Outcome", "Status", "Reason", "Id"}` and, where they apply, the
/// token's invalid-since time and the earliest retry (Unix milliseconds).
pub fn delivery_object(delivery: &Delivery) -> Value {
    let millis = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    };
    let mut object = json!({
        "Outcome": delivery.outcome.name(),
        "Status": delivery.status,
        "Reason": delivery.outcome.reason(),
        "Id": delivery.id,
    });
    if !delivery.invalid_tokens.is_empty() {
        object["InvalidTokens"] = delivery.invalid_tokens.clone().into();
    }
    match &delivery.outcome {
        Outcome::TokenInvalid {
            since: Some(since), ..
        } => object["InvalidSince"] = millis(*since).into(),
        Outcome::Retry { not_before, .. } => object["RetryNotBefore"] = millis(*not_before).into(),
        _ => {}
    }
    object
}
