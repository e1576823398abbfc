//! Recall and edit (beyond.md §13): what names a message (`POST
//! /v1/recall`, Tencent IM's recall callbacks), how a callback is
//! authenticated, and `[recall]`.
//!
//! The queue does the work — the local store ([`crate::store::Store::recall`])
//! or JetStream ([`crate::nats::Nats::recall`], its race rule in
//! [`crate::nats`]), with the same answers and one [`RecallRenderer`]: a message's
//! devices still queued are not sent, those sent get a silent replacement
//! with the same replace key (or the provider's revoke, or, for apps that
//! opted in, a removal push), those being sent settle with their result —
//! so a device gets either nothing or exactly one replacement.
//!
//! Tencent IM's callbacks (`C2C.CallbackAfterMsgWithDraw`: `From_Account`,
//! `To_Account`, `MsgKey`; `Group.CallbackAfterRecallMsg`: `GroupId`,
//! `MsgSeqList[{MsgSeq}]`) arrive as Tencent sends them: `POST
//! <url>?SdkAppid=…&CallbackCommand=…&contenttype=json&ClientIP=…&OptPlatform=…`
//! and, with the console's callback authentication on, `&RequestTime=…&Sign=…`.
//! They are answered `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`;
//! any other command is answered the same and does nothing (an "after"
//! callback's answer changes nothing at Tencent, and a backend may point
//! every callback at one URL).

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::Digest as _;
use subtle::ConstantTimeEq as _;
use tidings_core::model::{Case, Channel};
use tidings_core::recall::{MessageKey, Replacement};
use tidings_core::{decide, wire, Decision, Notification};
use tidings_std::config::{Config, ConfigError};
use tidings_std::ingest::{AppDoc, IngestError};

use crate::job::{render_push, render_stored, walk};
use crate::store::{
    DeviceRecord, DeviceState, Follow, JobForm, JobRecord, Kept, Renderer, StoredHeaders,
    StoredPush,
};

/// How far a callback's `RequestTime` may be from the gateway's clock:
/// a captured callback URL is refused once it is older.
pub const CALLBACK_WINDOW_SECS: i64 = 300;

/// `[recall]`, read and checked (`Debug` hides the callback token).
#[derive(Clone, Default)]
pub struct RecallSettings {
    /// Channels whose recall is a removal push (`recall.remove_on`).
    pub remove_on: Vec<Channel>,
    /// Tencent IM's callback authentication token.
    pub callback_token: Option<String>,
    /// The `SdkAppid` callbacks must name.
    pub sdk_app_id: Option<String>,
}

impl std::fmt::Debug for RecallSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecallSettings")
            .field("remove_on", &self.remove_on)
            .field(
                "callback_token",
                &self.callback_token.as_ref().map(|_| "<hidden>"),
            )
            .field("sdk_app_id", &self.sdk_app_id)
            .finish()
    }
}

impl RecallSettings {
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let table = config.recall.clone().unwrap_or_default();
        let mut remove_on = Vec::new();
        for name in table.remove_on.iter().flat_map(|l| l.split(',')) {
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            let channel = match name {
                "apns" => Channel::Apns,
                "fcm" => Channel::Fcm,
                other => {
                    return Err(ConfigError::new(
                        "recall.remove_on",
                        format!("{other:?}: only \"apns\" and \"fcm\" have a removal push"),
                    ))
                }
            };
            if !remove_on.contains(&channel) {
                remove_on.push(channel);
            }
        }
        let callback_token = table.callback_token.filter(|t| !t.is_empty());
        if callback_token.as_ref().is_some_and(|t| t.len() > 128) {
            return Err(ConfigError::new(
                "recall.callback_token",
                "Tencent's callback tokens are 1 to 128 characters",
            ));
        }
        Ok(Self {
            remove_on,
            callback_token,
            sdk_app_id: table.sdk_app_id.filter(|t| !t.is_empty()),
        })
    }
}

/// A request that cannot be used: the key and why (a 400).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct Refused {
    pub key: &'static str,
    pub reason: String,
}

fn refused(key: &'static str, reason: impl Into<String>) -> Refused {
    Refused {
        key,
        reason: reason.into(),
    }
}

