//! An `arbitrary`-built case: fuzz-local mirrors of the core model that own
//! their strings, lent to a `tidings_core::model::Case`.
//!
//! Texts are steered towards what matters: empty, a word the rules compare
//! (accounts, sounds, categories, JSON), any string, or a short unit
//! repeated far past every provider limit.

use arbitrary::{Arbitrary, Unstructured};
use tidings_core::model::*;

use crate::{BIG_BUFFER, VALID_TOKEN};

/// Longest repeated text: past APNs VoIP's 5120 bytes even unescaped.
const MAX_TEXT: usize = 16 * 1024;

/// Words the rules and renderers compare against.
const WORDS: &[&str] = &[
    "ann",
    "bob",
    "Ann",
    "g-1",
    "Dev",
    "hi",
    "push.no_sound",
    "default",
    "shake",
    "shake.mp3",
    "/raw/shake",
    "android.resource://com.example.chat/raw/shake",
    "https://example.com/a.png",
    "http://example.com/a.png",
    "{}",
    "{\"entity\":{\"chatType\":1}}",
    "[1,2]",
    "IM",
    "NEWS",
    "LOW",
    "NORMAL",
    "HIGH",
    "com.example.chat",
    "com.example.chat.Main",
    "a,b",
    "\u{2028}",
    "\"\\",
    "…",
    "😀\u{200d}👩",
];

/// Chars that stress escaping, form encoding, UTF-16 and weighted counting.
const TRICKY: &[char] = &[
    'a', ' ', '"', '\\', '\n', '\u{1}', '\u{7f}', '&', '=', '+', '%', 'é', '中', '😀', '\u{200D}',
    '\u{2028}', '\u{2029}', '…', '\u{FEFF}',
];

/// A string built as described in the module docs.
#[derive(Debug, Clone, Default)]
pub struct Text(pub String);

impl<'a> Arbitrary<'a> for Text {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Text(match u.int_in_range(0..=3u8)? {
            0 => String::new(),
            1 => (*u.choose(WORDS)?).to_owned(),
            2 => String::arbitrary(u)?,
            _ => {
                let unit = if u.arbitrary()? {
                    u.choose(TRICKY)?.to_string()
                } else {
                    (*u.choose(WORDS)?).to_owned()
                };
                let times = u.int_in_range(1..=MAX_TEXT / unit.len().max(1))?;
                unit.repeat(times)
            }
        }))
    }
}

impl Text {
    fn s(&self) -> &str {
        &self.0
    }
}

