//! Reads the case format (case-format.md) with serde_json into owned
//! documents, then lends them to the core's borrowed model.
//!
//! Only structure is checked here (types, required keys, enum names, the
//! C2C-or-group shape); every rule lives in the core. Unknown keys are
//! ignored; a known key with a wrong type is an error naming its path.

use std::fmt;

use serde::Deserialize;
use tidings_core::model::{
    AndroidInfo, ApnsInfo, App, Case, Channel, Conversation, CustomElem, Device, DeviceState,
    DndWindow, Elem, Group, GroupType, Locale, Mention, Message, Origin, PushInfo, ReceiveOpt,
    Recipient, Sender,
};

/// Default zone of a daily do-not-disturb window: UTC+8, Tencent's home
/// zone (push-rules OQ-13).
pub const DEFAULT_DND_UTC_OFFSET: i32 = 8 * 3600;

/// A case that cannot be read: the key it concerns and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestError {
    pub key: String,
    pub reason: String,
}

impl IngestError {
    fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        IngestError {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "{}: {}", self.key, self.reason)
        }
    }
}

impl core::error::Error for IngestError {}

impl From<tidings_core::Error> for IngestError {
    fn from(error: tidings_core::Error) -> Self {
        let text = error.to_string();
        match text.split_once(": ") {
            Some((key, reason)) => IngestError::new(key, reason),
            None => IngestError::new("", text),
        }
    }
}

