//! `tidings explain`: why one case was decided as it was, from the core's
//! trace (`tidings_core::explain`), as the render result object with
//! `Rules`, `Sources` and `Cut` added (for tools) and as a readable report.
//! A message with a key adds `MessageKey` (`c2c:<MsgKey>` or
//! `group:<GroupId>:<MsgSeq>`) and `ReplaceKey`: each field the device's
//! provider carries it in, with the value sent.

use std::fmt::Write as _;

use serde_json::{json, Map, Value};
use tidings_core::explain::{self, Check, KeyValue, Read, Removed, Sources, Trace};
use tidings_core::model::{Channel, DeviceState, DndWindow, Elem, ReceiveOpt};
use tidings_core::render::{harmony, Headers, Rendered};
use tidings_core::text::{fragment, Body};
use tidings_core::{Decision, Field, Notification};

use crate::ingest::{parse_case, IngestError};
use crate::report::{push_report, suppress_report, RunConfig};

/// One case explained.
#[derive(Debug, Clone)]
pub struct Explained {
    /// The render result object plus `Rules`, `Sources` (push) and `Cut` (push).
    pub report: Value,
    /// The same for a person.
    pub text: String,
}

/// Reads, decides (traced), renders and explains one case.
pub fn explain_case(json: &[u8], config: &RunConfig) -> Result<Explained, IngestError> {
    let doc = parse_case(json)?;
    let lent = doc.lend()?;
    let case = lent.case(config.now, &config.app)?;
    let explained = explain::explain(&case)?;
    let trace = &explained.trace;
    let mut report = match explained.decision {
        Decision::Suppress(reason) => suppress_report(reason).report,
        Decision::Push(n) => {
            let (outcome, rendered) = push_report(&n)?;
            let mut report = outcome.report;
            if let (Value::Object(map), Some(sources)) = (&mut report, trace.sources) {
                map.insert("Sources".into(), sources_json(&n, &sources));
                let cuts: Vec<Value> = explain::cuts(&n, &rendered)
                    .into_iter()
                    .flatten()
                    .map(cut_json)
                    .collect();
                map.insert("Cut".into(), cuts.into());
                if let Some(key) = n.message_key() {
                    map.insert("MessageKey".into(), key.to_string().into());
                    map.insert("ReplaceKey".into(), replace_json(&n, &rendered));
                }
            }
            report
        }
    };
    if let Value::Object(map) = &mut report {
        map.insert("Rules".into(), rules_json(trace));
    }
    let text = text_report(&report);
    Ok(Explained { report, text })
}

fn rules_json(trace: &Trace<'_>) -> Value {
    let checks: Vec<&Check<'_>> = trace.checks().collect();
    explain::ORDER
        .iter()
        .map(|reason| {
            let check = checks.iter().find(|c| c.reason == *reason);
            json!({
                "Row": explain::row(*reason),
                "Check": reason.name(),
                "Fired": check.map(|c| c.fired),
                "Read": check.map_or(Value::Null, |c| read_json(&c.read)),
            })
        })
        .collect::<Vec<_>>()
        .into()
}

fn read_json(read: &Read<'_>) -> Value {
    match *read {
        Read::SystemMessage { is_system } => json!({ "IsSystem": is_system }),
        Read::GroupTips { group_tips } => json!({ "TIMGroupTipElem": group_tips }),
        Read::OnlineOnly {
            online_only,
            life_time,
        } => json!({ "OnlineOnlyFlag": online_only, "MsgLifeTime": life_time }),
        Read::PushDisabledByMessage {
            push_info,
            push_flag,
        } => json!({ "OfflinePushInfo": push_info, "PushFlag": push_flag }),
        Read::NoPushInfo { origin, push_info } => {
            json!({ "Origin": format!("{origin:?}"), "OfflinePushInfo": push_info })
        }
        Read::GroupTypeNoPush { group_type } => {
            json!({ "Group.Type": group_type.map(|t| format!("{t:?}")) })
        }
        Read::SelfSent { sender, recipient } => {
            json!({ "From_Account": sender, "Recipient.Account": recipient })
        }
        Read::NoDisplayText { body } => json!({ "Body": body.segments().collect::<String>() }),
        Read::RecipientLoggedOut { state } | Read::Foreground { state } => {
            json!({ "State": state_name(state) })
        }
        Read::NoToken { token_set } => json!({ "Token": if token_set { "set" } else { "empty" } }),
        Read::PushDisabledByUser { push_enabled } => json!({ "PushEnabled": push_enabled }),
        Read::MutedConversation {
            receive_opt,
            applies,
        } => json!({ "ReceiveOpt": opt_code(receive_opt), "Applies": applies }),
        Read::NotMentioned {
            receive_opt,
            applies,
            mentioned,
        } => json!({
            "ReceiveOpt": opt_code(receive_opt),
            "Applies": applies,
            "Mentioned": mentioned,
        }),
        Read::MutedGlobal {
            global_receive_opt,
            dnd,
            in_window,
        } => json!({
            "GlobalReceiveOpt": opt_code(global_receive_opt),
            "Dnd": dnd.map_or_else(|| "none: all the time".to_owned(), dnd_text),
            "InWindow": in_window,
        }),
    }
}

