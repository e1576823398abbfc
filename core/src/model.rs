//! The borrowed input model: everything the rules read from a case.
//!
//! Every string is borrowed from the caller's input; an empty string means
//! "not set" (push-rules treat an empty name, title or desc as missing).
//! Collections are slices of any length, so the model is `Copy` and never
//! allocates; an ingest that collects them into fixed storage defaults to
//! [`MAX_ELEMS`] elems and keeps one mention (see
//! [`crate::decide::relevant_mention`]).

/// The largest message Tencent Cloud IM accepts: 12 KB (push-rules §3.5;
/// REST messages are capped lower, at 8000 bytes).
pub const MESSAGE_LIMIT: usize = 12 * 1024;
/// The smallest elem the IM API takes, as its JSON with the comma after it.
pub const SMALLEST_ELEM: &str = r#"{"MsgType":"TIMFaceElem","MsgContent":{"Index":0}},"#;
/// The most elems a real message can hold: 12 KB / 51 bytes = 240. The
/// default capacity of the fixed-storage paths (the no_std `ingest`, the
/// `wire` decoder), which also take a capacity of the caller's choosing;
/// [`crate::decide()`] takes any number.
pub const MAX_ELEMS: usize = MESSAGE_LIMIT / SMALLEST_ELEM.len();

/// Which API sent the message (push-rules OQ-9, case-format `Origin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Origin {
    /// REST `sendmsg` / `send_group_msg`: a missing push info means default rules.
    #[default]
    Rest,
    /// The legacy client SDK send call: opt-out, like REST.
    Sdk,
    /// The newer `V2TIMSendMessageOption` API: a missing push info means no push.
    SdkOptIn,
}

/// Placeholder language (push-rules §3.1, OQ-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Locale {
    #[default]
    En,
    Zh,
}

/// One message element, reduced to what the rules read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Elem<'a> {
    Text(&'a str),
    Image,
    Sound,
    File,
    Video,
    Face,
    Location,
    Custom(#[cfg_attr(feature = "serde", serde(borrow))] CustomElem<'a>),
    /// A forwarded chat history (`TIMRelayElem`) with its title.
    Relay(&'a str),
    GroupTips,
}

/// The push-relevant fields of a `TIMCustomElem` (`Data` is never pushed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CustomElem<'a> {
    pub desc: &'a str,
    pub ext: &'a str,
    pub sound: &'a str,
}

/// Group types (push-rules §2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GroupType {
    Work,
    Public,
    Meeting,
    Community,
    AvChatRoom,
}

/// The group a group message was sent in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Group<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub kind: GroupType,
}

/// Exactly one of a C2C peer or a group: the case format's
/// "exactly one of `To_Account` and `GroupId`" made unrepresentable otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Conversation<'a> {
    C2c { to_account: &'a str },
    Group(#[cfg_attr(feature = "serde", serde(borrow))] Group<'a>),
}

/// The sender's profile as the recipient sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Sender<'a> {
    /// `From_Account`; empty for an admin-sent REST message.
    pub account: &'a str,
    pub nick: &'a str,
    /// The sender's name card in this group (groups only).
    pub name_card: &'a str,
}

/// One `GroupAtInfo` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Mention<'a> {
    All,
    Account(&'a str),
}

/// `OfflinePushInfo.AndroidInfo` (push-rules §7). Empty strings are unset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AndroidInfo<'a> {
    pub sound: &'a str,
    pub huawei_channel_id: &'a str,
    pub xiaomi_channel_id: &'a str,
    pub oppo_channel_id: &'a str,
    pub google_channel_id: &'a str,
    pub vivo_classification: Option<u8>,
    pub vivo_category: &'a str,
    pub huawei_importance: &'a str,
    pub ext_as_huawei_intent_param: bool,
    pub huawei_category: &'a str,
    pub honor_importance: &'a str,
    pub oppo_category: &'a str,
    pub oppo_notify_level: Option<u8>,
    pub meizu_notice_msg_type: Option<u8>,
    pub google_image: &'a str,
    pub huawei_image: &'a str,
    pub honor_image: &'a str,
    /// `HarmonyCategory`: HarmonyOS NEXT `notification.category`
    /// (push-rules §6); empty = `App.HarmonyCategory`, then `"IM"`.
    pub harmony_category: &'a str,
    /// `HarmonyImage`: HarmonyOS NEXT `notification.image` (https only).
    pub harmony_image: &'a str,
    /// `IgnoreHarmonyBadge = 1` (`ignoreHarmonyBadge`, push-rules §5.3):
    /// pushed without incrementing the HarmonyOS badge.
    pub ignore_harmony_badge: bool,
}

