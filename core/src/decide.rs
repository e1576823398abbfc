//! The push decision (push-rules §2) and the merged notification settings.

use core::ops::ControlFlow;

use crate::error::{Error, Field};
use crate::model::{
    AndroidInfo, ApnsInfo, Case, Conversation, DeviceState, DndWindow, Elem, GroupType, Mention,
    Message, Origin, ReceiveOpt, Recipient,
};
use crate::recall::{MessageKey, ReplaceKey, Replacement, MSG_KEY_LIMIT};
use crate::text::{self, Body};

const SECONDS_PER_DAY: i64 = 86_400;
/// Widest real UTC offsets: UTC-12:00 to UTC+14:00.
const MIN_UTC_OFFSET: i32 = -12 * 3600;
const MAX_UTC_OFFSET: i32 = 14 * 3600;

/// iOS sound literals (push-rules §4.1).
pub const NO_SOUND: &str = "push.no_sound";
pub const DEFAULT_SOUND: &str = "default";

/// Why a device gets no notification: one per row of push-rules §2.1, in
/// the order the rows are evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Reason {
    SystemMessage,
    GroupTips,
    OnlineOnly,
    PushDisabledByMessage,
    NoPushInfo,
    GroupTypeNoPush,
    SelfSent,
    NoDisplayText,
    RecipientLoggedOut,
    NoToken,
    PushDisabledByUser,
    Foreground,
    MutedConversation,
    MutedGlobal,
    NotMentioned,
}

impl Reason {
    /// Every reason, by row of push-rules §2.1 (`explain::ORDER` is the
    /// order `decide` evaluates them in).
    pub const ALL: [Reason; 15] = [
        Reason::SystemMessage,
        Reason::GroupTips,
        Reason::OnlineOnly,
        Reason::PushDisabledByMessage,
        Reason::NoPushInfo,
        Reason::GroupTypeNoPush,
        Reason::SelfSent,
        Reason::NoDisplayText,
        Reason::RecipientLoggedOut,
        Reason::NoToken,
        Reason::PushDisabledByUser,
        Reason::Foreground,
        Reason::MutedConversation,
        Reason::MutedGlobal,
        Reason::NotMentioned,
    ];

    /// The case-format name.
    pub const fn name(self) -> &'static str {
        match self {
            Reason::SystemMessage => "SystemMessage",
            Reason::GroupTips => "GroupTips",
            Reason::OnlineOnly => "OnlineOnly",
            Reason::PushDisabledByMessage => "PushDisabledByMessage",
            Reason::NoPushInfo => "NoPushInfo",
            Reason::GroupTypeNoPush => "GroupTypeNoPush",
            Reason::SelfSent => "SelfSent",
            Reason::NoDisplayText => "NoDisplayText",
            Reason::RecipientLoggedOut => "RecipientLoggedOut",
            Reason::NoToken => "NoToken",
            Reason::PushDisabledByUser => "PushDisabledByUser",
            Reason::Foreground => "Foreground",
            Reason::MutedConversation => "MutedConversation",
            Reason::MutedGlobal => "MutedGlobal",
            Reason::NotMentioned => "NotMentioned",
        }
    }
}

/// Receives what [`decide_observed`] evaluates. Each method takes a
/// closure that builds the record, so an observer that ignores it (the
/// default) costs nothing.
pub trait Observer<'a> {
    /// One suppression check was evaluated.
    fn check(&mut self, check: impl FnOnce() -> Check<'a>) {
        let _ = check;
    }

    /// The case pushes; where its settings came from.
    fn sources(&mut self, sources: impl FnOnce() -> Sources) {
        let _ = sources;
    }
}

/// The observer of [`crate::decide()`]: records nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Observer<'_> for Silent {}

/// One suppression check: the reason it gives, what it read, whether it fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check<'a> {
    pub reason: Reason,
    pub read: Read<'a>,
    pub fired: bool,
}

