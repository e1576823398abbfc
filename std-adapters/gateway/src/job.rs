//! A push request → one case per device, decided and rendered by the core
//! at the time the job is accepted (so a bad recipient fails the request
//! whole, before anything is queued), and again at send time from what the
//! store kept — the same inputs, the same bytes.
//!
//! A request is `{Message, Sender?, Group?, App?, Recipients: [..],
//! IdempotencyKey?}`; each recipient is the case format's `Recipient`,
//! with `Devices: [Device…]` allowed in place of `Device`. Errors name the
//! key's path in the request (`Recipients[3].Devices[1].Channel`).
//!
//! An edge relay that cannot afford JSON sends one job in the core's
//! postcard format instead ([`WIRE_CONTENT_TYPE`]): one case, one device,
//! decided and rendered exactly like a JSON one. Its `Now` is replaced by
//! the accepted time, as for JSON jobs; a job of another wire version, a
//! truncated or a malformed one is refused with the reason.

use serde_json::{Map, Value};
use tidings_core::model::Case;
use tidings_core::{decide, wire, Decision, Notification};
use tidings_std::ingest::{parse_case, AppDoc, CaseDoc, IngestError};
use tidings_std::report::{push_report, suppress_report, Outcome};

use crate::store::{DeviceRecord, DeviceState};

/// The content type of a request body holding one postcard job.
pub const WIRE_CONTENT_TYPE: &str = "application/x-tidings-job";

/// A request that cannot be used: the key's path and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRequest {
    pub key: String,
    pub reason: String,
}

impl std::fmt::Display for BadRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.key, self.reason)
        }
    }
}

fn bad(key: impl Into<String>, reason: impl Into<String>) -> BadRequest {
    BadRequest {
        key: key.into(),
        reason: reason.into(),
    }
}

/// A request read and every device decided.
#[derive(Debug)]
pub struct Prepared {
    /// `"Message":…,"Sender":…` — the members the devices share.
    pub common: String,
    pub devices: Vec<DeviceRecord>,
    pub idempotency_key: Option<String>,
    /// Per device, the `render` result object (for `?dry_run=true`).
    pub reports: Vec<Value>,
}

/// The request members a case takes from the request as they are.
const SHARED: [&str; 4] = ["Message", "Sender", "Group", "App"];

/// Reads a push request and decides every device at `now` (Unix seconds).
pub fn prepare(
    body: &[u8],
    now: i64,
    app: &AppDoc,
    max_devices: usize,
    report: bool,
) -> Result<Prepared, BadRequest> {
    let request: Value =
        serde_json::from_slice(body).map_err(|e| bad("", format!("not JSON: {e}")))?;
    let Value::Object(mut request) = request else {
        return Err(bad("", "a push request is a JSON object"));
    };
    if !request.contains_key("Message") {
        return Err(bad("Message", "missing"));
    }
    let idempotency_key = match request.remove("IdempotencyKey") {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) if !key.is_empty() && key.len() <= 256 => Some(key),
        Some(_) => return Err(bad("IdempotencyKey", "a string of 1 to 256 bytes")),
    };
    let recipients = match request.remove("Recipients") {
        Some(Value::Array(list)) if !list.is_empty() => list,
        Some(Value::Array(_)) => return Err(bad("Recipients", "empty")),
        Some(_) => return Err(bad("Recipients", "expected an array of recipients")),
        None => return Err(bad("Recipients", "missing")),
    };
    let mut common = String::new();
    for key in SHARED {
        if let Some(value) = request.get(key) {
            if !common.is_empty() {
                common.push(',');
            }
            common.push_str(&Value::from(key).to_string());
            common.push(':');
            common.push_str(&value.to_string());
        }
    }

    let mut devices = Vec::new();
    let mut reports = Vec::new();
    for (i, recipient) in recipients.into_iter().enumerate() {
        let Value::Object(mut recipient) = recipient else {
            return Err(bad(
                format!("Recipients[{i}]"),
                "expected a recipient object",
            ));
        };
        let listed = match recipient.remove("Devices") {
            None => None,
            Some(Value::Array(list)) if !list.is_empty() => Some(list),
            Some(_) => {
                return Err(bad(
                    format!("Recipients[{i}].Devices"),
                    "expected a non-empty array of devices",
                ))
            }
        };
        let each: Vec<(String, Map<String, Value>)> = match listed {
            None => vec![(format!("Recipients[{i}]"), recipient)],
            Some(_) if recipient.contains_key("Device") => {
                return Err(bad(
                    format!("Recipients[{i}]"),
                    "give Device or Devices, not both",
                ));
            }
            Some(list) => list
                .into_iter()
                .enumerate()
                .map(|(j, device)| {
                    let mut one = recipient.clone();
                    one.insert("Device".into(), device);
                    (format!("Recipients[{i}].Devices[{j}]"), one)
                })
                .collect(),
        };
        for (path, one) in each {
            if devices.len() >= max_devices {
                return Err(bad(
                    "Recipients",
                    format!("more than {max_devices} devices"),
                ));
            }
            let recipient = Value::Object(one).to_string();
            let (state, report, channel, token) = decide_one(&common, &recipient, now, app, report)
                .map_err(|e| in_request(e, &path))?;
            devices.push(DeviceRecord {
                recipient,
                channel,
                token,
                path,
                state,
                attempts: 0,
            });
            reports.push(report);
        }
    }
    Ok(Prepared {
        common,
        devices,
        idempotency_key,
        reports,
    })
}