fn state_name(state: DeviceState) -> &'static str {
    match state {
        DeviceState::Foreground => "foreground",
        DeviceState::Background => "background",
        DeviceState::PushOnline => "push_online",
        DeviceState::Offline => "offline",
    }
}

fn opt_code(opt: ReceiveOpt) -> u8 {
    match opt {
        ReceiveOpt::Receive => 0,
        ReceiveOpt::NotReceive => 1,
        ReceiveOpt::NotNotify => 2,
        ReceiveOpt::NotNotifyExceptAt => 3,
        ReceiveOpt::NotReceiveExceptAt => 4,
    }
}

fn dnd_text(window: DndWindow) -> String {
    match window {
        DndWindow::Daily {
            start_second,
            duration,
            utc_offset,
        } => format!("daily from second {start_second} for {duration} s at UTC{utc_offset:+} s"),
        DndWindow::Absolute { start, duration } => format!("from {start} for {duration} s"),
    }
}

fn elem_type(elem: &Elem<'_>) -> &'static str {
    match elem {
        Elem::Text(_) => "TIMTextElem",
        Elem::Image => "TIMImageElem",
        Elem::Sound => "TIMSoundElem",
        Elem::File => "TIMFileElem",
        Elem::Video => "TIMVideoFileElem",
        Elem::Face => "TIMFaceElem",
        Elem::Location => "TIMLocationElem",
        Elem::Custom(_) => "TIMCustomElem",
        Elem::Relay(_) => "TIMRelayElem",
        Elem::GroupTips => "TIMGroupTipElem",
    }
}

fn from(field: Option<Field>) -> Value {
    field.map_or(Value::Null, |f| f.key().into())
}

fn sources_json(n: &Notification<'_>, s: &Sources) -> Value {
    let body = match tidings_core::render::body(n) {
        Body::Desc(desc) => json!({ "From": Field::Desc.key(), "Value": desc }),
        Body::Composed {
            name,
            group_name,
            elems,
            locale,
        } => json!({
            "From": Field::MsgBody.key(),
            "Name": name,
            "GroupName": group_name,
            "Elems": elems
                .iter()
                .map(|e| json!({ "MsgType": elem_type(e), "Fragment": fragment(e, locale) }))
                .collect::<Vec<_>>(),
        }),
    };
    let mut map = Map::new();
    map.insert("Body".into(), body);
    let setting =
        |field: Option<Field>, value: Value| json!({ "From": from(field), "Value": value });
    map.insert(
        "IosTitle".into(),
        setting(s.ios_title, n.ios_title().into()),
    );
    map.insert(
        "AndroidTitle".into(),
        setting(s.android_title, n.android_title().into()),
    );
    map.insert(
        "IosSound".into(),
        setting(s.ios_sound, n.ios_sound().into()),
    );
    map.insert(
        "AndroidSound".into(),
        setting(s.android_sound, n.android_sound().into()),
    );
    let harmony = n.case.recipient.device.channel == Channel::Harmony;
    let badge = if harmony && n.badge().is_some() && !harmony::adds_badge(n) {
        setting(Some(Field::IgnoreHarmonyBadge), Value::Null)
    } else {
        setting(Some(s.badge), n.badge().into())
    };
    map.insert("Badge".into(), badge);
    map.insert("Ext".into(), setting(s.ext, n.ext().into()));
    map.insert("Expiry".into(), setting(s.expiry, n.expires_at().into()));
    // Rendered already, so the category is one HarmonyOS takes.
    if let (true, Ok((category, field))) = (harmony, harmony::category(n)) {
        map.insert("HarmonyCategory".into(), setting(field, category.into()));
    }
    map.into()
}

/// Each field the device's provider carries the replace key in, with the
/// value sent (APNs: the `apns-collapse-id` header as rendered, which an
/// explicit `ApnsInfo.CollapseId` takes).
fn replace_json(n: &Notification<'_>, rendered: &Rendered<'_>) -> Value {
    let Some(key) = n.replace_key() else {
        return Value::Null;
    };
    let channel = n.case.recipient.device.channel;
    let mut fields = Map::new();
    for &(field, part) in explain::replace_fields(channel) {
        let value = match (&rendered.headers, part.of(&key)) {
            (Headers::Apns(h), _) => h.collapse_id.as_ref().map(|c| c.as_str()).into(),
            (_, KeyValue::Text(text)) => text.into(),
            (_, KeyValue::Number(number)) => number.into(),
        };
        fields.insert(field.into(), value);
    }
    fields.into()
}

fn cut_json(r: Removed) -> Value {
    json!({
        "Field": if r.field == Field::Title { "title" } else { "body" },
        "KeptBytes": r.kept_bytes,
        "RemovedBytes": r.removed_bytes,
        "RemovedChars": r.removed_chars,
    })
}

/// A JSON value in one line: strings quoted, `null` as `-`.
fn short(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// The readable report, built from the JSON one (so both say the same).
pub fn text_report(report: &Value) -> String {
    let mut out = String::new();
    let decision = report["Decision"].as_str().unwrap_or("?");
    if decision == "suppress" {
        let reason = report["Reason"].as_str().unwrap_or("?");
        let row = report["Rules"]
            .as_array()
            .and_then(|rules| rules.iter().find(|r| r["Check"] == reason))
            .map_or("?", |r| r["Row"].as_str().unwrap_or("?"));
        let _ = writeln!(
            out,
            "Decision: suppress ({reason}, push-rules §2.1 row {row})"
        );
    } else {
        let _ = writeln!(
            out,
            "Decision: push on {}",
            report["Channel"].as_str().unwrap_or("?")
        );
    }
    let _ = writeln!(
        out,
        "\nRules (push-rules §2.1, in order; the first that fires decides):"
    );
    for rule in report["Rules"].as_array().into_iter().flatten() {
        let fired = match rule["Fired"].as_bool() {
            Some(true) => "FIRED",
            Some(false) => "no",
            None => "-",
        };
        let read = match rule["Read"].as_object() {
            None => "not reached".to_owned(),
            Some(read) => read
                .iter()
                .map(|(k, v)| format!("{k}={}", short(v)))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let _ = writeln!(
            out,
            "  {:>4}  {:<22} {:<5}  {read}",
            rule["Row"].as_str().unwrap_or("?"),
            rule["Check"].as_str().unwrap_or("?"),
            fired
        );
    }
    if decision != "push" {
        return out;
    }
    let sources = &report["Sources"];
    let _ = writeln!(out, "\nSources (where each setting came from):");
    let body = &sources["Body"];
    match body["Elems"].as_array() {
        None => {
            let _ = writeln!(
                out,
                "  {:<14} {}",
                "body",
                body["From"].as_str().unwrap_or("?")
            );
        }
        Some(elems) => {
            let _ = writeln!(
                out,
                "  {:<14} composed from {}: name {}, group {}",
                "body",
                body["From"].as_str().unwrap_or("?"),
                short(&body["Name"]),
                short(&body["GroupName"])
            );
            for elem in elems {
                let _ = writeln!(
                    out,
                    "  {:<14}   {} -> {}",
                    "",
                    elem["MsgType"].as_str().unwrap_or("?"),
                    short(&elem["Fragment"])
                );
            }
        }
    }
    for (key, label) in [
        ("IosTitle", "iOS title"),
        ("AndroidTitle", "Android title"),
        ("IosSound", "iOS sound"),
        ("AndroidSound", "Android sound"),
        ("Badge", "badge"),
        ("Ext", "ext"),
        ("Expiry", "expiry"),
        ("HarmonyCategory", "category"),
    ] {
        let s = &sources[key];
        if s.is_null() {
            // A channel's own setting, absent on the others.
            continue;
        }
        let value = short(&s["Value"]);
        let _ = match s["From"].as_str() {
            Some(from) => writeln!(out, "  {label:<14} {value} from {from}"),
            None => writeln!(out, "  {label:<14} {value} (no source set it: the default)"),
        };
    }
    let _ = writeln!(out, "\nSent:");
    let _ = writeln!(out, "  {:<14} {}", "title", short(&report["Title"]));
    let _ = writeln!(out, "  {:<14} {}", "body", short(&report["Body"]));
    let _ = writeln!(
        out,
        "  {:<14} {}",
        "payload bytes",
        short(&report["PayloadBytes"])
    );
    if let Some(key) = report["MessageKey"].as_str() {
        let _ = writeln!(out, "\nMessage key: {key}; replace key as sent:");
        for (field, value) in report["ReplaceKey"].as_object().into_iter().flatten() {
            let _ = writeln!(out, "  {field:<14} {}", short(value));
        }
    }
    let _ = write!(out, "\nCut:");
    match report["Cut"].as_array() {
        Some(cuts) if !cuts.is_empty() => {
            let _ = writeln!(out);
            for cut in cuts {
                let _ = writeln!(
                    out,
                    "  {:<14} kept {} bytes, removed {} bytes ({} chars), then …",
                    cut["Field"].as_str().unwrap_or("?"),
                    cut["KeptBytes"],
                    cut["RemovedBytes"],
                    cut["RemovedChars"]
                );
            }
        }
        _ => {
            let _ = writeln!(out, " none");
        }
    }
    let _ = write!(out, "\nLints:");
    match report["Lints"].as_array() {
        Some(lints) if !lints.is_empty() => {
            let _ = writeln!(out);
            for lint in lints {
                let _ = writeln!(
                    out,
                    "  {:<8} {:<17} {} ({})",
                    lint["Severity"].as_str().unwrap_or("?"),
                    lint["Code"].as_str().unwrap_or("?"),
                    lint["Advice"].as_str().unwrap_or("?"),
                    lint["Source"].as_str().unwrap_or("?")
                );
            }
        }
        _ => {
            let _ = writeln!(out, " none");
        }
    }
    out
}