/// The inputs a check read, one variant per check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read<'a> {
    /// `Message.IsSystem`.
    SystemMessage { is_system: bool },
    /// Whether any elem is a `TIMGroupTipElem`.
    GroupTips { group_tips: bool },
    /// `OnlineOnlyFlag` and `MsgLifeTime` (0 keeps nothing offline).
    OnlineOnly {
        online_only: bool,
        life_time: Option<u32>,
    },
    /// `OfflinePushInfo` present and its `PushFlag = 1`.
    PushDisabledByMessage { push_info: bool, push_flag: bool },
    /// `Origin` and whether there is an `OfflinePushInfo`.
    NoPushInfo { origin: Origin, push_info: bool },
    /// `Group.Type`; `None` for C2C.
    GroupTypeNoPush { group_type: Option<GroupType> },
    /// `From_Account` and `Recipient.Account`.
    SelfSent { sender: &'a str, recipient: &'a str },
    /// The body the message shows (push-rules §3).
    NoDisplayText { body: Body<'a> },
    /// `Recipient.Device.State`.
    RecipientLoggedOut { state: DeviceState },
    /// Whether `Recipient.Device.Token` is set.
    NoToken { token_set: bool },
    /// `Recipient.PushEnabled`.
    PushDisabledByUser { push_enabled: bool },
    /// `Recipient.Device.State`.
    Foreground { state: DeviceState },
    /// `Recipient.ReceiveOpt`, and whether it applies (a REST C2C send
    /// ignores it unless `WithMuteNotifications`, OQ-13).
    MutedConversation {
        receive_opt: ReceiveOpt,
        applies: bool,
    },
    /// As [`Read::MutedConversation`], and whether the message @-mentions
    /// the recipient or @all.
    NotMentioned {
        receive_opt: ReceiveOpt,
        applies: bool,
        mentioned: bool,
    },
    /// `Recipient.GlobalReceiveOpt`, the window and whether `Now` is in it
    /// (always, without a window).
    MutedGlobal {
        global_receive_opt: ReceiveOpt,
        dnd: Option<DndWindow>,
        in_window: bool,
    },
}

/// Where each merged setting of a push came from, as the case-format key
/// ([`Field::key`]); `None` = no source set it (the default applies). The
/// body's source is the notification's [`Body`] itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sources {
    /// `ApnsTitle` or `Title`.
    pub ios_title: Option<Field>,
    /// `Title`, `Nick`, `FromAccount` (C2C) or `GroupName`, `GroupId`.
    pub android_title: Option<Field>,
    /// `ApnsSound`, `ElemSound`, `C2cSound` or `GroupSound`; `None` = `default`.
    pub ios_sound: Option<Field>,
    /// `AndroidSound`.
    pub android_sound: Option<Field>,
    /// `Badge` (one more than `Recipient.Badge`) or `BadgeMode` (not counted).
    pub badge: Field,
    /// `Ext` or `ElemExt`.
    pub ext: Option<Field>,
    /// `MsgLifeTime`.
    pub expiry: Option<Field>,
}

/// The outcome for one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision<'a> {
    Push(Notification<'a>),
    Suppress(Reason),
}

/// Logs the outcome compactly on a device: `Push(<channel>)` or
/// `Suppress(<reason>)` (the notification's texts stay off the wire).
#[cfg(feature = "defmt")]
impl defmt::Format for Decision<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Decision::Push(n) => {
                defmt::write!(f, "Push({=str})", n.case.recipient.device.channel.name())
            }
            Decision::Suppress(reason) => defmt::write!(f, "Suppress({})", reason),
        }
    }
}

