//! A push request → one decided and rendered push per device, at the time
//! the job is accepted (so a bad recipient fails the request whole, before
//! anything is queued). A device's record keeps what its send needs — the
//! channel, the token, the rendered body and headers, the lifetime — and
//! nothing of the request (a job whose message has a key keeps the request
//! once beside its devices, for recalls: [`crate::store::Kept`]): the send
//! path hands those bytes to the provider's client without parsing or
//! deciding again. The accepted time
//! fixes every rule (DND windows, expiry); a retry sends the same bytes.
//!
//! A request is `{Message, Sender?, Group?, App?, Recipients: [..],
//! IdempotencyKey?}`; each recipient is the case format's `Recipient`,
//! with `Devices: [Device…]` allowed in place of `Device`. Errors name the
//! key's path in the request (`Recipients[3].Devices[1].Channel`).
//!
//! Memory is bounded by the request's size: the request is read once; a
//! recipient's members are read once however many devices it lists (each
//! further device only swaps the device in the parsed case), members the
//! case format does not know are skipped, and the device count is checked
//! against `max_devices` before anything is decided.
//!
//! An edge relay that cannot afford JSON sends one job in the core's
//! postcard format instead ([`WIRE_CONTENT_TYPE`]): one case, one device,
//! decided and rendered exactly like a JSON one. Its `Now` is replaced by
//! the accepted time, as for JSON jobs; a job of another wire version, a
//! truncated or a malformed one is refused with the reason.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tidings_core::model::Case;
use tidings_core::recall::MessageKey;
use tidings_core::{decide, wire, Decision, Notification};
use tidings_std::ingest::{parse_case, AppDoc, CaseDoc, DeviceDoc, IngestError};
use tidings_std::report::{push_report, suppress_report, Outcome};

use crate::store::{DeviceRecord, DeviceState, StoredHeaders, StoredPush};

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
    pub devices: Vec<DeviceRecord>,
    pub idempotency_key: Option<String>,
    /// Per device, the `render` result object (for `?dry_run=true`).
    pub reports: Vec<Value>,
    /// The message's key (`MessageKey`'s `Display`), when it has one:
    /// the job keeps its request for recalls and edits.
    pub message_key: Option<String>,
}

/// Reads a push request and decides every device at `now` (Unix seconds).
/// With `report` (a dry run) each device's report is made and nothing is
/// rendered for sending.
pub fn prepare(
    body: &[u8],
    now: i64,
    app: &AppDoc,
    max_devices: usize,
    report: bool,
) -> Result<Prepared, BadRequest> {
    let mut devices = Vec::new();
    let mut reports = Vec::new();
    let mut message_key = None;
    let all = |_| true;
    let idempotency_key = walk(body, now, app, max_devices, all, |case, path, _, count| {
        if devices.is_empty() {
            message_key = MessageKey::of(&case.message).map(|k| k.to_string());
            devices.reserve_exact(count);
            if report {
                reports.reserve_exact(count);
            }
        }
        let (device, one) = decide_device(case, report, path.to_owned())?;
        devices.push(device);
        if report {
            reports.push(one);
        }
        Ok(())
    })?;
    Ok(Prepared {
        devices,
        idempotency_key,
        reports,
        message_key,
    })
}