/// `OfflinePushInfo.ApnsInfo` (push-rules §7). Empty strings are unset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ApnsInfo<'a> {
    pub sound: &'a str,
    /// `BadgeMode = 1`: pushed without counting towards the badge.
    pub badge_not_counted: bool,
    pub title: &'a str,
    pub sub_title: &'a str,
    pub image: &'a str,
    pub mutable_content: bool,
    /// `apns-collapse-id`: pushes with the same id show as one
    /// notification (vendors.md §1.2).
    pub collapse_id: &'a str,
}

/// `OfflinePushInfo` (push-rules §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PushInfo<'a> {
    /// `PushFlag = 1`.
    pub disabled: bool,
    pub title: &'a str,
    pub desc: &'a str,
    pub ext: &'a str,
    #[cfg_attr(feature = "serde", serde(borrow))]
    pub android: AndroidInfo<'a>,
    #[cfg_attr(feature = "serde", serde(borrow))]
    pub apns: ApnsInfo<'a>,
}

/// One message as the IM backend sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Message<'a> {
    pub sender: Sender<'a>,
    pub conversation: Conversation<'a>,
    pub origin: Origin,
    pub elems: &'a [Elem<'a>],
    pub push_info: Option<PushInfo<'a>>,
    /// SDK `onlineUserOnly`, REST `OnlineOnlyFlag > 0`.
    pub online_only: bool,
    /// REST `MsgLifeTime` in seconds; `Some(0)` means online only.
    pub life_time: Option<u32>,
    /// `SendMsgControl` contains `"WithMuteNotifications"`.
    pub with_mute_notifications: bool,
    pub mentions: &'a [Mention<'a>],
    pub is_system: bool,
    /// `MsgKey` of a C2C message (empty = not given): its identity for
    /// recall and edit ([`crate::recall::MessageKey`]).
    pub msg_key: &'a str,
    /// `MsgSeq` of a group message: its identity within the group.
    pub msg_seq: Option<u64>,
}

impl<'a> Message<'a> {
    /// A REST message with no push info, no flags and no mentions: the
    /// case format's defaults for everything but who, where and what.
    pub const fn new(
        sender: Sender<'a>,
        conversation: Conversation<'a>,
        elems: &'a [Elem<'a>],
    ) -> Self {
        Message {
            sender,
            conversation,
            origin: Origin::Rest,
            elems,
            push_info: None,
            online_only: false,
            life_time: None,
            with_mute_notifications: false,
            mentions: &[],
            is_system: false,
            msg_key: "",
            msg_seq: None,
        }
    }
}

/// Which provider a device is registered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Channel {
    Apns,
    ApnsVoip,
    Fcm,
    Huawei,
    Honor,
    Xiaomi,
    Oppo,
    Vivo,
    Meizu,
    /// Tencent Push Notification Service (legacy, vendors.md §9).
    Tpns,
    /// HarmonyOS NEXT Push Kit, REST v3 (beyond.md §11): not a Huawei
    /// variant, its own body and auth.
    Harmony,
}

impl Channel {
    /// Every channel, in the order the case format lists them.
    pub const ALL: [Channel; 11] = [
        Channel::Apns,
        Channel::ApnsVoip,
        Channel::Fcm,
        Channel::Huawei,
        Channel::Honor,
        Channel::Xiaomi,
        Channel::Oppo,
        Channel::Vivo,
        Channel::Meizu,
        Channel::Tpns,
        Channel::Harmony,
    ];

    /// Every channel's case-format name, in [`Channel::ALL`]'s order (what
    /// a reader lists when a name is unknown).
    // Evaluated by the compiler: an index out of range fails the build, it
    // cannot panic at run time.
    #[allow(clippy::indexing_slicing)]
    pub const NAMES: [&'static str; Channel::ALL.len()] = {
        let mut names = [""; Channel::ALL.len()];
        let mut i = 0;
        while i < names.len() {
            names[i] = Channel::ALL[i].name();
            i += 1;
        }
        names
    };

    /// The case-format name (`Recipient.Device.Channel`).
    pub const fn name(self) -> &'static str {
        match self {
            Channel::Apns => "apns",
            Channel::ApnsVoip => "apns_voip",
            Channel::Fcm => "fcm",
            Channel::Huawei => "huawei",
            Channel::Honor => "honor",
            Channel::Xiaomi => "xiaomi",
            Channel::Oppo => "oppo",
            Channel::Vivo => "vivo",
            Channel::Meizu => "meizu",
            Channel::Tpns => "tpns",
            Channel::Harmony => "harmony",
        }
    }

    /// Parses a case-format channel name.
    pub fn from_name(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether the provider can delete a shown notification by its key
    /// (Xiaomi's `/v3/message/regid/revoke`, HarmonyOS's
    /// `messages:revoke`; [`crate::render::revoke`]). Elsewhere a recall is
    /// a silent replacement.
    pub const fn revocable(self) -> bool {
        matches!(self, Channel::Xiaomi | Channel::Harmony)
    }

    /// Whether the device is an iOS device (APNs, alert or VoIP).
    pub const fn is_apple(self) -> bool {
        matches!(self, Channel::Apns | Channel::ApnsVoip)
    }
}