/// A notification to push: the case, with every setting merged by priority
/// (message > conversation > user global > app default, push-rules §2.5)
/// read through its methods. It holds only the case, so a decision moves
/// as two words: a caller that binds it by value pays no copy of a large
/// struct (which, read back just after `decide` wrote it, cost about as
/// much as a fifth of an APNs render), and nothing a provider does not
/// send is worked out. With feature `recall`, a replacement
/// (`Notification::replaced` (feature `recall`)) adds what replaces it: four words in all.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Notification<'a> {
    pub case: &'a Case<'a>,
    #[cfg(feature = "recall")]
    replacement: Option<Replacement<'a>>,
}

impl<'a> Notification<'a> {
    /// This notification as the silent replacement of the one it was:
    /// rendered with the same replace key, `with`'s text as the body
    /// ([`Replacement::text`]), the original title, no sound and no badge
    /// change (each provider's quietest setting: see the renderers). It
    /// renders only for a message with a key (else `Invalid(MsgKey)`:
    /// without one it would be a new notification, not a replacement).
    #[cfg(feature = "recall")]
    pub fn replaced(self, with: Replacement<'a>) -> Notification<'a> {
        Notification {
            replacement: Some(with),
            ..self
        }
    }

    /// What this notification replaces the shown one with; `None` = it is
    /// the message's own push (always, without feature `recall`).
    #[inline]
    pub fn replacement(&self) -> Option<Replacement<'a>> {
        #[cfg(feature = "recall")]
        return self.replacement;
        #[cfg(not(feature = "recall"))]
        None
    }

    /// The message this notification is for.
    pub fn message(&self) -> &'a Message<'a> {
        &self.case.message
    }

    /// The notification body (push-rules §3.2–3.3).
    #[inline]
    pub fn body(&self) -> Body<'a> {
        let locale = self.case.recipient.locale;
        match self.replacement() {
            None => Body::of(&self.case.message, locale),
            Some(with) => Body::Desc(with.text(locale)),
        }
    }

    /// iOS title; empty = none.
    #[inline]
    pub fn ios_title(&self) -> &'a str {
        text::ios_title_sourced(self.case.message.push_info.as_ref()).0
    }

    /// Android title; never empty unless every source is.
    #[inline]
    pub fn android_title(&self) -> &'a str {
        text::android_title_sourced(&self.case.message).0
    }

    /// iOS sound; `None` = no `sound` key (`push.no_sound`).
    #[inline]
    pub fn ios_sound(&self) -> Option<&'a str> {
        if self.replacement().is_some() {
            return None;
        }
        match sound_sourced(self.case).0 {
            NO_SOUND => None,
            "" => Some(DEFAULT_SOUND),
            sound => Some(sound),
        }
    }

    /// Android sound resource; empty = the channel's default.
    #[inline]
    pub fn android_sound(&self) -> &'a str {
        if self.replacement().is_some() {
            return "";
        }
        text::android_sound_name(raw_android_sound(self.case))
    }

    /// Badge to show; `None` = leave the device's badge alone.
    #[inline]
    pub fn badge(&self) -> Option<u32> {
        let counted = badge_counted(self.case) && self.replacement().is_none();
        counted.then(|| self.case.recipient.badge.saturating_add(1))
    }

    /// Pass-through for the app; empty = none.
    #[inline]
    pub fn ext(&self) -> &'a str {
        ext_sourced(self.case).0
    }

    /// Absolute expiry (Unix seconds) from `MsgLifeTime`; `None` =
    /// provider default. Cannot overflow: `validate` refused such a
    /// lifetime.
    #[inline]
    pub fn expires_at(&self) -> Option<i64> {
        self.case
            .message
            .life_time
            .and_then(|seconds| self.case.now.checked_add(i64::from(seconds)))
    }

    /// The message's Android knobs (all unset without an OfflinePushInfo).
    pub fn android_info(&self) -> AndroidInfo<'a> {
        self.case
            .message
            .push_info
            .map(|p| p.android)
            .unwrap_or_default()
    }

    /// The message's APNs knobs (all unset without an OfflinePushInfo).
    pub fn apns_info(&self) -> ApnsInfo<'a> {
        self.case
            .message
            .push_info
            .map(|p| p.apns)
            .unwrap_or_default()
    }

    /// The conversation key (`thread-id`; the Android tag of a message
    /// without a [`MessageKey`]).
    pub fn thread_key(&self) -> text::ThreadKey<'a> {
        text::thread_key(&self.case.message)
    }

    /// The message's identity for recall and edit; `None` = not given.
    pub fn message_key(&self) -> Option<MessageKey<'a>> {
        MessageKey::of(&self.case.message)
    }

    /// The keys every push of this message is marked with, so a recall or
    /// edit can replace it; `None` = the message has no key (then every
    /// payload is as without this feature).
    // One shared copy on firmware: every renderer calls it.
    #[cfg_attr(target_os = "none", inline(never))]
    pub fn replace_key(&self) -> Option<ReplaceKey> {
        self.message_key().map(|key| key.replace_key())
    }
}