/// Reads one postcard job and decides it at `now`.
pub fn prepare_wire(body: &[u8], now: i64, report: bool) -> Result<Prepared, BadRequest> {
    let job = wire::decode(body).map_err(|e| bad("", e.to_string()))?;
    let mut case = job.case();
    case.now = now;
    let (state, report) = decide_case(&case, report).map_err(|e| bad(e.key, e.reason))?;
    let device = case.recipient.device;
    Ok(Prepared {
        common: String::new(),
        devices: vec![DeviceRecord {
            recipient: String::new(),
            channel: device.channel.name().to_owned(),
            token: device.token.to_owned(),
            path: "job".to_owned(),
            state,
            attempts: 0,
        }],
        idempotency_key: None,
        reports: vec![report],
    })
}

/// The case JSON of one device: the shared members, its recipient, the
/// accepted time.
pub fn case_json(common: &str, recipient: &str, now: i64) -> String {
    let mut case = String::with_capacity(common.len() + recipient.len() + 40);
    case.push('{');
    case.push_str(common);
    if !common.is_empty() {
        case.push(',');
    }
    case.push_str("\"Recipient\":");
    case.push_str(recipient);
    case.push_str(",\"Now\":");
    case.push_str(&now.to_string());
    case.push('}');
    case
}

/// Reads one device's case (structure only).
pub fn case_doc(common: &str, recipient: &str, now: i64) -> Result<CaseDoc, IngestError> {
    parse_case(case_json(common, recipient, now).as_bytes())
}

/// Decides and renders one device: its first state, its report, its
/// channel and token.
fn decide_one(
    common: &str,
    recipient: &str,
    now: i64,
    app: &AppDoc,
    report: bool,
) -> Result<(DeviceState, Value, String, String), IngestError> {
    let doc = case_doc(common, recipient, now)?;
    let lent = doc.lend()?;
    let case = lent.case(now, app)?;
    let channel = case.recipient.device.channel.name().to_owned();
    let token = case.recipient.device.token.to_owned();
    let (state, report) = decide_case(&case, report)?;
    Ok((state, report, channel, token))
}

/// A case's first state and its report: suppressed with the reason, or
/// queued once it rendered.
/// Without `report` the push is only rendered (to refuse what cannot be
/// sent) and the report is `null`: the report is for dry runs.
fn decide_case(case: &Case<'_>, report: bool) -> Result<(DeviceState, Value), IngestError> {
    match decide(case)? {
        Decision::Suppress(reason) => {
            let Outcome { report, .. } = suppress_report(reason);
            let state = DeviceState::Suppressed {
                reason: reason.name().to_owned(),
            };
            Ok((state, report))
        }
        Decision::Push(n) if report => {
            let (outcome, _) = push_report(&n)?;
            Ok((DeviceState::Queued, outcome.report))
        }
        Decision::Push(n) => {
            render_push(&n)?;
            Ok((DeviceState::Queued, Value::Null))
        }
    }
}

/// A rendered push: the body and the request parts outside it.
pub type RenderedPush<'a> = (Vec<u8>, tidings_core::render::Headers<'a>);

thread_local! {
    /// Each worker thread's render buffer, made once (as large as the
    /// report's, so only provider limits ever cut text).
    static RENDER: std::cell::RefCell<Vec<u8>> =
        std::cell::RefCell::new(vec![0; tidings_std::report::RENDER_BUFFER]);
}

/// Renders a decided push for sending: the bytes alone, no report.
pub fn render_push<'a>(n: &Notification<'a>) -> Result<RenderedPush<'a>, IngestError> {
    RENDER.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        let rendered = tidings_core::render(n, &mut buffer)?;
        let body = buffer.get(..rendered.len).unwrap_or_default().to_vec();
        Ok((body, rendered.headers))
    })
}