/// The most bytes an edit's text may have (Tencent's text element takes
/// 12 KB; a push shows far less).
pub const MAX_EDIT_BYTES: usize = 12 * 1024;

/// `POST /v1/recall`'s body, read: the message key and the edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecallRequest {
    /// `MessageKey`'s `Display`.
    pub message_key: String,
    pub edit: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecallDoc<'a> {
    #[serde(rename = "MessageKey", borrow, default)]
    message_key: Option<&'a RawValue>,
    #[serde(rename = "GroupId", borrow, default)]
    group_id: Option<&'a RawValue>,
    #[serde(rename = "MsgSeq", borrow, default)]
    msg_seq: Option<&'a RawValue>,
    #[serde(rename = "Edit", borrow, default)]
    edit: Option<&'a RawValue>,
}

/// A member as `T`, or a 400 naming it.
fn member<'a, T: Deserialize<'a>>(
    raw: &'a RawValue,
    key: &'static str,
    expected: &str,
) -> Result<T, Refused> {
    serde_json::from_str(raw.get()).map_err(|_| refused(key, format!("expected {expected}")))
}

fn non_empty(text: String, key: &'static str) -> Result<String, Refused> {
    if text.is_empty() {
        Err(refused(key, "empty"))
    } else {
        Ok(text)
    }
}

impl RecallRequest {
    /// `{"MessageKey": "<MsgKey>"}` (C2C) or `{"GroupId": "…", "MsgSeq":
    /// N}` (group), with `"Edit": "new text"` for an edit.
    pub fn parse(body: &[u8]) -> Result<Self, Refused> {
        let doc: RecallDoc<'_> = serde_json::from_slice(body).map_err(|e| {
            refused(
                "",
                format!(
                    "a recall is a JSON object of MessageKey, or GroupId and MsgSeq, and Edit: {e}"
                ),
            )
        })?;
        let key = match (doc.message_key, doc.group_id, doc.msg_seq) {
            (Some(raw), None, None) => {
                let msg_key = non_empty(member(raw, "MessageKey", "a string")?, "MessageKey")?;
                MessageKey::C2c { msg_key: &msg_key }.to_string()
            }
            (None, Some(group), Some(seq)) => {
                let group_id = non_empty(member(group, "GroupId", "a string")?, "GroupId")?;
                let msg_seq = member(seq, "MsgSeq", "a whole number from 0")?;
                MessageKey::Group {
                    group_id: &group_id,
                    msg_seq,
                }
                .to_string()
            }
            (None, Some(_), None) => return Err(refused("MsgSeq", "missing (with GroupId)")),
            (None, None, Some(_)) => return Err(refused("GroupId", "missing (with MsgSeq)")),
            (None, None, None) => {
                return Err(refused("MessageKey", "missing (or GroupId and MsgSeq)"))
            }
            (Some(_), _, _) => {
                return Err(refused(
                    "MessageKey",
                    "give MessageKey (C2C) or GroupId and MsgSeq (group), not both",
                ))
            }
        };
        let edit = match doc.edit {
            None => None,
            Some(raw) if raw.get() == "null" => None,
            Some(raw) => {
                let text = non_empty(member(raw, "Edit", "a string")?, "Edit")?;
                if text.len() > MAX_EDIT_BYTES {
                    return Err(refused("Edit", format!("more than {MAX_EDIT_BYTES} bytes")));
                }
                Some(text)
            }
        };
        Ok(Self {
            message_key: key,
            edit,
        })
    }
}

/// A Tencent IM callback's query string, as Tencent writes it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CallbackQuery {
    #[serde(rename = "SdkAppid")]
    pub sdk_app_id: Option<String>,
    #[serde(rename = "CallbackCommand")]
    pub command: Option<String>,
    pub contenttype: Option<String>,
    #[serde(rename = "ClientIP")]
    pub client_ip: Option<String>,
    #[serde(rename = "OptPlatform")]
    pub opt_platform: Option<String>,
    /// With callback authentication: Unix seconds, and
    /// `hex(sha256(token + RequestTime))`.
    #[serde(rename = "RequestTime")]
    pub request_time: Option<String>,
    #[serde(rename = "Sign")]
    pub sign: Option<String>,
    /// Without it: an API token.
    pub token: Option<String>,
}