/// The merged settings, as a reader (and a failing test) wants to see them.
impl core::fmt::Debug for Notification<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Notification")
            .field("channel", &self.case.recipient.device.channel)
            .field("body", &self.body())
            .field("ios_title", &self.ios_title())
            .field("android_title", &self.android_title())
            .field("ios_sound", &self.ios_sound())
            .field("android_sound", &self.android_sound())
            .field("badge", &self.badge())
            .field("ext", &self.ext())
            .field("expires_at", &self.expires_at())
            .field("replacement", &self.replacement())
            .finish()
    }
}

/// The custom elem whose push fields count: only without an
/// OfflinePushInfo (push-rules §2.5; its Desc still shows as the elem's
/// text, §3.1).
fn custom_push<'a>(message: &Message<'a>) -> Option<crate::model::CustomElem<'a>> {
    if message.push_info.is_some() {
        return None;
    }
    message.elems.iter().find_map(|e| match e {
        Elem::Custom(c) => Some(*c),
        _ => None,
    })
}

/// The sound setting before `push.no_sound` and the default are read,
/// with where it came from.
fn sound_sourced<'a>(case: &Case<'a>) -> (&'a str, Option<Field>) {
    let message = &case.message;
    let message_sound = match message.push_info {
        Some(p) => (p.apns.sound, Field::ApnsSound),
        None => (
            custom_push(message).map_or("", |c| c.sound),
            Field::ElemSound,
        ),
    };
    let user_sound = match message.conversation {
        Conversation::C2c { .. } => (case.recipient.c2c_sound, Field::C2cSound),
        Conversation::Group(_) => (case.recipient.group_sound, Field::GroupSound),
    };
    first_set_sourced(message_sound, user_sound)
}

fn raw_android_sound<'a>(case: &Case<'a>) -> &'a str {
    case.message.push_info.map_or("", |p| p.android.sound)
}

fn badge_counted(case: &Case<'_>) -> bool {
    !case
        .message
        .push_info
        .is_some_and(|p| p.apns.badge_not_counted)
}

fn ext_sourced<'a>(case: &Case<'a>) -> (&'a str, Field) {
    match case.message.push_info {
        Some(p) => (p.ext, Field::Ext),
        None => (
            custom_push(&case.message).map_or("", |c| c.ext),
            Field::ElemExt,
        ),
    }
}