/// A case as read from JSON, owning its strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CaseDoc {
    pub message: MessageDoc,
    #[serde(default)]
    pub sender: SenderDoc,
    #[serde(default)]
    pub group: Option<GroupDoc>,
    pub recipient: RecipientDoc,
    #[serde(default)]
    pub app: Option<AppDoc>,
    /// Unix seconds; absent = the caller's clock.
    #[serde(default)]
    pub now: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MessageDoc {
    #[serde(rename = "From_Account", default)]
    pub from_account: Option<String>,
    #[serde(rename = "To_Account", default)]
    pub to_account: Option<String>,
    #[serde(rename = "GroupId", default)]
    pub group_id: Option<String>,
    #[serde(rename = "Origin", default)]
    pub origin: OriginDoc,
    #[serde(rename = "MsgBody")]
    pub msg_body: Vec<ElemDoc>,
    #[serde(rename = "OfflinePushInfo", default)]
    pub offline_push_info: Option<PushInfoDoc>,
    #[serde(rename = "OnlineOnlyFlag", default)]
    pub online_only_flag: u32,
    #[serde(rename = "MsgLifeTime", default)]
    pub msg_life_time: Option<u32>,
    #[serde(rename = "SendMsgControl", default)]
    pub send_msg_control: Vec<String>,
    #[serde(rename = "GroupAtInfo", default)]
    pub group_at_info: Vec<GroupAtDoc>,
    #[serde(rename = "IsSystem", default)]
    pub is_system: bool,
    /// A C2C message's identity (what `sendmsg` answers), for recall.
    #[serde(rename = "MsgKey", default)]
    pub msg_key: Option<String>,
    /// A group message's sequence in its group, for recall.
    #[serde(rename = "MsgSeq", default)]
    pub msg_seq: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub enum OriginDoc {
    #[default]
    #[serde(rename = "rest")]
    Rest,
    #[serde(rename = "sdk")]
    Sdk,
    #[serde(rename = "sdk_opt_in")]
    SdkOptIn,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ElemDoc {
    #[serde(rename = "MsgType")]
    pub msg_type: String,
    #[serde(rename = "MsgContent", default)]
    pub msg_content: ElemContentDoc,
}

/// The elem fields the rules read; the rest of `MsgContent` is ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ElemContentDoc {
    pub text: Option<String>,
    pub desc: Option<String>,
    pub ext: Option<String>,
    pub sound: Option<String>,
    pub title: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GroupAtDoc {
    #[serde(rename = "GroupAtAllFlag", default)]
    pub group_at_all_flag: u32,
    #[serde(rename = "GroupAt_Account", default)]
    pub group_at_account: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PushInfoDoc {
    #[serde(default)]
    pub push_flag: u32,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub desc: Option<String>,
    #[serde(default)]
    pub ext: Option<String>,
    #[serde(default)]
    pub android_info: AndroidInfoDoc,
    #[serde(default)]
    pub apns_info: ApnsInfoDoc,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AndroidInfoDoc {
    #[serde(rename = "Sound")]
    pub sound: Option<String>,
    #[serde(rename = "HuaWeiChannelID")]
    pub huawei_channel_id: Option<String>,
    #[serde(rename = "XiaoMiChannelID")]
    pub xiaomi_channel_id: Option<String>,
    #[serde(rename = "OPPOChannelID")]
    pub oppo_channel_id: Option<String>,
    #[serde(rename = "GoogleChannelID")]
    pub google_channel_id: Option<String>,
    #[serde(rename = "VIVOClassification")]
    pub vivo_classification: Option<u8>,
    #[serde(rename = "VIVOCategory")]
    pub vivo_category: Option<String>,
    #[serde(rename = "HuaWeiImportance")]
    pub huawei_importance: Option<String>,
    #[serde(rename = "ExtAsHuaweiIntentParam", default)]
    pub ext_as_huawei_intent_param: u8,
    #[serde(rename = "HuaWeiCategory")]
    pub huawei_category: Option<String>,
    #[serde(rename = "HonorImportance")]
    pub honor_importance: Option<String>,
    #[serde(rename = "OPPOCategory")]
    pub oppo_category: Option<String>,
    #[serde(rename = "OPPONotifyLevel")]
    pub oppo_notify_level: Option<u8>,
    #[serde(rename = "MeiZuNoticeMsgType")]
    pub meizu_notice_msg_type: Option<u8>,
    #[serde(rename = "GoogleImage")]
    pub google_image: Option<String>,
    #[serde(rename = "HuaWeiImage")]
    pub huawei_image: Option<String>,
    #[serde(rename = "HonorImage")]
    pub honor_image: Option<String>,
    #[serde(rename = "HarmonyCategory")]
    pub harmony_category: Option<String>,
    #[serde(rename = "HarmonyImage")]
    pub harmony_image: Option<String>,
    #[serde(rename = "IgnoreHarmonyBadge", default)]
    pub ignore_harmony_badge: u8,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApnsInfoDoc {
    pub sound: Option<String>,
    #[serde(default)]
    pub badge_mode: u8,
    pub title: Option<String>,
    pub sub_title: Option<String>,
    pub image: Option<String>,
    #[serde(default)]
    pub mutable_content: u8,
    pub collapse_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SenderDoc {
    pub nick: Option<String>,
    pub name_card: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupDoc {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "Type")]
    pub kind: GroupTypeDoc,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub enum GroupTypeDoc {
    Work,
    Public,
    Meeting,
    Community,
    AVChatRoom,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecipientDoc {
    #[serde(default)]
    pub account: Option<String>,
    pub device: DeviceDoc,
    #[serde(default)]
    pub badge: u32,
    #[serde(default = "default_true")]
    pub push_enabled: bool,
    #[serde(default)]
    pub c2c_sound: Option<String>,
    #[serde(default)]
    pub group_sound: Option<String>,
    #[serde(default)]
    pub receive_opt: u8,
    #[serde(default)]
    pub global_receive_opt: u8,
    #[serde(default)]
    pub dnd: Option<DndDoc>,
    #[serde(default)]
    pub locale: LocaleDoc,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceDoc {
    pub channel: ChannelDoc,
    #[serde(default)]
    pub token: Option<String>,
    pub state: StateDoc,
}

impl DeviceDoc {
    /// The device as the core reads it.
    pub fn device(&self) -> Device<'_> {
        Device {
            channel: self.channel.0,
            token: s(&self.token),
            state: match self.state {
                StateDoc::Foreground => DeviceState::Foreground,
                StateDoc::Background => DeviceState::Background,
                StateDoc::PushOnline => DeviceState::PushOnline,
                StateDoc::Offline => DeviceState::Offline,
            },
        }
    }
}

/// A case-format channel name (`apns`, `apns_voip`, …), read as the core's
/// [`Channel`]: the names are the core's, not a second list.
#[derive(Debug, Clone, Copy)]
pub struct ChannelDoc(pub Channel);

impl<'de> Deserialize<'de> for ChannelDoc {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = ChannelDoc;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a channel name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<ChannelDoc, E> {
                Channel::from_name(name)
                    .map(ChannelDoc)
                    .ok_or_else(|| E::unknown_variant(name, &Channel::NAMES))
            }
        }
        deserializer.deserialize_str(Name)
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateDoc {
    Foreground,
    Background,
    PushOnline,
    Offline,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocaleDoc {
    #[default]
    En,
    Zh,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DndDoc {
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub start_time_stamp: Option<i64>,
    pub duration: u32,
    #[serde(default)]
    pub utc_offset: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AppDoc {
    pub bundle_id: Option<String>,
    pub package_name: Option<String>,
    pub badge_class: Option<String>,
    pub harmony_category: Option<String>,
}

impl AppDoc {
    /// The app defaults a config gives cases without `App`: its `[app]`
    /// table, the bundle id falling back to `[apns] topic`. A HarmonyOS
    /// category outside the documented ones is refused here, at start,
    /// rather than on every HarmonyOS push.
    pub fn from_config(
        config: &crate::config::Config,
    ) -> Result<AppDoc, crate::config::ConfigError> {
        let app = config.app.clone().unwrap_or_default();
        if let Some(category) = &app.harmony_category {
            if !tidings_core::render::harmony::CATEGORIES.contains(&category.as_str()) {
                return Err(crate::config::ConfigError::new(
                    "app.harmony_category",
                    format!(
                        "{category:?} is not a HarmonyOS category: one of {}",
                        tidings_core::render::harmony::CATEGORIES.join(", ")
                    ),
                ));
            }
        }
        Ok(AppDoc {
            bundle_id: app
                .bundle_id
                .or_else(|| config.apns.as_ref().and_then(|a| a.topic.clone())),
            package_name: app.package_name,
            badge_class: app.badge_class,
            harmony_category: app.harmony_category,
        })
    }
}

/// Parses a case from JSON bytes. Structural errors name the key's path.
pub fn parse_case(json: &[u8]) -> Result<CaseDoc, IngestError> {
    // serde would also accept a struct as an array of its fields; a case is an object.
    let first = json.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(IngestError::new("", "a case is a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let Ok(doc) = CaseDoc::deserialize(&mut de) else {
        // Read again with the path tracked, for the error's key: the
        // bookkeeping costs a good part of a parse, so only a case that
        // fails pays it (serde fails the same way both times).
        let mut de = serde_json::Deserializer::from_slice(json);
        let tracked: Result<CaseDoc, _> = serde_path_to_error::deserialize(&mut de);
        return Err(tracked.map_or_else(
            |e| {
                let path = e.path().to_string();
                let key = if path == "." { String::new() } else { path };
                IngestError::new(key, e.inner().to_string())
            },
            |_| IngestError::new("", "the case reads differently twice"),
        ));
    };
    de.end()
        .map_err(|e| IngestError::new("", format!("trailing input: {e}")))?;
    Ok(doc)
}

fn s(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("")
}

/// A [`CaseDoc`] lent to the core: the elems and mentions in slices.
#[derive(Debug)]
pub struct Lent<'d> {
    doc: &'d CaseDoc,
    elems: Vec<Elem<'d>>,
    mentions: Vec<Mention<'d>>,
    conversation: Conversation<'d>,
    dnd: Option<DndWindow>,
}

impl CaseDoc {
    /// Checks the shape the core's types make unrepresentable and lends the
    /// document to the core model.
    pub fn lend(&self) -> Result<Lent<'_>, IngestError> {
        let message = &self.message;
        let to_account = message.to_account.as_deref().filter(|s| !s.is_empty());
        let group_id = message.group_id.as_deref().filter(|s| !s.is_empty());
        let conversation = match (to_account, group_id) {
            (Some(to_account), None) => Conversation::C2c { to_account },
            (None, Some(id)) => {
                let group = self.group.as_ref().ok_or_else(|| {
                    IngestError::new("Group", "required when Message.GroupId is set")
                })?;
                Conversation::Group(Group {
                    id,
                    name: s(&group.name),
                    kind: match group.kind {
                        GroupTypeDoc::Work => GroupType::Work,
                        GroupTypeDoc::Public => GroupType::Public,
                        GroupTypeDoc::Meeting => GroupType::Meeting,
                        GroupTypeDoc::Community => GroupType::Community,
                        GroupTypeDoc::AVChatRoom => GroupType::AvChatRoom,
                    },
                })
            }
            (Some(_), Some(_)) => {
                return Err(IngestError::new(
                    "Message.To_Account",
                    "exactly one of To_Account and GroupId may be set, both are",
                ))
            }
            (None, None) => {
                return Err(IngestError::new(
                    "Message.To_Account",
                    "exactly one of To_Account and GroupId must be set, neither is",
                ))
            }
        };

        let elems = message
            .msg_body
            .iter()
            .enumerate()
            .map(|(i, elem)| lend_elem(i, elem))
            .collect::<Result<Vec<_>, _>>()?;

        let mentions = message
            .group_at_info
            .iter()
            .enumerate()
            .map(
                |(i, at)| match (at.group_at_all_flag, at.group_at_account.as_deref()) {
                    (1, _) => Ok(Mention::All),
                    (0, Some(account)) if !account.is_empty() => Ok(Mention::Account(account)),
                    (0, _) => Err(IngestError::new(
                        format!("Message.GroupAtInfo[{i}].GroupAt_Account"),
                        "required when GroupAtAllFlag is 0",
                    )),
                    _ => Err(IngestError::new(
                        format!("Message.GroupAtInfo[{i}].GroupAtAllFlag"),
                        "must be 0 or 1",
                    )),
                },
            )
            .collect::<Result<Vec<_>, _>>()?;

        let dnd = self.recipient.dnd.as_ref().map(lend_dnd).transpose()?;

        Ok(Lent {
            doc: self,
            elems,
            mentions,
            conversation,
            dnd,
        })
    }
}

fn lend_elem(index: usize, elem: &ElemDoc) -> Result<Elem<'_>, IngestError> {
    let content = &elem.msg_content;
    Ok(match elem.msg_type.as_str() {
        "TIMTextElem" => Elem::Text(content.text.as_deref().ok_or_else(|| {
            IngestError::new(
                format!("Message.MsgBody[{index}].MsgContent.Text"),
                "required for TIMTextElem",
            )
        })?),
        "TIMImageElem" => Elem::Image,
        "TIMSoundElem" => Elem::Sound,
        "TIMFileElem" => Elem::File,
        "TIMVideoFileElem" => Elem::Video,
        "TIMFaceElem" => Elem::Face,
        "TIMLocationElem" => Elem::Location,
        "TIMCustomElem" => Elem::Custom(CustomElem {
            desc: s(&content.desc),
            ext: s(&content.ext),
            sound: s(&content.sound),
        }),
        "TIMRelayElem" => Elem::Relay(s(&content.title)),
        "TIMGroupTipElem" => Elem::GroupTips,
        other => {
            return Err(IngestError::new(
                format!("Message.MsgBody[{index}].MsgType"),
                format!("unknown elem type {other:?}"),
            ))
        }
    })
}

fn lend_dnd(dnd: &DndDoc) -> Result<DndWindow, IngestError> {
    match (&dnd.start, dnd.start_time_stamp) {
        (Some(start), None) => Ok(DndWindow::Daily {
            start_second: parse_clock(start).ok_or_else(|| {
                IngestError::new("Recipient.Dnd.Start", format!("{start:?} is not HH:MM:SS"))
            })?,
            duration: dnd.duration,
            utc_offset: dnd.utc_offset.unwrap_or(DEFAULT_DND_UTC_OFFSET),
        }),
        (None, Some(start)) => Ok(DndWindow::Absolute {
            start,
            duration: dnd.duration,
        }),
        _ => Err(IngestError::new(
            "Recipient.Dnd",
            "exactly one of Start and StartTimeStamp must be set",
        )),
    }
}

/// `HH:MM:SS` (00–23, 00–59, 00–59) to seconds after midnight.
pub fn parse_clock(text: &str) -> Option<u32> {
    let mut parts = text.split(':');
    let mut field = |max: u32| -> Option<u32> {
        let part = parts.next()?;
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse::<u32>().ok().filter(|v| *v <= max)
    };
    let (h, m, s) = (field(23)?, field(59)?, field(59)?);
    if parts.next().is_some() {
        return None;
    }
    Some(h * 3600 + m * 60 + s)
}

fn flag(key: &str, value: u8) -> Result<bool, IngestError> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(IngestError::new(key, "must be 0 or 1")),
    }
}

impl<'d> Lent<'d> {
    /// The core case. `now` is used when the document has no `Now`;
    /// `default_app` fills app identity the document leaves out.
    pub fn case(&self, now: i64, default_app: &'d AppDoc) -> Result<Case<'_>, IngestError> {
        let doc = self.doc;
        let message = &doc.message;
        let push_info = message
            .offline_push_info
            .as_ref()
            .map(lend_push_info)
            .transpose()?;
        let recipient = &doc.recipient;
        let app = doc.app.as_ref();
        let pick = |get: fn(&AppDoc) -> &Option<String>| -> &str {
            app.map(|a| s(get(a)))
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| s(get(default_app)))
        };
        let receive_opt = ReceiveOpt::from_code(recipient.receive_opt)
            .ok_or_else(|| IngestError::new("Recipient.ReceiveOpt", "must be 0 to 4"))?;
        let global_receive_opt = ReceiveOpt::from_code(recipient.global_receive_opt)
            .ok_or_else(|| IngestError::new("Recipient.GlobalReceiveOpt", "must be 0 or 2"))?;
        Ok(Case {
            message: Message {
                sender: Sender {
                    account: s(&message.from_account),
                    nick: s(&doc.sender.nick),
                    name_card: s(&doc.sender.name_card),
                },
                conversation: self.conversation,
                origin: match message.origin {
                    OriginDoc::Rest => Origin::Rest,
                    OriginDoc::Sdk => Origin::Sdk,
                    OriginDoc::SdkOptIn => Origin::SdkOptIn,
                },
                elems: &self.elems,
                push_info,
                online_only: message.online_only_flag > 0,
                life_time: message.msg_life_time,
                with_mute_notifications: message
                    .send_msg_control
                    .iter()
                    .any(|c| c == "WithMuteNotifications"),
                mentions: &self.mentions,
                is_system: message.is_system,
                msg_key: s(&message.msg_key),
                msg_seq: message.msg_seq,
            },
            recipient: Recipient {
                account: s(&recipient.account),
                device: recipient.device.device(),
                badge: recipient.badge,
                push_enabled: recipient.push_enabled,
                c2c_sound: s(&recipient.c2c_sound),
                group_sound: s(&recipient.group_sound),
                receive_opt,
                global_receive_opt,
                dnd: self.dnd,
                locale: match recipient.locale {
                    LocaleDoc::En => Locale::En,
                    LocaleDoc::Zh => Locale::Zh,
                },
            },
            app: App {
                bundle_id: pick(|a| &a.bundle_id),
                package_name: pick(|a| &a.package_name),
                badge_class: pick(|a| &a.badge_class),
                harmony_category: pick(|a| &a.harmony_category),
            },
            now: doc.now.unwrap_or(now),
        })
    }
}

fn lend_push_info(p: &PushInfoDoc) -> Result<PushInfo<'_>, IngestError> {
    let a = &p.android_info;
    let apns = &p.apns_info;
    Ok(PushInfo {
        disabled: flag(
            "Message.OfflinePushInfo.PushFlag",
            u8::try_from(p.push_flag).unwrap_or(u8::MAX),
        )?,
        title: s(&p.title),
        desc: s(&p.desc),
        ext: s(&p.ext),
        android: AndroidInfo {
            sound: s(&a.sound),
            huawei_channel_id: s(&a.huawei_channel_id),
            xiaomi_channel_id: s(&a.xiaomi_channel_id),
            oppo_channel_id: s(&a.oppo_channel_id),
            google_channel_id: s(&a.google_channel_id),
            vivo_classification: a.vivo_classification,
            vivo_category: s(&a.vivo_category),
            huawei_importance: s(&a.huawei_importance),
            ext_as_huawei_intent_param: flag(
                "Message.OfflinePushInfo.AndroidInfo.ExtAsHuaweiIntentParam",
                a.ext_as_huawei_intent_param,
            )?,
            huawei_category: s(&a.huawei_category),
            honor_importance: s(&a.honor_importance),
            oppo_category: s(&a.oppo_category),
            oppo_notify_level: a.oppo_notify_level,
            meizu_notice_msg_type: a.meizu_notice_msg_type,
            google_image: s(&a.google_image),
            huawei_image: s(&a.huawei_image),
            honor_image: s(&a.honor_image),
            harmony_category: s(&a.harmony_category),
            harmony_image: s(&a.harmony_image),
            ignore_harmony_badge: flag(
                "Message.OfflinePushInfo.AndroidInfo.IgnoreHarmonyBadge",
                a.ignore_harmony_badge,
            )?,
        },
        apns: ApnsInfo {
            sound: s(&apns.sound),
            badge_not_counted: flag(
                "Message.OfflinePushInfo.ApnsInfo.BadgeMode",
                apns.badge_mode,
            )?,
            title: s(&apns.title),
            sub_title: s(&apns.sub_title),
            image: s(&apns.image),
            mutable_content: flag(
                "Message.OfflinePushInfo.ApnsInfo.MutableContent",
                apns.mutable_content,
            )?,
            collapse_id: s(&apns.collapse_id),
        },
    })
}