#[derive(Arbitrary, Debug)]
pub enum FConversation {
    C2c {
        to_account: Text,
    },
    Group {
        id: Text,
        name: Text,
        kind: FGroupType,
    },
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum FGroupType {
    Work,
    Public,
    Meeting,
    Community,
    AvChatRoom,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum FOrigin {
    Rest,
    Sdk,
    SdkOptIn,
}

#[derive(Arbitrary, Debug)]
pub enum FElem {
    Text(Text),
    Image,
    Sound,
    File,
    Video,
    Face,
    Location,
    Custom { desc: Text, ext: Text, sound: Text },
    Relay(Text),
    GroupTips,
}

#[derive(Arbitrary, Debug)]
pub enum FMention {
    All,
    Account(Text),
}

#[derive(Arbitrary, Debug)]
pub struct FAndroidInfo {
    sound: Text,
    huawei_channel_id: Text,
    xiaomi_channel_id: Text,
    oppo_channel_id: Text,
    google_channel_id: Text,
    vivo_classification: Option<u8>,
    vivo_category: Text,
    huawei_importance: Text,
    ext_as_huawei_intent_param: bool,
    huawei_category: Text,
    honor_importance: Text,
    oppo_category: Text,
    oppo_notify_level: Option<u8>,
    meizu_notice_msg_type: Option<u8>,
    google_image: Text,
    huawei_image: Text,
    honor_image: Text,
    harmony_category: Text,
    harmony_image: Text,
    ignore_harmony_badge: bool,
}

#[derive(Arbitrary, Debug)]
pub struct FPushInfo {
    disabled: bool,
    title: Text,
    desc: Text,
    ext: Text,
    android: FAndroidInfo,
    apns_sound: Text,
    badge_not_counted: bool,
    apns_title: Text,
    sub_title: Text,
    image: Text,
    mutable_content: bool,
    collapse_id: Text,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum FState {
    Foreground,
    Background,
    PushOnline,
    Offline,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum FReceiveOpt {
    Receive,
    NotReceive,
    NotNotify,
    NotNotifyExceptAt,
    NotReceiveExceptAt,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum FDnd {
    Daily {
        start_second: u32,
        duration: u32,
        utc_offset: i32,
    },
    Absolute {
        start: i64,
        duration: u32,
    },
}

/// The device token: usually one every renderer takes, else anything.
#[derive(Arbitrary, Debug)]
pub enum FToken {
    Valid,
    Text(Text),
}

#[derive(Arbitrary, Debug)]
pub struct FRecipient {
    account: Text,
    /// Which of [`Channel::ALL`] (modulo its length).
    channel: u8,
    token: FToken,
    state: FState,
    badge: u32,
    push_enabled: bool,
    c2c_sound: Text,
    group_sound: Text,
    receive_opt: FReceiveOpt,
    global_receive_opt: FReceiveOpt,
    dnd: Option<FDnd>,
    zh: bool,
}

/// One fuzz input: a whole case plus the caller's buffer size.
#[derive(Arbitrary, Debug)]
pub struct FuzzCase {
    sender_account: Text,
    nick: Text,
    name_card: Text,
    conversation: FConversation,
    origin: FOrigin,
    elems: Vec<FElem>,
    push_info: Option<FPushInfo>,
    online_only: bool,
    life_time: Option<u32>,
    with_mute_notifications: bool,
    mentions: Vec<FMention>,
    is_system: bool,
    msg_key: Text,
    msg_seq: Option<u64>,
    recipient: FRecipient,
    bundle_id: Text,
    package_name: Text,
    badge_class: Text,
    harmony_category: Text,
    now: i64,
    /// `None`: the CLI's buffer; otherwise a buffer of this many bytes.
    buffer: Option<u16>,
}

impl FuzzCase {
    /// The buffer to render into.
    pub fn buffer(&self) -> usize {
        self.buffer.map_or(BIG_BUFFER, usize::from)
    }

    /// The elems, lent.
    pub fn elems(&self) -> Vec<Elem<'_>> {
        self.elems
            .iter()
            .map(|e| match e {
                FElem::Text(t) => Elem::Text(t.s()),
                FElem::Image => Elem::Image,
                FElem::Sound => Elem::Sound,
                FElem::File => Elem::File,
                FElem::Video => Elem::Video,
                FElem::Face => Elem::Face,
                FElem::Location => Elem::Location,
                FElem::Custom { desc, ext, sound } => Elem::Custom(CustomElem {
                    desc: desc.s(),
                    ext: ext.s(),
                    sound: sound.s(),
                }),
                FElem::Relay(t) => Elem::Relay(t.s()),
                FElem::GroupTips => Elem::GroupTips,
            })
            .collect()
    }

    /// The mentions, lent.
    pub fn mentions(&self) -> Vec<Mention<'_>> {
        self.mentions
            .iter()
            .map(|m| match m {
                FMention::All => Mention::All,
                FMention::Account(a) => Mention::Account(a.s()),
            })
            .collect()
    }

    /// The core case, borrowing from `self` and the lent slices.
    pub fn case<'a>(&'a self, elems: &'a [Elem<'a>], mentions: &'a [Mention<'a>]) -> Case<'a> {
        let r = &self.recipient;
        Case {
            message: Message {
                sender: Sender {
                    account: self.sender_account.s(),
                    nick: self.nick.s(),
                    name_card: self.name_card.s(),
                },
                conversation: match &self.conversation {
                    FConversation::C2c { to_account } => Conversation::C2c {
                        to_account: to_account.s(),
                    },
                    FConversation::Group { id, name, kind } => Conversation::Group(Group {
                        id: id.s(),
                        name: name.s(),
                        kind: match kind {
                            FGroupType::Work => GroupType::Work,
                            FGroupType::Public => GroupType::Public,
                            FGroupType::Meeting => GroupType::Meeting,
                            FGroupType::Community => GroupType::Community,
                            FGroupType::AvChatRoom => GroupType::AvChatRoom,
                        },
                    }),
                },
                origin: match self.origin {
                    FOrigin::Rest => Origin::Rest,
                    FOrigin::Sdk => Origin::Sdk,
                    FOrigin::SdkOptIn => Origin::SdkOptIn,
                },
                elems,
                push_info: self.push_info.as_ref().map(push_info),
                online_only: self.online_only,
                life_time: self.life_time,
                with_mute_notifications: self.with_mute_notifications,
                mentions,
                is_system: self.is_system,
                msg_key: self.msg_key.s(),
                msg_seq: self.msg_seq,
            },
            recipient: Recipient {
                account: r.account.s(),
                device: Device {
                    channel: Channel::ALL[usize::from(r.channel) % Channel::ALL.len()],
                    token: match &r.token {
                        FToken::Valid => VALID_TOKEN,
                        FToken::Text(t) => t.s(),
                    },
                    state: match r.state {
                        FState::Foreground => DeviceState::Foreground,
                        FState::Background => DeviceState::Background,
                        FState::PushOnline => DeviceState::PushOnline,
                        FState::Offline => DeviceState::Offline,
                    },
                },
                badge: r.badge,
                push_enabled: r.push_enabled,
                c2c_sound: r.c2c_sound.s(),
                group_sound: r.group_sound.s(),
                receive_opt: receive_opt(r.receive_opt),
                global_receive_opt: receive_opt(r.global_receive_opt),
                dnd: r.dnd.map(|d| match d {
                    FDnd::Daily {
                        start_second,
                        duration,
                        utc_offset,
                    } => DndWindow::Daily {
                        start_second,
                        duration,
                        utc_offset,
                    },
                    FDnd::Absolute { start, duration } => DndWindow::Absolute { start, duration },
                }),
                locale: if r.zh { Locale::Zh } else { Locale::En },
            },
            app: App {
                bundle_id: self.bundle_id.s(),
                package_name: self.package_name.s(),
                badge_class: self.badge_class.s(),
                harmony_category: self.harmony_category.s(),
            },
            now: self.now,
        }
    }
}