/// Checks what the model's types cannot: the clock, at most one custom
/// elem, option ranges, the do-not-disturb window, and that every instant
/// the rules compute fits an `i64`. Elems and mentions may be any number:
/// the rules only walk them.
pub fn validate(case: &Case<'_>) -> Result<(), Error> {
    let message = &case.message;
    // Unix time before 1970 is no clock a server runs on, and a negative
    // `Now` plus a lifetime would render a negative `apns-expiration`.
    if case.now < 0 {
        return Err(Error::Invalid(Field::Now));
    }
    // `Now + MsgLifeTime` is the APNs expiry: refused rather than clamped
    // when it would overflow (only for a `Now` within 2^32 s of i64::MAX).
    if message
        .life_time
        .is_some_and(|seconds| case.now.checked_add(i64::from(seconds)).is_none())
    {
        return Err(Error::Invalid(Field::MsgLifeTime));
    }
    // Tencent's MsgKeys are about 30 bytes; a longer one is not one of
    // theirs (the collapse key would then be its hash, still correct).
    if message.msg_key.len() > MSG_KEY_LIMIT {
        return Err(Error::Invalid(Field::MsgKey));
    }
    let customs = message
        .elems
        .iter()
        .filter(|e| matches!(e, Elem::Custom(_)))
        .count();
    if customs > 1 {
        return Err(Error::MoreThanOneCustomElem);
    }
    let recipient = &case.recipient;
    let mention_option = matches!(
        recipient.receive_opt,
        ReceiveOpt::NotNotifyExceptAt | ReceiveOpt::NotReceiveExceptAt
    );
    if mention_option && matches!(message.conversation, Conversation::C2c { .. }) {
        // Options 3 and 4 exist for groups and topics only (push-rules §2.3).
        return Err(Error::Invalid(Field::ReceiveOpt));
    }
    if !matches!(
        recipient.global_receive_opt,
        ReceiveOpt::Receive | ReceiveOpt::NotNotify
    ) {
        return Err(Error::Invalid(Field::GlobalReceiveOpt));
    }
    match recipient.dnd {
        Some(DndWindow::Daily {
            start_second,
            utc_offset,
            ..
        }) => {
            let start_ok = i64::from(start_second) < SECONDS_PER_DAY;
            let offset_ok = (MIN_UTC_OFFSET..=MAX_UTC_OFFSET).contains(&utc_offset);
            if !start_ok || !offset_ok {
                return Err(Error::Invalid(Field::Dnd));
            }
        }
        // The window's end, `StartTimeStamp + Duration`, must exist too.
        Some(DndWindow::Absolute { start, duration })
            if start.checked_add(i64::from(duration)).is_none() =>
        {
            return Err(Error::Invalid(Field::DndStartTimeStamp));
        }
        _ => {}
    }
    Ok(())
}

/// Decides whether the case's device gets a notification and merges its
/// settings. The first row of push-rules §2.1 that fires is the reason.
pub fn decide<'a>(case: &'a Case<'a>) -> Result<Decision<'a>, Error> {
    decide_observed(case, &mut Silent)
}

/// [`decide`], telling `observer` each check it evaluates and, for a push,
/// where each setting came from ([`crate::explain`]).
pub fn decide_observed<'a, O: Observer<'a>>(
    case: &'a Case<'a>,
    observer: &mut O,
) -> Result<Decision<'a>, Error> {
    validate(case)?;
    let message = &case.message;
    let recipient = &case.recipient;
    let now = case.now;

    if let ControlFlow::Break(reason) = suppression(message, recipient, now, observer) {
        return Ok(Decision::Suppress(reason));
    }

    observer.sources(|| {
        let (sound, sound_from) = sound_sourced(case);
        let (ext, ext_from) = ext_sourced(case);
        Sources {
            ios_title: text::ios_title_sourced(message.push_info.as_ref()).1,
            android_title: text::android_title_sourced(message).1,
            ios_sound: sound_from.filter(|_| !sound.is_empty()),
            android_sound: (!raw_android_sound(case).is_empty()).then_some(Field::AndroidSound),
            badge: if badge_counted(case) {
                Field::Badge
            } else {
                Field::BadgeMode
            },
            ext: (!ext.is_empty()).then_some(ext_from),
            expiry: message.life_time.map(|_| Field::MsgLifeTime),
        }
    });
    Ok(Decision::Push(Notification {
        case,
        #[cfg(feature = "recall")]
        replacement: None,
    }))
}