/// Reads a push request and lends the case of every device `wanted` names
/// (by its index in the request) to `each`, in request order, with its
/// path (`Recipients[i]` or `Recipients[i].Devices[j]`), its index and the
/// request's device count; an error `each` returns is named at that path.
/// Devices not wanted are not read (their errors are not found). Returns
/// the request's idempotency key.
pub fn walk(
    body: &[u8],
    now: i64,
    app: &AppDoc,
    max_devices: usize,
    wanted: impl Fn(usize) -> bool,
    mut each: impl FnMut(&Case<'_>, &str, usize, usize) -> Result<(), IngestError>,
) -> Result<Option<String>, BadRequest> {
    let request = request_doc(body)?;
    if request.message.is_none() {
        return Err(bad("Message", "missing"));
    }
    let idempotency_key = match request.idempotency_key.map(|raw| raw.get()) {
        None | Some("null") => None,
        Some(raw) => match serde_json::from_str::<String>(raw) {
            Ok(key) if !key.is_empty() && key.len() <= 256 => Some(key),
            _ => return Err(bad("IdempotencyKey", "a string of 1 to 256 bytes")),
        },
    };
    let recipients: Vec<&RawValue> = match request.recipients {
        None => return Err(bad("Recipients", "missing")),
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|_| bad("Recipients", "expected an array of recipients"))?,
    };
    if recipients.is_empty() {
        return Err(bad("Recipients", "empty"));
    }
    // Every recipient's shape first: the device count is checked before
    // anything is decided.
    let mut shapes = Vec::with_capacity(recipients.len());
    let mut count = 0usize;
    for (i, recipient) in recipients.iter().enumerate() {
        let path = || format!("Recipients[{i}]");
        if !recipient.get().starts_with('{') {
            return Err(bad(path(), "expected a recipient object"));
        }
        let shape: RecipientShape<'_> =
            serde_json::from_str(recipient.get()).map_err(|e| bad(path(), e.to_string()))?;
        let listed = match shape.devices {
            None => None,
            Some(raw) => match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
                Ok(list) if !list.is_empty() => Some(list),
                _ => {
                    return Err(bad(
                        format!("{}.Devices", path()),
                        "expected a non-empty array of devices",
                    ))
                }
            },
        };
        if listed.is_some() && shape.device.is_some() {
            return Err(bad(path(), "give Device or Devices, not both"));
        }
        count = count.saturating_add(listed.as_ref().map_or(1, Vec::len));
        shapes.push((listed, shape.devices));
    }
    if count > max_devices {
        return Err(bad(
            "Recipients",
            format!("more than {max_devices} devices"),
        ));
    }
    let mut common = String::new();
    for (key, value) in [
        ("Message", request.message),
        ("Sender", request.sender),
        ("Group", request.group),
        ("App", request.app),
    ] {
        if let Some(value) = value {
            common.push('"');
            common.push_str(key);
            common.push_str("\":");
            common.push_str(value.get());
            common.push(',');
        }
    }

    let mut next = 0usize;
    for (i, (recipient, (listed, devices))) in recipients.into_iter().zip(shapes).enumerate() {
        let start = next;
        next += listed.as_ref().map_or(1, Vec::len);
        if !(start..next).any(&wanted) {
            continue;
        }
        let (path, first) = match &listed {
            None => (format!("Recipients[{i}]"), None),
            Some(list) => (format!("Recipients[{i}].Devices[0]"), list.first().copied()),
        };
        // The recipient is read and lent to the core once, with its first
        // listed device; each further device takes that device's place in
        // a copy of the case.
        let doc = case_doc(&common, recipient.get(), first, devices, now)
            .map_err(|e| in_request(e, &path))?;
        let lent = doc.lend().map_err(|e| in_request(e, &path))?;
        let case = lent.case(now, app).map_err(|e| in_request(e, &path))?;
        if wanted(start) {
            each(&case, &path, start, count).map_err(|e| in_request(e, &path))?;
        }
        for (j, raw) in listed.iter().flatten().enumerate().skip(1) {
            if !wanted(start + j) {
                continue;
            }
            let path = format!("Recipients[{i}].Devices[{j}]");
            let device = device_doc(raw).map_err(|e| in_request(e, &path))?;
            let mut this = case;
            this.recipient.device = device.device();
            each(&this, &path, start + j, count).map_err(|e| in_request(e, &path))?;
        }
    }
    Ok(idempotency_key)
}

/// The request's members, read in one pass (an object only: serde would
/// take an array as a struct's fields in order); a request that fails is
/// read again to say how.
fn request_doc(body: &[u8]) -> Result<RequestDoc<'_>, BadRequest> {
    let object = body.trim_ascii_start().first() == Some(&b'{');
    if let (true, Ok(request)) = (object, serde_json::from_slice(body)) {
        return Ok(request);
    }
    let whole: &RawValue =
        serde_json::from_slice(body).map_err(|e| bad("", format!("not JSON: {e}")))?;
    if !whole.get().starts_with('{') {
        return Err(bad("", "a push request is a JSON object"));
    }
    serde_json::from_str(whole.get()).map_err(|e| bad("", e.to_string()))
}