/// Device state (push-rules §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DeviceState {
    Foreground,
    Background,
    /// Killed or disconnected without logging out.
    PushOnline,
    /// Logged out, kicked, or past the reach window.
    Offline,
}

/// The recipient's device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Device<'a> {
    pub channel: Channel,
    /// The provider's device token; empty = no push registration.
    pub token: &'a str,
    pub state: DeviceState,
}

/// Receive option for a conversation, or globally (push-rules §2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReceiveOpt {
    /// 0: receive and notify.
    #[default]
    Receive,
    /// 1: do not receive.
    NotReceive,
    /// 2: receive without notification.
    NotNotify,
    /// 3: receive, notify only when @-mentioned (groups).
    NotNotifyExceptAt,
    /// 4: receive and notify only @ messages (community topics).
    NotReceiveExceptAt,
}

impl ReceiveOpt {
    /// Maps the numeric `V2TIMReceiveMessageOpt`.
    pub const fn from_code(code: u8) -> Option<ReceiveOpt> {
        match code {
            0 => Some(ReceiveOpt::Receive),
            1 => Some(ReceiveOpt::NotReceive),
            2 => Some(ReceiveOpt::NotNotify),
            3 => Some(ReceiveOpt::NotNotifyExceptAt),
            4 => Some(ReceiveOpt::NotReceiveExceptAt),
            _ => None,
        }
    }
}

/// The global do-not-disturb window (push-rules §2.3), half-open
/// `[start, start + duration)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DndWindow {
    /// Every day from `start_second` (seconds after local midnight) for
    /// `duration` seconds, in the zone `utc_offset` seconds east of UTC.
    /// A duration of a whole day or more mutes permanently.
    Daily {
        start_second: u32,
        duration: u32,
        utc_offset: i32,
    },
    /// From the UTC timestamp `start` for `duration` seconds.
    Absolute { start: i64, duration: u32 },
}

/// The recipient: account, device and settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Recipient<'a> {
    pub account: &'a str,
    #[cfg_attr(feature = "serde", serde(borrow))]
    pub device: Device<'a>,
    /// The badge the device shows now.
    pub badge: u32,
    /// Legacy account-wide push switch (push-rules rule 12).
    pub push_enabled: bool,
    /// Legacy per-account iOS sounds (push-rules §4.1 step 2).
    pub c2c_sound: &'a str,
    pub group_sound: &'a str,
    /// The option for this conversation.
    pub receive_opt: ReceiveOpt,
    /// The global option: only `Receive` and `NotNotify` are valid.
    pub global_receive_opt: ReceiveOpt,
    /// The window for a global `NotNotify`; `None` mutes at all times.
    pub dnd: Option<DndWindow>,
    pub locale: Locale,
}

impl<'a> Recipient<'a> {
    /// A recipient with the case format's defaults: badge 0, push enabled,
    /// no legacy sounds, receiving everything, no do-not-disturb, English.
    pub const fn new(account: &'a str, device: Device<'a>) -> Self {
        Recipient {
            account,
            device,
            badge: 0,
            push_enabled: true,
            c2c_sound: "",
            group_sound: "",
            receive_opt: ReceiveOpt::Receive,
            global_receive_opt: ReceiveOpt::Receive,
            dnd: None,
            locale: Locale::En,
        }
    }
}

/// The app identity a provider needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct App<'a> {
    /// iOS bundle id: the `apns-topic`.
    pub bundle_id: &'a str,
    /// Android package name.
    pub package_name: &'a str,
    /// Android launcher activity class: Huawei and Honor set a badge only
    /// when it is configured (render-map). Empty = no badge on Android.
    pub badge_class: &'a str,
    /// `App.HarmonyCategory`: the HarmonyOS `notification.category` when
    /// the message sets no `HarmonyCategory`, checked against the
    /// documented list; empty = the renderer's `"IM"`
    /// ([`crate::render::harmony::DEFAULT_CATEGORY`]). What `IM` does for
    /// an app without granted self-classification rights is unconfirmed
    /// (beyond.md §11.2: possibly counted as marketing, capped per day).
    pub harmony_category: &'a str,
}

/// One message meeting one recipient device at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Case<'a> {
    pub message: Message<'a>,
    pub recipient: Recipient<'a>,
    pub app: App<'a>,
    /// Unix seconds.
    pub now: i64,
}