fn receive_opt(o: FReceiveOpt) -> ReceiveOpt {
    match o {
        FReceiveOpt::Receive => ReceiveOpt::Receive,
        FReceiveOpt::NotReceive => ReceiveOpt::NotReceive,
        FReceiveOpt::NotNotify => ReceiveOpt::NotNotify,
        FReceiveOpt::NotNotifyExceptAt => ReceiveOpt::NotNotifyExceptAt,
        FReceiveOpt::NotReceiveExceptAt => ReceiveOpt::NotReceiveExceptAt,
    }
}

fn push_info(p: &FPushInfo) -> PushInfo<'_> {
    let a = &p.android;
    PushInfo {
        disabled: p.disabled,
        title: p.title.s(),
        desc: p.desc.s(),
        ext: p.ext.s(),
        android: AndroidInfo {
            sound: a.sound.s(),
            huawei_channel_id: a.huawei_channel_id.s(),
            xiaomi_channel_id: a.xiaomi_channel_id.s(),
            oppo_channel_id: a.oppo_channel_id.s(),
            google_channel_id: a.google_channel_id.s(),
            vivo_classification: a.vivo_classification,
            vivo_category: a.vivo_category.s(),
            huawei_importance: a.huawei_importance.s(),
            ext_as_huawei_intent_param: a.ext_as_huawei_intent_param,
            huawei_category: a.huawei_category.s(),
            honor_importance: a.honor_importance.s(),
            oppo_category: a.oppo_category.s(),
            oppo_notify_level: a.oppo_notify_level,
            meizu_notice_msg_type: a.meizu_notice_msg_type,
            google_image: a.google_image.s(),
            huawei_image: a.huawei_image.s(),
            honor_image: a.honor_image.s(),
            harmony_category: a.harmony_category.s(),
            harmony_image: a.harmony_image.s(),
            ignore_harmony_badge: a.ignore_harmony_badge,
        },
        apns: ApnsInfo {
            sound: p.apns_sound.s(),
            badge_not_counted: p.badge_not_counted,
            title: p.apns_title.s(),
            sub_title: p.sub_title.s(),
            image: p.image.s(),
            mutable_content: p.mutable_content,
            collapse_id: p.collapse_id.s(),
        },
    }
}