/// A push request's members, each kept as its text in the body (read
/// once; a case is made of them without parsing them again into values).
/// Members the request format does not know are skipped.
#[derive(Deserialize)]
struct RequestDoc<'a> {
    #[serde(rename = "Message", borrow, default)]
    message: Option<&'a RawValue>,
    #[serde(rename = "Sender", borrow, default)]
    sender: Option<&'a RawValue>,
    #[serde(rename = "Group", borrow, default)]
    group: Option<&'a RawValue>,
    #[serde(rename = "App", borrow, default)]
    app: Option<&'a RawValue>,
    #[serde(rename = "Recipients", borrow, default)]
    recipients: Option<&'a RawValue>,
    #[serde(rename = "IdempotencyKey", borrow, default)]
    idempotency_key: Option<&'a RawValue>,
}

/// What the request format adds to the case format's `Recipient`.
#[derive(Deserialize)]
struct RecipientShape<'a> {
    #[serde(rename = "Devices", borrow, default)]
    devices: Option<&'a RawValue>,
    #[serde(rename = "Device", borrow, default)]
    device: Option<&'a RawValue>,
}

/// Reads one postcard job and decides it at `now`.
pub fn prepare_wire(body: &[u8], now: i64, report: bool) -> Result<Prepared, BadRequest> {
    let job = wire::decode(body).map_err(|e| bad("", e.to_string()))?;
    let mut case = job.case();
    case.now = now;
    let (state, report, push) = decide_case(&case, report).map_err(|e| bad(e.key, e.reason))?;
    let device = case.recipient.device;
    Ok(Prepared {
        devices: vec![DeviceRecord {
            channel: device.channel.name().to_owned(),
            token: device.token.to_owned(),
            path: "job".to_owned(),
            state,
            attempts: 0,
            held_ms: 0,
            push,
        }],
        idempotency_key: None,
        reports: vec![report],
        message_key: MessageKey::of(&case.message).map(|k| k.to_string()),
    })
}

/// One recipient's case: the shared members (`"Key":value,` each), the
/// recipient as the request has it (with `device`, a listed device, put
/// in as its `Device`; the recipient's `Devices` is skipped as a member
/// the case format does not know), the accepted time — read into the
/// case format's types, which keep nothing of members they do not know.
fn case_doc(
    common: &str,
    recipient: &str,
    device: Option<&RawValue>,
    devices: Option<&RawValue>,
    now: i64,
) -> Result<CaseDoc, IngestError> {
    // The recipient's `Devices` list (most of a fan-out's bytes) is not
    // copied and read again: its value becomes `null`.
    let (before, after) = match devices.and_then(|list| around(recipient, list.get())) {
        Some((before, after)) => (before, Some(after)),
        None => (recipient, None),
    };
    let mut case = String::with_capacity(
        common.len()
            + before.len()
            + after.map_or(0, str::len)
            + device.map_or(0, |d| d.get().len())
            + 64,
    );
    case.push('{');
    case.push_str(common);
    case.push_str("\"Recipient\":");
    if let Some(device) = device {
        // The recipient is an object (checked): `{` then its members.
        case.push_str("{\"Device\":");
        case.push_str(device.get());
        case.push(',');
        case.push_str(before.get(1..).unwrap_or("}"));
    } else {
        case.push_str(before);
    }
    if let Some(after) = after {
        case.push_str("null");
        case.push_str(after);
    }
    case.push_str(",\"Now\":");
    case.push_str(&now.to_string());
    case.push('}');
    parse_case(case.as_bytes())
}

/// `text` without `part`, a slice of it: what comes before and after it
/// (`None` if `part` does not lie in `text`).
fn around<'t>(text: &'t str, part: &str) -> Option<(&'t str, &'t str)> {
    let start = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    let inside = text.get(start..end)?;
    std::ptr::eq(inside.as_ptr(), part.as_ptr()).then_some(())?;
    Some((text.get(..start)?, text.get(end..)?))
}

/// A listed device read alone; errors name the key as a case's would
/// (`Recipient.Device.Channel`).
fn device_doc(raw: &RawValue) -> Result<DeviceDoc, IngestError> {
    if let Ok(device) = serde_json::from_str(raw.get()) {
        return Ok(device);
    }
    // Read again with the path tracked, for the error's key (only a device
    // that fails pays for the bookkeeping).
    let mut reader = serde_json::Deserializer::from_str(raw.get());
    serde_path_to_error::deserialize(&mut reader).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." {
            "Recipient.Device".to_owned()
        } else {
            format!("Recipient.Device.{path}")
        };
        IngestError {
            key,
            reason: e.inner().to_string(),
        }
    })
}