/// Why a callback is refused (a 401; the reason names what to fix, never
/// a secret).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unauthenticated(pub String);

/// Checks a callback's authentication: with `recall.callback_token`,
/// Tencent's `Sign` over `RequestTime` (within [`CALLBACK_WINDOW_SECS`] of
/// `now_secs`); without it, `token` against the API tokens (none
/// configured: open, as the rest of the API). Compared in constant time.
/// With `recall.sdk_app_id`, the query's `SdkAppid` must be it.
pub fn authenticate(
    settings: &RecallSettings,
    api_tokens: &[String],
    query: &CallbackQuery,
    now_secs: i64,
) -> Result<(), Unauthenticated> {
    let no = |why: &str| Err(Unauthenticated(why.to_owned()));
    if let Some(expected) = &settings.sdk_app_id {
        if query.sdk_app_id.as_deref() != Some(expected.as_str()) {
            return no("SdkAppid is not recall.sdk_app_id");
        }
    }
    if let Some(token) = &settings.callback_token {
        let (Some(time), Some(sign)) = (&query.request_time, &query.sign) else {
            return no("RequestTime and Sign are needed (recall.callback_token is set)");
        };
        let Ok(at) = time.parse::<i64>() else {
            return no("RequestTime is not Unix seconds");
        };
        if now_secs.abs_diff(at) > CALLBACK_WINDOW_SECS.unsigned_abs() {
            return no("RequestTime is too far from the gateway's clock");
        }
        let expected = callback_sign(token, time);
        if bool::from(
            expected
                .as_bytes()
                .ct_eq(sign.to_ascii_lowercase().as_bytes()),
        ) {
            return Ok(());
        }
        return no("Sign is not sha256(recall.callback_token + RequestTime)");
    }
    if api_tokens.is_empty() {
        return Ok(());
    }
    let given = query.token.as_deref().unwrap_or("");
    let mut found = subtle::Choice::from(0);
    for token in api_tokens {
        found |= token.as_bytes().ct_eq(given.as_bytes());
    }
    if bool::from(found) && !given.is_empty() {
        Ok(())
    } else {
        no("a token query parameter of server.api_tokens is needed (or set recall.callback_token)")
    }
}

/// Tencent IM's callback signature: `hex(sha256(token + RequestTime))`.
pub fn callback_sign(token: &str, request_time: &str) -> String {
    let mut hash = sha2::Sha256::new();
    hash.update(token.as_bytes());
    hash.update(request_time.as_bytes());
    hex::encode(hash.finalize())
}

/// The C2C recall callback's command.
pub const C2C_WITHDRAW: &str = "C2C.CallbackAfterMsgWithDraw";
/// The group recall callback's command.
pub const GROUP_RECALL: &str = "Group.CallbackAfterRecallMsg";

#[derive(Deserialize)]
struct C2cWithdraw {
    #[serde(rename = "MsgKey")]
    msg_key: String,
}

#[derive(Deserialize)]
struct GroupRecall {
    #[serde(rename = "GroupId")]
    group_id: String,
    #[serde(rename = "MsgSeqList")]
    msg_seq_list: Vec<SeqEntry>,
}

#[derive(Deserialize)]
struct SeqEntry {
    #[serde(rename = "MsgSeq")]
    msg_seq: u64,
}

/// Most messages one group recall callback may name.
pub const MAX_MESSAGES_PER_CALLBACK: usize = 100;