/// A case error's key, as a path in the request: `Recipient.Device.X`
/// becomes `Recipients[i].Device.X` (or `Recipients[i].Devices[j].X`).
fn in_request(e: IngestError, path: &str) -> BadRequest {
    let key = if let Some(rest) = e.key.strip_prefix("Recipient.Device") {
        if path.contains(".Devices[") {
            format!("{path}{rest}")
        } else {
            format!("{path}.Device{rest}")
        }
    } else if let Some(rest) = e.key.strip_prefix("Recipient") {
        format!("{path}{rest}")
    } else {
        e.key
    };
    bad(key, e.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(recipients: Value) -> Vec<u8> {
        serde_json::json!({
            "Message": {
                "From_Account": "ann", "To_Account": "bob",
                "MsgBody": [{ "MsgType": "TIMTextElem", "MsgContent": { "Text": "hi" } }]
            },
            "Sender": { "Nick": "Ann" },
            "App": { "BundleId": "com.example.chat", "PackageName": "com.example.chat" },
            "Recipients": recipients,
            "IdempotencyKey": "k1"
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn one_device_per_device_and_devices_lists() {
        let body = request(serde_json::json!([
            { "Account": "bob", "Device": { "Channel": "apns", "Token": "ab01", "State": "background" } },
            { "Account": "bob", "Devices": [
                { "Channel": "apns", "Token": "ab02", "State": "foreground" },
                { "Channel": "apns", "Token": "ab03", "State": "background" }
            ] }
        ]));
        let p = prepare(&body, 1_800_000_000, &AppDoc::default(), 100, true).unwrap();
        let summary: Vec<(&str, &str, &str)> = p
            .devices
            .iter()
            .map(|d| (d.path.as_str(), d.token.as_str(), d.state.name()))
            .collect();
        assert_eq!(
            summary,
            [
                ("Recipients[0]", "ab01", "queued"),
                ("Recipients[1].Devices[0]", "ab02", "suppressed"),
                ("Recipients[1].Devices[1]", "ab03", "queued"),
            ]
        );
        assert_eq!(p.idempotency_key.as_deref(), Some("k1"));
        assert_eq!(p.reports[0]["Body"], "Ann:hi");
        assert_eq!(p.reports[1]["Reason"], "Foreground");
    }

    #[test]
    fn errors_name_the_path_in_the_request() {
        let cases = [
            (
                serde_json::json!([{ "Device": { "Channel": "pager", "Token": "a", "State": "background" } }]),
                "Recipients[0].Device.Channel",
            ),
            (
                serde_json::json!([{ "Devices": [{ "Channel": "apns", "Token": "a", "State": "background" }, { "Channel": 7 }] }]),
                "Recipients[0].Devices[1].Channel",
            ),
            (serde_json::json!([{ "Account": "bob" }]), "Recipients[0]"),
            (
                serde_json::json!([{ "Device": { "Channel": "apns", "Token": "zz", "State": "background" } }]),
                "Recipients[0].Device.Token",
            ),
        ];
        for (recipients, key) in cases {
            let e = prepare(
                &request(recipients),
                1_800_000_000,
                &AppDoc::default(),
                100,
                true,
            )
            .unwrap_err();
            assert_eq!(e.key, key, "{e}");
        }
        assert_eq!(
            prepare(b"[1]", 0, &AppDoc::default(), 10, true)
                .unwrap_err()
                .reason,
            "a push request is a JSON object"
        );
        assert!(prepare(b"{", 0, &AppDoc::default(), 10, true)
            .unwrap_err()
            .reason
            .starts_with("not JSON"));
        let many = serde_json::json!([{ "Devices": [
            { "Channel": "apns", "Token": "a1", "State": "background" },
            { "Channel": "apns", "Token": "a2", "State": "background" }
        ] }]);
        assert_eq!(
            prepare(&request(many), 0, &AppDoc::default(), 1, true)
                .unwrap_err()
                .key,
            "Recipients"
        );
    }

    #[test]
    fn a_stored_device_decides_again_to_the_same_bytes() {
        let body = request(serde_json::json!([
            { "Account": "bob", "Device": { "Channel": "apns", "Token": "ab01", "State": "background" } }
        ]));
        let p = prepare(&body, 1_800_000_000, &AppDoc::default(), 10, true).unwrap();
        let doc = case_doc(&p.common, &p.devices[0].recipient, 1_800_000_000).unwrap();
        let lent = doc.lend().unwrap();
        let app = AppDoc::default();
        let case = lent.case(0, &app).unwrap();
        let Decision::Push(n) = decide(&case).unwrap() else {
            panic!()
        };
        let (outcome, _) = push_report(&n).unwrap();
        assert_eq!(outcome.report, p.reports[0]);
    }
}