/// Decides and renders one device's case: its record and its report.
fn decide_device(
    case: &Case<'_>,
    report: bool,
    path: String,
) -> Result<(DeviceRecord, Value), IngestError> {
    let (state, report, push) = decide_case(case, report)?;
    let device = case.recipient.device;
    Ok((
        DeviceRecord {
            channel: device.channel.name().to_owned(),
            token: device.token.to_owned(),
            path,
            state,
            attempts: 0,
            held_ms: 0,
            push,
        },
        report,
    ))
}

/// A case's first state, its report (a dry run's) and its rendered push:
/// suppressed with the reason, or queued with the bytes to send.
fn decide_case(
    case: &Case<'_>,
    report: bool,
) -> Result<(DeviceState, Value, Option<StoredPush>), IngestError> {
    match decide(case)? {
        Decision::Suppress(reason) => {
            let Outcome { report, .. } = suppress_report(reason);
            let state = DeviceState::Suppressed {
                reason: reason.name().to_owned(),
            };
            Ok((state, report, None))
        }
        Decision::Push(n) if report => {
            let (outcome, _) = push_report(&n)?;
            Ok((DeviceState::Queued, outcome.report, None))
        }
        Decision::Push(n) => Ok((DeviceState::Queued, Value::Null, Some(render_push(&n)?))),
    }
}

thread_local! {
    /// Each thread's render buffer, made once (as large as the report's,
    /// so only provider limits ever cut text).
    static RENDER: std::cell::RefCell<Vec<u8>> =
        std::cell::RefCell::new(vec![0; tidings_std::report::RENDER_BUFFER]);
}

/// Renders a decided push for sending: the bytes and the headers, owned.
pub fn render_push(n: &Notification<'_>) -> Result<StoredPush, IngestError> {
    let rendered = render_stored(n, |n, buffer| Some(tidings_core::render(n, buffer)));
    rendered.unwrap_or_else(|| Err(unrendered("nothing was rendered")))
}

fn unrendered(reason: &str) -> IngestError {
    IngestError {
        key: String::new(),
        reason: reason.into(),
    }
}