/// The first set of two sourced strings, with its source.
fn first_set_sourced<'a>(
    preferred: (&'a str, Field),
    fallback: (&'a str, Field),
) -> (&'a str, Option<Field>) {
    let (text, from) = if preferred.0.is_empty() {
        fallback
    } else {
        preferred
    };
    (text, (!text.is_empty()).then_some(from))
}

/// Tells the observer of one check and breaks with its reason if it fired.
fn check<'a, O: Observer<'a>>(
    observer: &mut O,
    reason: Reason,
    fired: bool,
    read: impl FnOnce() -> Read<'a>,
) -> ControlFlow<Reason> {
    observer.check(|| Check {
        reason,
        read: read(),
        fired,
    });
    if fired {
        ControlFlow::Break(reason)
    } else {
        ControlFlow::Continue(())
    }
}

/// Rows 1–14 of push-rules §2.1, in order.
fn suppression<'a, O: Observer<'a>>(
    message: &'a Message<'a>,
    recipient: &'a Recipient<'a>,
    now: i64,
    observer: &mut O,
) -> ControlFlow<Reason> {
    let o = observer;
    check(o, Reason::SystemMessage, message.is_system, || {
        Read::SystemMessage {
            is_system: message.is_system,
        }
    })?;
    let group_tips = message.elems.iter().any(|e| matches!(e, Elem::GroupTips));
    check(o, Reason::GroupTips, group_tips, || Read::GroupTips {
        group_tips,
    })?;
    // Row 3, and row 4: MsgLifeTime 0 keeps nothing for offline users (OQ-16).
    let online_only = message.online_only || message.life_time == Some(0);
    check(o, Reason::OnlineOnly, online_only, || Read::OnlineOnly {
        online_only: message.online_only,
        life_time: message.life_time,
    })?;
    let push_flag = message.push_info.is_some_and(|p| p.disabled);
    check(o, Reason::PushDisabledByMessage, push_flag, || {
        Read::PushDisabledByMessage {
            push_info: message.push_info.is_some(),
            push_flag,
        }
    })?;
    let no_push_info = message.origin == Origin::SdkOptIn && message.push_info.is_none();
    check(o, Reason::NoPushInfo, no_push_info, || Read::NoPushInfo {
        origin: message.origin,
        push_info: message.push_info.is_some(),
    })?;
    let group_type = match message.conversation {
        Conversation::Group(group) => Some(group.kind),
        Conversation::C2c { .. } => None,
    };
    let av_chat_room = group_type == Some(GroupType::AvChatRoom);
    check(o, Reason::GroupTypeNoPush, av_chat_room, || {
        Read::GroupTypeNoPush { group_type }
    })?;
    let self_sent =
        !message.sender.account.is_empty() && text::same(message.sender.account, recipient.account);
    check(o, Reason::SelfSent, self_sent, || Read::SelfSent {
        sender: message.sender.account,
        recipient: recipient.account,
    })?;
    let body = Body::of(message, recipient.locale);
    check(o, Reason::NoDisplayText, body.is_empty(), || {
        Read::NoDisplayText { body }
    })?;
    let device = recipient.device;
    let state = device.state;
    check(
        o,
        Reason::RecipientLoggedOut,
        state == DeviceState::Offline,
        || Read::RecipientLoggedOut { state },
    )?;
    check(o, Reason::NoToken, device.token.is_empty(), || {
        Read::NoToken {
            token_set: !device.token.is_empty(),
        }
    })?;
    check(
        o,
        Reason::PushDisabledByUser,
        !recipient.push_enabled,
        || Read::PushDisabledByUser {
            push_enabled: recipient.push_enabled,
        },
    )?;
    check(
        o,
        Reason::Foreground,
        state == DeviceState::Foreground,
        || Read::Foreground { state },
    )?;
    receive_option(message, recipient, now, o)
}

/// Row 14: the conversation option, then the global window (push-rules §2.3).
#[cfg_attr(not(target_os = "none"), inline(always))]
fn receive_option<'a, O: Observer<'a>>(
    message: &'a Message<'a>,
    recipient: &'a Recipient<'a>,
    now: i64,
    o: &mut O,
) -> ControlFlow<Reason> {
    // REST C2C sends ignore the per-peer mute unless asked to honour it (OQ-13).
    let rest_c2c =
        message.origin == Origin::Rest && matches!(message.conversation, Conversation::C2c { .. });
    let applies = !rest_c2c || message.with_mute_notifications;
    let receive_opt = recipient.receive_opt;
    let muted = applies && matches!(receive_opt, ReceiveOpt::NotReceive | ReceiveOpt::NotNotify);
    check(o, Reason::MutedConversation, muted, || {
        Read::MutedConversation {
            receive_opt,
            applies,
        }
    })?;
    let mention_only = applies
        && matches!(
            receive_opt,
            ReceiveOpt::NotNotifyExceptAt | ReceiveOpt::NotReceiveExceptAt
        );
    let mentioned = mention_only && mentions(message, recipient.account);
    check(o, Reason::NotMentioned, mention_only && !mentioned, || {
        Read::NotMentioned {
            receive_opt,
            applies,
            mentioned: mentions(message, recipient.account),
        }
    })?;
    let global = recipient.global_receive_opt;
    let in_dnd = recipient.dnd.is_none_or(|w| in_window(w, now));
    let globally_muted = global == ReceiveOpt::NotNotify && in_dnd;
    check(o, Reason::MutedGlobal, globally_muted, || {
        Read::MutedGlobal {
            global_receive_opt: global,
            dnd: recipient.dnd,
            in_window: in_dnd,
        }
    })
}

/// Whether the message @-mentions `account` or @all.
pub fn mentions(message: &Message<'_>, account: &str) -> bool {
    relevant_mention(message.mentions, account).is_some()
}

/// All the rules read of a mention list for the recipient `account`:
/// `@all` if any entry is, else the recipient's own entry, else nothing.
/// A list reduced to this entry decides the same, so the fixed-storage
/// paths (`ingest`, `wire`) keep only it, however long the list.
pub fn relevant_mention<'a>(mentions: &[Mention<'a>], account: &str) -> Option<Mention<'a>> {
    mentions
        .iter()
        .fold(None, |kept, m| fold_mention(kept, *m, |a| a == account))
}

