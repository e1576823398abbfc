//! The push decision (push-rules §2) and the merged notification settings.

use crate::error::{Error, Field};
use crate::model::{
    AndroidInfo, ApnsInfo, Case, Conversation, DeviceState, DndWindow, Elem, GroupType, Mention,
    Message, Origin, ReceiveOpt, Recipient,
};
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
    /// Every reason, in evaluation order.
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

/// A notification to push: the case plus every setting merged by priority
/// (message > conversation > user global > app default, push-rules §2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notification<'a> {
    pub case: &'a Case<'a>,
    pub body: Body<'a>,
    /// iOS title; empty = none.
    pub ios_title: &'a str,
    /// Android title; never empty unless every source is.
    pub android_title: &'a str,
    /// iOS sound; `None` = no `sound` key (`push.no_sound`).
    pub ios_sound: Option<&'a str>,
    /// Android sound resource; empty = the channel's default.
    pub android_sound: &'a str,
    /// Badge to show; `None` = leave the device's badge alone.
    pub badge: Option<u32>,
    /// Pass-through for the app; empty = none.
    pub ext: &'a str,
    /// Absolute expiry (Unix seconds) from `MsgLifeTime`; `None` = provider default.
    pub expires_at: Option<i64>,
}

impl<'a> Notification<'a> {
    /// The message this notification is for.
    pub fn message(&self) -> &'a Message<'a> {
        &self.case.message
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

    /// The conversation key (`thread-id`, Android tag).
    pub fn thread_key(&self) -> text::Segments<'a> {
        text::thread_key(&self.case.message)
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
    validate(case)?;
    let message = &case.message;
    let recipient = &case.recipient;
    let now = case.now;

    if let Some(reason) = suppression(message, recipient, now) {
        return Ok(Decision::Suppress(reason));
    }

    let push_info = message.push_info.as_ref();
    let custom = message.elems.iter().find_map(|e| match e {
        Elem::Custom(c) => Some(*c),
        _ => None,
    });
    // With an OfflinePushInfo the custom elem's push fields are ignored
    // (push-rules §2.5); its Desc still shows as the elem's text (§3.1).
    let custom_push = if push_info.is_none() { custom } else { None };

    let message_sound = match push_info {
        Some(p) => p.apns.sound,
        None => custom_push.map_or("", |c| c.sound),
    };
    let user_sound = match message.conversation {
        Conversation::C2c { .. } => recipient.c2c_sound,
        Conversation::Group(_) => recipient.group_sound,
    };
    let ios_sound = match text::first_set(message_sound, user_sound) {
        NO_SOUND => None,
        "" => Some(DEFAULT_SOUND),
        sound => Some(sound),
    };

    let badge_counted = !push_info.is_some_and(|p| p.apns.badge_not_counted);
    let badge = badge_counted.then(|| recipient.badge.saturating_add(1));

    let ext = match push_info {
        Some(p) => p.ext,
        None => custom_push.map_or("", |c| c.ext),
    };

    // Cannot overflow: `validate` refused such a lifetime.
    let expires_at = message
        .life_time
        .and_then(|seconds| now.checked_add(i64::from(seconds)));

    Ok(Decision::Push(Notification {
        case,
        body: Body::of(message, recipient.locale),
        ios_title: text::ios_title(push_info),
        android_title: text::android_title(message),
        ios_sound,
        android_sound: push_info.map_or("", |p| p.android.sound),
        badge,
        ext,
        expires_at,
    }))
}

/// Rows 1–14 of push-rules §2.1, in order.
fn suppression(message: &Message<'_>, recipient: &Recipient<'_>, now: i64) -> Option<Reason> {
    if message.is_system {
        return Some(Reason::SystemMessage);
    }
    if message.elems.iter().any(|e| matches!(e, Elem::GroupTips)) {
        return Some(Reason::GroupTips);
    }
    // Row 3, and row 4: MsgLifeTime 0 keeps nothing for offline users (OQ-16).
    if message.online_only || message.life_time == Some(0) {
        return Some(Reason::OnlineOnly);
    }
    if message.push_info.is_some_and(|p| p.disabled) {
        return Some(Reason::PushDisabledByMessage);
    }
    if message.origin == Origin::SdkOptIn && message.push_info.is_none() {
        return Some(Reason::NoPushInfo);
    }
    if let Conversation::Group(group) = message.conversation {
        if group.kind == GroupType::AvChatRoom {
            return Some(Reason::GroupTypeNoPush);
        }
    }
    if !message.sender.account.is_empty() && message.sender.account == recipient.account {
        return Some(Reason::SelfSent);
    }
    if Body::of(message, recipient.locale).is_empty() {
        return Some(Reason::NoDisplayText);
    }
    match recipient.device.state {
        DeviceState::Offline => return Some(Reason::RecipientLoggedOut),
        _ if recipient.device.token.is_empty() => return Some(Reason::NoToken),
        _ if !recipient.push_enabled => return Some(Reason::PushDisabledByUser),
        DeviceState::Foreground => return Some(Reason::Foreground),
        DeviceState::Background | DeviceState::PushOnline => {}
    }
    receive_option(message, recipient, now)
}

/// Row 14: the conversation option, then the global window (push-rules §2.3).
fn receive_option(message: &Message<'_>, recipient: &Recipient<'_>, now: i64) -> Option<Reason> {
    // REST C2C sends ignore the per-peer mute unless asked to honour it (OQ-13).
    let rest_c2c =
        message.origin == Origin::Rest && matches!(message.conversation, Conversation::C2c { .. });
    let conversation_applies = !rest_c2c || message.with_mute_notifications;
    if conversation_applies {
        match recipient.receive_opt {
            ReceiveOpt::Receive => {}
            ReceiveOpt::NotReceive | ReceiveOpt::NotNotify => {
                return Some(Reason::MutedConversation)
            }
            ReceiveOpt::NotNotifyExceptAt | ReceiveOpt::NotReceiveExceptAt => {
                if !mentions(message, recipient.account) {
                    return Some(Reason::NotMentioned);
                }
            }
        }
    }
    let globally_muted = recipient.global_receive_opt == ReceiveOpt::NotNotify
        && recipient.dnd.is_none_or(|w| in_window(w, now));
    globally_muted.then_some(Reason::MutedGlobal)
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