/// The message keys a callback recalls (none for another command). The
/// command is the query's `CallbackCommand`, else the body's.
pub fn callback_keys(query: &CallbackQuery, body: &[u8]) -> Result<Vec<String>, Refused> {
    #[derive(Deserialize)]
    struct Command {
        #[serde(rename = "CallbackCommand")]
        command: Option<String>,
    }
    let command = match &query.command {
        Some(c) => c.clone(),
        None => serde_json::from_slice::<Command>(body)
            .ok()
            .and_then(|c| c.command)
            .unwrap_or_default(),
    };
    let read = |e: serde_json::Error| refused("", format!("{command}: {e}"));
    match command.as_str() {
        C2C_WITHDRAW => {
            let body: C2cWithdraw = serde_json::from_slice(body).map_err(read)?;
            let msg_key = non_empty(body.msg_key, "MsgKey")?;
            Ok(vec![MessageKey::C2c { msg_key: &msg_key }.to_string()])
        }
        GROUP_RECALL => {
            let body: GroupRecall = serde_json::from_slice(body).map_err(read)?;
            let group_id = non_empty(body.group_id, "GroupId")?;
            // Each message is a recall of its own (a store transaction,
            // or NATS reads and writes): a callback names a few, never a
            // body's worth.
            if body.msg_seq_list.len() > MAX_MESSAGES_PER_CALLBACK {
                return Err(refused(
                    "MsgSeqList",
                    format!("at most {MAX_MESSAGES_PER_CALLBACK} messages in one callback"),
                ));
            }
            Ok(body
                .msg_seq_list
                .iter()
                .map(|e| {
                    MessageKey::Group {
                        group_id: &group_id,
                        msg_seq: e.msg_seq,
                    }
                    .to_string()
                })
                .collect())
        }
        _ => Ok(Vec::new()),
    }
}

/// Renders a keyed job's recall or edit from its kept request, decided
/// again at the job's accepted time (so each device's case, and its
/// replace key, is the one its first push was rendered from).
///
/// Per device: an edit → a silent replacement with the edit's text; a
/// recall → on a channel of `recall.remove_on` a removal push, else on a
/// channel with a revoke API (Xiaomi, HarmonyOS) a revoke, else a silent
/// replacement saying the message was recalled (per the recipient's
/// locale). A replacement is sent whatever the message's `MsgLifeTime`:
/// the notification it replaces is shown until replaced.
#[derive(Clone, Debug)]
pub struct RecallRenderer {
    pub app: AppDoc,
    pub remove_on: Vec<Channel>,
}