/// Renders `n` with `render` (a push, a replacement, a revoke, a
/// removal) into this thread's buffer: the bytes and the headers, owned,
/// with `n`'s lifetime; `None` when `render` has nothing for it.
pub fn render_stored<'a>(
    n: &Notification<'a>,
    render: impl FnOnce(
        &Notification<'a>,
        &mut [u8],
    ) -> Option<Result<tidings_core::Rendered<'a>, tidings_core::Error>>,
) -> Option<Result<StoredPush, IngestError>> {
    RENDER.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        let rendered = match render(n, &mut buffer)? {
            Ok(rendered) => rendered,
            Err(e) => return Some(Err(e.into())),
        };
        let bytes = buffer.get(..rendered.len).unwrap_or_default();
        let Ok(body) = std::str::from_utf8(bytes) else {
            return Some(Err(unrendered("the rendered body is not UTF-8")));
        };
        Some(Ok(StoredPush {
            body: body.to_owned(),
            headers: StoredHeaders::of(&rendered.headers),
            expires_at: n.expires_at(),
            life_time: n.case.message.life_time,
        }))
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
                { "Channel": "fcm", "Token": "ab03", "State": "background" }
            ] }
        ]));
        let p = prepare(&body, 1_800_000_000, &AppDoc::default(), 100, true).unwrap();
        let summary: Vec<(&str, &str, &str, &str)> = p
            .devices
            .iter()
            .map(|d| {
                (
                    d.path.as_str(),
                    d.channel.as_str(),
                    d.token.as_str(),
                    d.state.name(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("Recipients[0]", "apns", "ab01", "queued"),
                ("Recipients[1].Devices[0]", "apns", "ab02", "suppressed"),
                ("Recipients[1].Devices[1]", "fcm", "ab03", "queued"),
            ]
        );
        assert_eq!(p.idempotency_key.as_deref(), Some("k1"));
        assert_eq!(p.reports[0]["Body"], "Ann:hi");
        assert_eq!(p.reports[1]["Reason"], "Foreground");
        assert_eq!(p.reports[2]["Channel"], "fcm");
    }

    #[test]
    fn around_splits_a_text_at_a_slice_of_it_only() {
        let text = r#"{"A":1,"Devices":[1,2],"B":2}"#;
        let list = &text[17..22];
        assert_eq!(list, "[1,2]");
        assert_eq!(
            around(text, list),
            Some((r#"{"A":1,"Devices":"#, r#","B":2}"#))
        );
        let elsewhere = String::from("[1,2]");
        assert_eq!(around(text, &elsewhere), None);
    }

    #[test]
    fn a_walk_reads_only_the_devices_it_wants() {
        // Device 2 is broken, but not wanted: a recall re-reading devices 1
        // and 3 of a request does not read the others.
        let body = request(serde_json::json!([
            { "Account": "bob", "Device": { "Channel": "apns", "Token": "ab00", "State": "background" } },
            { "Account": "bob", "Devices": [
                { "Channel": "apns", "Token": "ab01", "State": "background" },
                { "Channel": "pigeon", "Token": "ab02", "State": "background" },
                { "Channel": "fcm", "Token": "ab03", "State": "background" }
            ] }
        ]));
        let mut seen = Vec::new();
        let wanted = |i: usize| i == 1 || i == 3;
        walk(
            &body,
            1_800_000_000,
            &AppDoc::default(),
            100,
            wanted,
            |case, path, i, n| {
                seen.push((
                    i,
                    n,
                    path.to_owned(),
                    case.recipient.device.token.to_owned(),
                ));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(
            seen,
            [
                (
                    1,
                    4,
                    "Recipients[1].Devices[0]".to_owned(),
                    "ab01".to_owned()
                ),
                (
                    3,
                    4,
                    "Recipients[1].Devices[2]".to_owned(),
                    "ab03".to_owned()
                ),
            ]
        );
        let Err(e) = walk(
            &body,
            1_800_000_000,
            &AppDoc::default(),
            100,
            |_| true,
            |_, _, _, _| Ok(()),
        ) else {
            panic!("the broken device was not read");
        };
        assert_eq!(e.key, "Recipients[1].Devices[1].Channel");
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
            (
                serde_json::json!([{ "Devices": [{ "Channel": "apns", "Token": "a", "State": "background" }, { "Channel": "apns", "Token": "zz", "State": "background" }] }]),
                "Recipients[0].Devices[1].Token",
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
        let e = prepare(&request(many), 0, &AppDoc::default(), 1, true).unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.reason.as_str()),
            ("Recipients", "more than 1 devices")
        );
    }

    #[test]
    fn a_stored_push_is_the_bytes_render_makes() {
        let body = request(serde_json::json!([
            { "Account": "bob", "Devices": [
                { "Channel": "apns", "Token": "ab01", "State": "background" },
                { "Channel": "huawei", "Token": "hw01", "State": "background" }
            ] }
        ]));
        let dry = prepare(&body, 1_800_000_000, &AppDoc::default(), 10, true).unwrap();
        let real = prepare(&body, 1_800_000_000, &AppDoc::default(), 10, false).unwrap();
        for (report, device) in dry.reports.iter().zip(&real.devices) {
            let push = device.push.as_ref().unwrap();
            let payload: Value = serde_json::from_str(&push.body).unwrap();
            assert_eq!(report["Payload"], payload, "{}", device.channel);
            assert!(push.headers.lend().is_some());
        }
        assert!(real.reports.iter().all(Value::is_null));
        assert!(dry.devices.iter().all(|d| d.push.is_none()));
    }

    #[test]
    fn unknown_members_are_not_kept_per_device() {
        let filler = "x".repeat(64 * 1024);
        let devices: Vec<Value> = (0..50)
            .map(|i| serde_json::json!({ "Channel": "apns", "Token": format!("ab{i:02}"), "State": "background" }))
            .collect();
        let body = request(serde_json::json!([
            { "Account": "bob", "Unknown": filler, "Devices": devices }
        ]));
        let p = prepare(&body, 1_800_000_000, &AppDoc::default(), 100, false).unwrap();
        assert_eq!(p.devices.len(), 50);
        let kept: usize = p
            .devices
            .iter()
            .map(|d| d.push.as_ref().map_or(0, |p| p.body.len()) + d.token.len() + d.path.len())
            .sum();
        assert!(kept < 50 * 1024, "{kept} bytes kept for 50 devices");
    }
}
