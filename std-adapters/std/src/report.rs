//! One case in, the case-format result object out (case-format.md §Result).

use serde_json::{json, Map, Value};
use tidings_core::model::Channel;
use tidings_core::render::{Headers, Rendered};
use tidings_core::{decide, render, Decision, Notification, Reason};

use crate::ingest::{parse_case, AppDoc, IngestError};

/// Output buffer for one payload: far above every provider's limit
/// (APNs VoIP 5120 bytes; a form body percent-encodes a 4 KB payload to 12 KB),
/// so only provider limits ever cut text.
pub const RENDER_BUFFER: usize = 64 * 1024;

/// The result of running one case.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The result object of case-format.md.
    pub report: Value,
    /// The rendered provider body, when the decision is to push.
    pub payload: Option<Vec<u8>>,
}

/// What the case format leaves to the runner's configuration.
#[derive(Debug, Clone, Default)]
pub struct RunConfig {
    /// Used when a case has no `Now`.
    pub now: i64,
    /// Used for `App` keys a case leaves out.
    pub app: AppDoc,
}

/// Whether a channel's body is `application/x-www-form-urlencoded`.
pub fn is_form_channel(channel: Channel) -> bool {
    matches!(channel, Channel::Xiaomi | Channel::Oppo | Channel::Meizu)
}

/// Reads, decides and renders one case.
pub fn run_case(json: &[u8], config: &RunConfig) -> Result<Outcome, IngestError> {
    let doc = parse_case(json)?;
    let lent = doc.lend()?;
    let case = lent.case(config.now, &config.app)?;
    match decide(&case)? {
        Decision::Suppress(reason) => Ok(suppress_report(reason)),
        Decision::Push(notification) => Ok(push_report(&notification)?.0),
    }
}

/// The result object of a suppressed case.
pub fn suppress_report(reason: Reason) -> Outcome {
    Outcome {
        report: json!({ "Decision": "suppress", "Reason": reason.name() }),
        payload: None,
    }
}

/// Renders a push and reports it; the [`Rendered`] keeps the request
/// parts outside the body (APNs headers) for a sender.
pub fn push_report<'a>(n: &Notification<'a>) -> Result<(Outcome, Rendered<'a>), IngestError> {
    let channel = n.case.recipient.device.channel;
    let mut buf = vec![0u8; RENDER_BUFFER];
    let rendered = render(n, &mut buf)?;
    buf.truncate(rendered.len);

    let body_full: String = tidings_core::render::body(n).segments().collect();
    let body = apply_cut(&body_full, rendered.cut.body);
    let apple = channel.is_apple();
    let title_full = tidings_core::render::title(n);
    let title = (!title_full.is_empty()).then(|| apply_cut(title_full, rendered.cut.title));
    let sound = if apple {
        n.ios_sound()
    } else if channel == Channel::Harmony {
        // HarmonyOS NEXT is sent no sound (none documented, beyond.md §11.2).
        None
    } else {
        Some(n.android_sound()).filter(|s| !s.is_empty())
    };
    let badge = if channel == Channel::Harmony {
        // No launcher class needed; `IgnoreHarmonyBadge` leaves it out.
        n.badge()
            .filter(|_| tidings_core::render::harmony::adds_badge(n))
    } else if apple || !n.case.app.badge_class.is_empty() {
        n.badge()
    } else {
        None
    };

    let mut report = Map::new();
    report.insert("Decision".into(), "push".into());
    report.insert("Channel".into(), channel.name().into());
    report.insert("Title".into(), title.into());
    report.insert("Body".into(), body.into());
    report.insert("Sound".into(), sound.into());
    report.insert("Badge".into(), badge.into());
    if let Headers::Apns(h) = rendered.headers {
        let mut headers = Map::new();
        headers.insert("apns-push-type".into(), h.push_type.into());
        headers.insert("apns-priority".into(), h.priority.into());
        headers.insert(
            "apns-topic".into(),
            format!("{}{}", h.topic, h.topic_suffix).into(),
        );
        if let Some(expiration) = h.expiration {
            headers.insert("apns-expiration".into(), expiration.to_string().into());
        }
        if let Some(collapse_id) = h.collapse_id {
            headers.insert("apns-collapse-id".into(), collapse_id.as_str().into());
        }
        report.insert("Headers".into(), headers.into());
    }
    report.insert("PayloadBytes".into(), rendered.len.into());
    let payload = if is_form_channel(channel) {
        Value::String(
            String::from_utf8(buf.clone()).map_err(|_| internal("form body is not UTF-8"))?,
        )
    } else {
        serde_json::from_slice(&buf).map_err(|e| internal(&format!("payload is not JSON: {e}")))?
    };
    report.insert("Payload".into(), payload);
    report.insert("Lints".into(), lints_json(n, &rendered));
    let warnings: Vec<Value> = rendered.warnings.names().map(Value::from).collect();
    if !warnings.is_empty() {
        report.insert("Warnings".into(), warnings.into());
    }
    Ok((
        Outcome {
            report: report.into(),
            payload: Some(buf),
        },
        rendered,
    ))
}

/// The vendor lints of a rendered push (`tidings_core::lint`), each as
/// `{Code, Severity, Source, Advice}`; `[]` when none.
pub fn lints_json(n: &Notification<'_>, rendered: &Rendered<'_>) -> Value {
    tidings_core::lint::lints(n, rendered)
        .iter()
        .map(|lint| {
            json!({
                "Code": lint.name(),
                "Severity": lint.severity().name(),
                "Source": lint.source(),
                "Advice": lint.advice(),
            })
        })
        .collect::<Vec<_>>()
        .into()
}

/// The text as sent: the kept bytes and the ellipsis, when it was cut.
fn apply_cut(full: &str, kept: Option<usize>) -> String {
    match kept {
        None => full.to_owned(),
        Some(n) => format!(
            "{}{}",
            full.get(..n).unwrap_or(full),
            tidings_core::write::ELLIPSIS
        ),
    }
}

fn internal(what: &str) -> IngestError {
    IngestError {
        key: String::new(),
        reason: format!("internal error: {what}"),
    }
}