impl Renderer for RecallRenderer {
    fn render(
        &self,
        job: &JobRecord,
        kept: &Kept,
        edit: Option<&str>,
        indices: &[u32],
    ) -> Vec<(u32, Follow, DeviceRecord)> {
        let mut out = Vec::new();
        if indices.is_empty() {
            return out;
        }
        let mut wanted = indices.to_vec();
        wanted.sort_unstable();
        let now = i64::try_from(job.accepted_ms / 1000).unwrap_or(i64::MAX);
        // Only the devices asked for are read again.
        let asked = |i: usize| u32::try_from(i).is_ok_and(|i| wanted.binary_search(&i).is_ok());
        let mut each =
            |case: &Case<'_>, path: &str, this: usize, _: usize| -> Result<(), IngestError> {
                let this = u32::try_from(this).unwrap_or(u32::MAX);
                if let Decision::Push(n) = decide(case)? {
                    if let Some((follow, push)) = self.follow(&n, edit)? {
                        let device = case.recipient.device;
                        out.push((
                            this,
                            follow,
                            DeviceRecord {
                                channel: device.channel.name().to_owned(),
                                token: device.token.to_owned(),
                                path: path.to_owned(),
                                state: DeviceState::Queued,
                                attempts: 0,
                                held_ms: 0,
                                push: Some(push),
                            },
                        ));
                    }
                }
                Ok(())
            };
        let walked = match (&job.form, &kept.request) {
            // A wire job is one device: nothing to read unless it is asked for.
            (JobForm::Wire { .. }, _) if !asked(0) => Ok(()),
            (JobForm::Wire { bytes }, _) => match wire::decode(bytes) {
                Ok(wired) => {
                    let mut case = wired.case();
                    case.now = now;
                    each(&case, "job", 0, 1).map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            },
            (JobForm::Json, Some(body)) => {
                walk(body.as_bytes(), now, &self.app, usize::MAX, asked, each)
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
            (JobForm::Json, None) => Err("the job kept no request".to_owned()),
        };
        if let Err(why) = walked {
            tracing::warn!(job = %job.id, %why, "a recall's pushes could not all be rendered");
        }
        out
    }
}

impl RecallRenderer {
    /// What a device that showed `n` gets: see [`RecallRenderer`].
    fn follow(
        &self,
        n: &Notification<'_>,
        edit: Option<&str>,
    ) -> Result<Option<(Follow, StoredPush)>, IngestError> {
        let channel = n.case.recipient.device.channel;
        let unbounded = |push: StoredPush| StoredPush {
            expires_at: None,
            life_time: None,
            ..push
        };
        if let Some(text) = edit {
            let replaced = n.replaced(Replacement::Edited { text });
            return render_push(&replaced).map(|p| Some((Follow::Replaced, unbounded(p))));
        }
        if self.remove_on.contains(&channel) {
            if let Some(push) = render_stored(n, tidings_core::render::removal) {
                return push.map(|p| Some((Follow::Removed, unbounded(p))));
            }
        }
        if channel.revocable() {
            if let Some(push) = render_stored(n, tidings_core::render::revoke) {
                return push.map(|p| {
                    let p = StoredPush {
                        headers: StoredHeaders::Revoke,
                        ..unbounded(p)
                    };
                    Some((Follow::Revoked, p))
                });
            }
        }
        let replaced = n.replaced(Replacement::Recalled);
        render_push(&replaced).map(|p| Some((Follow::Replaced, unbounded(p))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recall_names_a_c2c_or_a_group_message_and_errors_name_the_key() {
        let read = |body: &str| RecallRequest::parse(body.as_bytes());
        assert_eq!(
            read(r#"{"MessageKey": "48374_2837546_1557481126"}"#).unwrap(),
            RecallRequest {
                message_key: "c2c:48374_2837546_1557481126".into(),
                edit: None
            }
        );
        assert_eq!(
            read(r#"{"GroupId": "@TGS#2J4SZEAEL", "MsgSeq": 130, "Edit": "fixed"}"#).unwrap(),
            RecallRequest {
                message_key: "group:@TGS#2J4SZEAEL:130".into(),
                edit: Some("fixed".into())
            }
        );
        for (body, key) in [
            (r#"{"GroupId": "g"}"#, "MsgSeq"),
            (r#"{"MsgSeq": 1}"#, "GroupId"),
            (r#"{}"#, "MessageKey"),
            (
                r#"{"MessageKey": "k", "GroupId": "g", "MsgSeq": 1}"#,
                "MessageKey",
            ),
            (r#"{"MessageKey": 7}"#, "MessageKey"),
            (r#"{"MessageKey": ""}"#, "MessageKey"),
            (r#"{"GroupId": "g", "MsgSeq": -1}"#, "MsgSeq"),
            (r#"{"MessageKey": "k", "Edit": ""}"#, "Edit"),
        ] {
            assert_eq!(read(body).unwrap_err().key, key, "{body}");
        }
        assert!(read(r#"{"MessageKey": "k", "Other": 1}"#)
            .unwrap_err()
            .reason
            .contains("Other"));
    }

    /// The request bodies of Tencent IM's docs ("单聊消息撤回后回调",
    /// "撤回群消息之后回调"), as sent.
    pub(crate) const C2C_BODY: &str = r#"{
        "CallbackCommand": "C2C.CallbackAfterMsgWithDraw",
        "From_Account": "jared",
        "To_Account": "Jonh",
        "MsgKey": "48374_2837546_1557481126",
        "EventTime": 1670574414123
    }"#;
    pub(crate) const GROUP_BODY: &str = r#"{
        "CallbackCommand": "Group.CallbackAfterRecallMsg",
        "Operator_Account": "admin",
        "Type": "Community",
        "GroupId": "1213456",
        "MsgSeqList": [{"MsgSeq": 130}],
        "TopicId": "@TGS#_@TGS#cQVLVHIM62CJ@TOPIC#_TestTopic",
        "EventTime": "1670574414123"
    }"#;

    #[test]
    fn tencent_callbacks_name_their_messages() {
        let query = |command: &str| CallbackQuery {
            command: Some(command.into()),
            ..CallbackQuery::default()
        };
        assert_eq!(
            callback_keys(&query(C2C_WITHDRAW), C2C_BODY.as_bytes()).unwrap(),
            ["c2c:48374_2837546_1557481126"]
        );
        assert_eq!(
            callback_keys(&query(GROUP_RECALL), GROUP_BODY.as_bytes()).unwrap(),
            ["group:1213456:130"]
        );
        // The command from the body when the query lacks it.
        assert_eq!(
            callback_keys(&CallbackQuery::default(), GROUP_BODY.as_bytes()).unwrap(),
            ["group:1213456:130"]
        );
        assert!(callback_keys(&query("State.StateChange"), b"{}")
            .unwrap()
            .is_empty());
        assert!(callback_keys(&query(C2C_WITHDRAW), b"{\"From_Account\":\"a\"}").is_err());
        // A callback naming more messages than a recall should carry.
        let seqs: Vec<String> = (0..=MAX_MESSAGES_PER_CALLBACK)
            .map(|seq| format!("{{\"MsgSeq\":{seq}}}"))
            .collect();
        let many = format!("{{\"GroupId\":\"g\",\"MsgSeqList\":[{}]}}", seqs.join(","));
        let e = callback_keys(&query(GROUP_RECALL), many.as_bytes()).unwrap_err();
        assert_eq!(e.key, "MsgSeqList");
    }

    #[test]
    fn a_callback_is_signed_or_carries_an_api_token() {
        let now = 1_800_000_000;
        let signed = RecallSettings {
            callback_token: Some("secret-token".into()),
            sdk_app_id: Some("1400000000".into()),
            ..RecallSettings::default()
        };
        let time = now.to_string();
        let query = CallbackQuery {
            sdk_app_id: Some("1400000000".into()),
            request_time: Some(time.clone()),
            sign: Some(callback_sign("secret-token", &time)),
            ..CallbackQuery::default()
        };
        assert_eq!(authenticate(&signed, &[], &query, now), Ok(()));
        assert!(!format!("{signed:?}").contains("secret-token"));
        let wrong = CallbackQuery {
            sign: Some(callback_sign("other", &time)),
            ..query.clone()
        };
        assert!(authenticate(&signed, &[], &wrong, now).is_err());
        assert!(authenticate(&signed, &[], &query, now + CALLBACK_WINDOW_SECS + 1).is_err());
        // A hostile RequestTime far from any clock is refused, not an overflow.
        let far = CallbackQuery {
            request_time: Some(i64::MIN.to_string()),
            ..query.clone()
        };
        assert!(authenticate(&signed, &[], &far, now).is_err());
        let other_app = CallbackQuery {
            sdk_app_id: Some("1400000001".into()),
            ..query.clone()
        };
        assert!(authenticate(&signed, &[], &other_app, now).is_err());
        // No callback token: an API token as `token`.
        let plain = RecallSettings::default();
        let tokens = ["t1".to_owned(), "t2".to_owned()];
        let with = |token: &str| CallbackQuery {
            token: Some(token.into()),
            ..CallbackQuery::default()
        };
        assert_eq!(authenticate(&plain, &tokens, &with("t2"), now), Ok(()));
        assert!(authenticate(&plain, &tokens, &with("t3"), now).is_err());
        assert!(authenticate(&plain, &tokens, &CallbackQuery::default(), now).is_err());
        assert_eq!(
            authenticate(&plain, &[], &CallbackQuery::default(), now),
            Ok(())
        );
    }

    #[test]
    fn remove_on_takes_apns_and_fcm_only() {
        let config = |toml: &str| Config::parse(toml).unwrap();
        let s = RecallSettings::from_config(&config("[recall]\nremove_on = [\"apns\", \"fcm\"]\n"))
            .unwrap();
        assert_eq!(s.remove_on, [Channel::Apns, Channel::Fcm]);
        assert!(RecallSettings::from_config(&Config::default())
            .unwrap()
            .remove_on
            .is_empty());
        let e =
            RecallSettings::from_config(&config("[recall]\nremove_on = \"xiaomi\"\n")).unwrap_err();
        assert_eq!(e.key, "recall.remove_on");
    }
}