/// One step of [`relevant_mention`]: `is_recipient` says whether an
/// account is the recipient's.
pub fn fold_mention<'a>(
    kept: Option<Mention<'a>>,
    next: Mention<'a>,
    is_recipient: impl FnOnce(&str) -> bool,
) -> Option<Mention<'a>> {
    match (kept, next) {
        (Some(Mention::All), _) | (_, Mention::All) => Some(Mention::All),
        (Some(mine), _) => Some(mine),
        (None, Mention::Account(a)) => is_recipient(a).then_some(next),
    }
}

/// Whether `now` lies in the half-open window `[start, start + duration)`.
/// A daily window of a whole day or more mutes permanently; a daily window
/// may cross midnight.
pub fn in_window(window: DndWindow, now: i64) -> bool {
    match window {
        DndWindow::Daily {
            start_second,
            duration,
            utc_offset,
        } => {
            if i64::from(duration) >= SECONDS_PER_DAY {
                return true;
            }
            let local = (now.rem_euclid(SECONDS_PER_DAY) + i64::from(utc_offset))
                .rem_euclid(SECONDS_PER_DAY);
            let since_start = (local - i64::from(start_second)).rem_euclid(SECONDS_PER_DAY);
            since_start < i64::from(duration)
        }
        DndWindow::Absolute { start, duration } => {
            now >= start && now < start.saturating_add(i64::from(duration))
        }
    }
}
