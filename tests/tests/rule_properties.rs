//! Property tests for the push rules (push-rules §2): arbitrary valid cases
//! built directly with the core model, expectations computed here from the
//! rules as written, never with the core's own helpers.
//!
//! Names come from a small pool so that sender = recipient, @-mentions of
//! the recipient and empty names happen often.

use proptest::prelude::*;
use serde_json::Value;
use tidings_core::model::*;
use tidings_core::{decide, render, Decision, Reason};

const NAMES: &[&str] = &["", "ann", "bob", "cat"];
const TEXTS: &[&str] = &["", "hi", "中文", "a\"b", "😀"];
const DAY: i64 = 86_400;
/// UTC−12:00 … UTC+14:00, the offsets the core accepts.
const OFFSETS: std::ops::RangeInclusive<i32> = -12 * 3600..=14 * 3600;

fn cases() -> ProptestConfig {
    ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(1000),
    )
}

/// An elem as generated; lent to the model by [`World::elems`].
#[derive(Debug, Clone)]
enum E {
    Text(&'static str),
    Image,
    Sound,
    File,
    Video,
    Face,
    Location,
    Custom(&'static str),
    Relay(&'static str),
    GroupTips,
}

/// Everything a case needs, owned, so that a case can borrow from it.
#[derive(Debug, Clone)]
struct World {
    is_system: bool,
    elems: Vec<E>,
    online_only: bool,
    life_time: Option<u32>,
    /// `(PushFlag = 1, Desc, BadgeMode = 1)`.
    push_info: Option<(bool, String, bool)>,
    origin: Origin,
    /// `None` = C2C.
    group: Option<GroupType>,
    sender: &'static str,
    nick: &'static str,
    recipient: &'static str,
    state: DeviceState,
    token: bool,
    push_enabled: bool,
    receive_opt: ReceiveOpt,
    with_mute_notifications: bool,
    mentions: Vec<Option<&'static str>>,
    global_muted: bool,
    dnd: Option<DndWindow>,
    badge: u32,
    channel: Channel,
    now: i64,
}

fn name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(NAMES)
}

fn elem() -> impl Strategy<Value = E> {
    let text = || prop::sample::select(TEXTS);
    prop_oneof![
        8 => text().prop_map(E::Text),
        1 => Just(E::Image),
        1 => Just(E::Sound),
        1 => Just(E::File),
        1 => Just(E::Video),
        1 => Just(E::Face),
        1 => Just(E::Location),
        2 => text().prop_map(E::Custom),
        1 => text().prop_map(E::Relay),
        1 => Just(E::GroupTips),
    ]
}

fn dnd() -> impl Strategy<Value = DndWindow> {
    prop_oneof![
        (0u32..86_400, any::<u32>(), OFFSETS).prop_map(|(start_second, duration, utc_offset)| {
            DndWindow::Daily {
                start_second,
                duration: duration % 100_000,
                utc_offset,
            }
        }),
        (-(1i64 << 40)..(1i64 << 40), any::<u32>())
            .prop_map(|(start, duration)| DndWindow::Absolute { start, duration }),
    ]
}

/// A rare `true`: early rules would otherwise hide the later ones.
fn rarely() -> impl Strategy<Value = bool> {
    prop::bool::weighted(0.1)
}

fn world() -> impl Strategy<Value = World> {
    (
        (
            rarely(),
            prop::collection::vec(elem(), 0..4),
            rarely(),
            prop_oneof![6 => Just(None), 1 => Just(Some(0)), 3 => (1u32..1_000_000).prop_map(Some)],
            prop::option::of((rarely(), prop::sample::select(TEXTS), any::<bool>())),
            prop::sample::select(vec![Origin::Rest, Origin::Sdk, Origin::SdkOptIn]),
            prop::option::of(prop::sample::select(vec![
                GroupType::Work,
                GroupType::Public,
                GroupType::Meeting,
                GroupType::Community,
                GroupType::AvChatRoom,
            ])),
        ),
        (name(), name(), name()),
        (
            prop::sample::select(vec![
                DeviceState::Foreground,
                DeviceState::Background,
                DeviceState::PushOnline,
                DeviceState::Offline,
            ]),
            prop::bool::weighted(0.9),
            prop::bool::weighted(0.9),
            0u8..5,
            any::<bool>(),
            prop::collection::vec(prop::option::of(name()), 0..3),
        ),
        (
            any::<bool>(),
            prop::option::of(dnd()),
            any::<u32>(),
            prop::sample::select(Channel::ALL.to_vec()),
            0..(1i64 << 40),
        ),
    )
        .prop_map(
            |(
                (is_system, mut elems, online_only, life_time, push_info, origin, group),
                (sender, nick, recipient),
                (state, token, push_enabled, opt, with_mute_notifications, mentions),
                (global_muted, dnd, badge, channel, now),
            )| {
                // At most one custom elem (push-rules OQ-7): later ones become images.
                let mut customs = 0;
                for e in &mut elems {
                    if matches!(e, E::Custom(_)) {
                        customs += 1;
                        if customs > 1 {
                            *e = E::Image;
                        }
                    }
                }
                // Options 3 and 4 exist for groups only; a C2C case gets 0–2.
                let opt = if group.is_none() { opt % 3 } else { opt };
                World {
                    is_system,
                    elems,
                    online_only,
                    life_time,
                    push_info: push_info
                        .map(|(flag, desc, badge_mode)| (flag, desc.to_owned(), badge_mode)),
                    origin,
                    group,
                    sender,
                    nick,
                    recipient,
                    state,
                    token,
                    push_enabled,
                    receive_opt: ReceiveOpt::from_code(opt).unwrap(),
                    with_mute_notifications,
                    mentions,
                    global_muted,
                    dnd,
                    badge,
                    channel,
                    now,
                }
            },
        )
}

impl World {
    fn elems(&self) -> Vec<Elem<'_>> {
        self.elems
            .iter()
            .map(|e| match *e {
                E::Text(t) => Elem::Text(t),
                E::Image => Elem::Image,
                E::Sound => Elem::Sound,
                E::File => Elem::File,
                E::Video => Elem::Video,
                E::Face => Elem::Face,
                E::Location => Elem::Location,
                E::Custom(desc) => Elem::Custom(CustomElem {
                    desc,
                    ..CustomElem::default()
                }),
                E::Relay(t) => Elem::Relay(t),
                E::GroupTips => Elem::GroupTips,
            })
            .collect()
    }

    fn mentions(&self) -> Vec<Mention<'_>> {
        self.mentions
            .iter()
            .map(|m| match m {
                None => Mention::All,
                Some(a) => Mention::Account(a),
            })
            .collect()
    }

    fn case<'a>(&'a self, elems: &'a [Elem<'a>], mentions: &'a [Mention<'a>]) -> Case<'a> {
        Case {
            message: Message {
                sender: Sender {
                    account: self.sender,
                    nick: self.nick,
                    name_card: "",
                },
                conversation: match self.group {
                    None => Conversation::C2c {
                        to_account: self.recipient,
                    },
                    Some(kind) => Conversation::Group(Group {
                        id: "g-1",
                        name: "Dev",
                        kind,
                    }),
                },
                origin: self.origin,
                elems,
                push_info: self
                    .push_info
                    .as_ref()
                    .map(|(disabled, desc, badge_mode)| PushInfo {
                        disabled: *disabled,
                        desc,
                        apns: ApnsInfo {
                            badge_not_counted: *badge_mode,
                            ..ApnsInfo::default()
                        },
                        ..PushInfo::default()
                    }),
                online_only: self.online_only,
                life_time: self.life_time,
                with_mute_notifications: self.with_mute_notifications,
                mentions,
                is_system: self.is_system,
                msg_key: "",
                msg_seq: None,
            },
            recipient: Recipient {
                account: self.recipient,
                device: Device {
                    channel: self.channel,
                    token: if self.token { "a1b2c3d4" } else { "" },
                    state: self.state,
                },
                badge: self.badge,
                push_enabled: self.push_enabled,
                c2c_sound: "",
                group_sound: "",
                receive_opt: self.receive_opt,
                global_receive_opt: if self.global_muted {
                    ReceiveOpt::NotNotify
                } else {
                    ReceiveOpt::Receive
                },
                dnd: self.dnd,
                locale: Locale::En,
            },
            app: App {
                bundle_id: "com.example.chat",
                package_name: "com.example.chat",
                badge_class: "com.example.chat.Main",
                harmony_category: "",
            },
            now: self.now,
        }
    }

    /// Whether the message has something to show: a `Desc`, or an elem
    /// whose fragment is not empty (a placeholder, or non-empty text).
    fn has_display_text(&self) -> bool {
        let desc = self.push_info.as_ref().is_some_and(|p| !p.1.is_empty());
        desc || self.elems.iter().any(|e| match e {
            E::Text(t) | E::Custom(t) => !t.is_empty(),
            E::Relay(_) | E::Image | E::Sound | E::File | E::Video | E::Face | E::Location => true,
            E::GroupTips => false,
        })
    }

    /// The reason push-rules §2.1 gives, evaluated top to bottom.
    fn expected(&self) -> Option<Reason> {
        let rest_c2c = self.origin == Origin::Rest && self.group.is_none();
        let mentioned = self
            .mentions
            .iter()
            .any(|m| m.is_none_or(|a| a == self.recipient));
        let rows: [(bool, Reason); 15] = [
            (self.is_system, Reason::SystemMessage),
            (
                self.elems.iter().any(|e| matches!(e, E::GroupTips)),
                Reason::GroupTips,
            ),
            (
                self.online_only || self.life_time == Some(0),
                Reason::OnlineOnly,
            ),
            (
                self.push_info.as_ref().is_some_and(|p| p.0),
                Reason::PushDisabledByMessage,
            ),
            (
                self.origin == Origin::SdkOptIn && self.push_info.is_none(),
                Reason::NoPushInfo,
            ),
            (
                self.group == Some(GroupType::AvChatRoom),
                Reason::GroupTypeNoPush,
            ),
            (
                !self.sender.is_empty() && self.sender == self.recipient,
                Reason::SelfSent,
            ),
            (!self.has_display_text(), Reason::NoDisplayText),
            (
                self.state == DeviceState::Offline,
                Reason::RecipientLoggedOut,
            ),
            (!self.token, Reason::NoToken),
            (!self.push_enabled, Reason::PushDisabledByUser),
            (self.state == DeviceState::Foreground, Reason::Foreground),
            (
                (!rest_c2c || self.with_mute_notifications)
                    && matches!(
                        self.receive_opt,
                        ReceiveOpt::NotReceive | ReceiveOpt::NotNotify
                    ),
                Reason::MutedConversation,
            ),
            (
                (!rest_c2c || self.with_mute_notifications)
                    && matches!(
                        self.receive_opt,
                        ReceiveOpt::NotNotifyExceptAt | ReceiveOpt::NotReceiveExceptAt
                    )
                    && !mentioned,
                Reason::NotMentioned,
            ),
            (
                self.global_muted && self.dnd.is_none_or(|w| muted_at(w, self.now)),
                Reason::MutedGlobal,
            ),
        ];
        rows.into_iter().find(|(fires, _)| *fires).map(|(_, r)| r)
    }
}

/// Whether `now` is inside the window, by cases rather than modular
/// arithmetic: a daily window either ends the same day or wraps past
/// midnight.
fn muted_at(window: DndWindow, now: i64) -> bool {
    match window {
        DndWindow::Daily {
            start_second,
            duration,
            utc_offset,
        } => {
            if i64::from(duration) >= DAY {
                return true;
            }
            let local = (i128::from(now) + i128::from(utc_offset)).rem_euclid(i128::from(DAY));
            let local = i64::try_from(local).unwrap();
            let start = i64::from(start_second);
            let end = start + i64::from(duration);
            if end <= DAY {
                start <= local && local < end
            } else {
                local >= start || local < end - DAY
            }
        }
        DndWindow::Absolute { start, duration } => {
            let (now, start) = (i128::from(now), i128::from(start));
            start <= now && now < start + i128::from(duration)
        }
    }
}

/// The latest `Now` any generated lifetime can be added to.
const MAX_NOW: i64 = i64::MAX - u32::MAX as i64;

fn reason_of(world: &World) -> Option<Reason> {
    let elems = world.elems();
    let mentions = world.mentions();
    let case = world.case(&elems, &mentions);
    match decide(&case).expect("a generated case is valid") {
        Decision::Suppress(reason) => Some(reason),
        Decision::Push(_) => None,
    }
}

/// A world that pushes: every suppressing knob turned off.
fn pushing(mut w: World) -> World {
    w.is_system = false;
    w.elems.retain(|e| !matches!(e, E::GroupTips));
    w.elems.push(E::Text("hi"));
    w.online_only = false;
    w.life_time = w.life_time.filter(|t| *t > 0);
    if let Some(p) = &mut w.push_info {
        p.0 = false;
    }
    w.origin = Origin::Sdk;
    if w.group == Some(GroupType::AvChatRoom) {
        w.group = Some(GroupType::Work);
    }
    w.sender = "ann";
    w.recipient = "bob";
    w.state = DeviceState::Background;
    w.token = true;
    w.push_enabled = true;
    w.receive_opt = ReceiveOpt::Receive;
    w.global_muted = false;
    w
}

/// The APNs payload of a pushing world, and its length in bytes.
fn apns_payload(world: &World) -> (Value, usize) {
    let elems = world.elems();
    let mentions = world.mentions();
    let mut case = world.case(&elems, &mentions);
    case.recipient.device.channel = Channel::Apns;
    let Decision::Push(n) = decide(&case).unwrap() else {
        panic!("expected a push for {world:?}");
    };
    let mut buf = vec![0u8; 8192];
    let r = render(&n, &mut buf).unwrap();
    (serde_json::from_slice(&buf[..r.len]).unwrap(), r.len)
}

/// Bytes `s` takes as a JSON string's content, escaped as vendors.md §10.4
/// says: `\"` `\\` and the short control escapes take 2, other controls
/// and U+2028/U+2029 take 6 (`\u00XX`, `\u2028`), the rest their UTF-8.
fn escaped_len(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '"' | '\\' | '\u{8}' | '\t' | '\n' | '\u{c}' | '\r' => 2,
            '\u{0}'..='\u{1f}' | '\u{2028}' | '\u{2029}' => 6,
            c => c.len_utf8(),
        })
        .sum()
}

/// Long `Desc` texts: plain, escaped and multi-byte, past APNs' 4096 bytes.
fn desc() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!['a', ' ', '"', '\\', '\n', 'é', '中', '😀', '\u{2028}']),
        1..3000,
    )
    .prop_map(String::from_iter)
}

proptest! {
    #![proptest_config(cases())]

    /// The reason is the first row of push-rules §2.1 that fires, however
    /// many fire; no row firing means a push.
    #[test]
    fn reason_is_the_first_row_that_fires(world in world()) {
        prop_assert_eq!(reason_of(&world), world.expected());
    }

    /// The trace decides exactly as `decide` (the same code, observed): its
    /// checks run in order up to the first that fires, which is the reason;
    /// a push ran all 15 and records its sources.
    #[test]
    fn trace_decides_as_decide(world in world()) {
        let elems = world.elems();
        let mentions = world.mentions();
        let case = world.case(&elems, &mentions);
        let decided = decide(&case).expect("a generated case is valid");
        let explained = tidings_core::explain::explain(&case).expect("a generated case is valid");
        prop_assert_eq!(explained.decision, decided);
        let checks: Vec<_> = explained.trace.checks().copied().collect();
        let fired: Vec<_> = checks.iter().filter(|c| c.fired).map(|c| c.reason).collect();
        let mut seen = std::collections::HashSet::new();
        prop_assert!(checks.iter().all(|c| seen.insert(c.reason)), "a check ran twice");
        let order: Vec<_> = checks.iter().map(|c| c.reason).collect();
        prop_assert_eq!(&order[..], &tidings_core::explain::ORDER[..order.len()]);
        match decided {
            Decision::Suppress(reason) => {
                prop_assert_eq!(fired, vec![reason]);
                prop_assert_eq!(checks.last().map(|c| c.reason), Some(reason));
                prop_assert!(explained.trace.sources.is_none());
            }
            Decision::Push(_) => {
                prop_assert!(fired.is_empty());
                prop_assert_eq!(checks.len(), Reason::ALL.len());
                prop_assert!(explained.trace.sources.is_some());
            }
        }
    }

    /// `PushFlag = 1` always suppresses, as `PushDisabledByMessage` unless
    /// an earlier row (system, tips, online-only) fires.
    #[test]
    fn push_flag_always_suppresses(mut world in world(), desc in prop::sample::select(TEXTS), badge_mode in any::<bool>()) {
        world.push_info = Some((true, desc.to_owned(), badge_mode));
        let reason = reason_of(&world);
        let earlier = world.is_system
            || world.elems.iter().any(|e| matches!(e, E::GroupTips))
            || world.online_only
            || world.life_time == Some(0);
        if earlier {
            prop_assert!(matches!(
                reason,
                Some(Reason::SystemMessage | Reason::GroupTips | Reason::OnlineOnly)
            ));
        } else {
            prop_assert_eq!(reason, Some(Reason::PushDisabledByMessage));
        }
    }

    /// A foreground device is never pushed.
    #[test]
    fn foreground_is_never_pushed(mut world in world(), everything_else_pushes in any::<bool>()) {
        if everything_else_pushes {
            world = pushing(world);
        }
        world.state = DeviceState::Foreground;
        let reason = reason_of(&world);
        prop_assert!(reason.is_some());
        if everything_else_pushes {
            prop_assert_eq!(reason, Some(Reason::Foreground));
        }
    }

    /// An offline (logged-out) device is never pushed, token or not.
    #[test]
    fn offline_is_never_pushed(mut world in world(), everything_else_pushes in any::<bool>()) {
        if everything_else_pushes {
            world = pushing(world);
        }
        world.state = DeviceState::Offline;
        let reason = reason_of(&world);
        prop_assert!(reason.is_some());
        if everything_else_pushes {
            prop_assert_eq!(reason, Some(Reason::RecipientLoggedOut));
        }
    }

    /// A set `Desc` is the whole body: the APNs alert is the `Desc`, or a
    /// prefix of it plus `…` when it is over the limit; never a name prefix
    /// or an elem's text.
    #[test]
    fn desc_is_the_whole_body(world in world(), desc in desc(), badge_mode in any::<bool>()) {
        let mut world = pushing(world);
        world.push_info = Some((false, desc.clone(), badge_mode));
        let (payload, len) = apns_payload(&world);
        let alert = payload["aps"]["alert"].as_str().expect("a bare alert: no title set");
        if alert != desc {
            let kept = alert.strip_suffix('…').expect("a cut body ends with …");
            prop_assert!(desc.starts_with(kept), "alert is not a prefix of the desc");
            // Cut only because the whole desc would not have fitted.
            let whole = len - escaped_len(alert) + escaped_len(&desc);
            prop_assert!(whole > 4096, "cut though {whole} bytes fit");
        }
    }

    /// The badge is `Badge + 1` when it counts (`BadgeMode` 0, or no push
    /// info) and absent with `BadgeMode` 1, in the APNs payload.
    #[test]
    fn badge_is_one_more_exactly_when_counted(world in world(), badge in 0..u32::MAX) {
        let mut world = pushing(world);
        world.badge = badge;
        let counted = world.push_info.as_ref().is_none_or(|p| !p.2);
        let (payload, _) = apns_payload(&world);
        let sent = payload["aps"].get("badge").map(|b| b.as_u64().unwrap());
        let expected = counted.then(|| u64::from(badge) + 1);
        prop_assert_eq!(sent, expected);
    }
}

/// A world that pushes unless the global window mutes it.
fn windowed(world: World, window: DndWindow, now: i64) -> World {
    let mut w = pushing(world);
    w.global_muted = true;
    w.dnd = Some(window);
    w.now = now;
    w
}

/// The UTC time at which the local clock of `utc_offset` shows `second`
/// after midnight on day `day`.
fn at_local(day: i64, second: i64, utc_offset: i32) -> i64 {
    day * DAY + second - i64::from(utc_offset)
}

proptest! {
    #![proptest_config(cases())]

    /// Daily window boundaries, in any zone, crossing midnight or not:
    /// the start second is muted, the last second is muted, the end second
    /// (start + duration) is not, nor the second before the start.
    #[test]
    fn daily_window_is_half_open(
        world in world(),
        start in 0i64..DAY,
        duration in 1i64..DAY,
        utc_offset in OFFSETS,
        day in 2i64..40_000,
    ) {
        let window = DndWindow::Daily {
            start_second: u32::try_from(start).unwrap(),
            duration: u32::try_from(duration).unwrap(),
            utc_offset,
        };
        let muted = |local: i64| {
            reason_of(&windowed(world.clone(), window, at_local(day, local, utc_offset)))
                == Some(Reason::MutedGlobal)
        };
        prop_assert!(muted(start), "start muted");
        prop_assert!(muted(start + duration - 1), "last second muted");
        prop_assert!(!muted(start + duration), "end not muted");
        prop_assert!(!muted(start - 1), "second before start not muted");
        // The window recurs: the same local times a day later, too.
        prop_assert!(muted(start + DAY));
        prop_assert!(!muted(start + duration + DAY));
    }

    /// A daily window of a whole day or more mutes at every instant; an
    /// empty one never does.
    #[test]
    fn daily_window_extremes(
        world in world(),
        start in 0u32..86_400,
        long in 86_400u32..,
        utc_offset in OFFSETS,
        now in 0..=MAX_NOW,
    ) {
        let permanent = DndWindow::Daily { start_second: start, duration: long, utc_offset };
        prop_assert_eq!(reason_of(&windowed(world.clone(), permanent, now)), Some(Reason::MutedGlobal));
        let empty = DndWindow::Daily { start_second: start, duration: 0, utc_offset };
        prop_assert_eq!(reason_of(&windowed(world, empty, now)), None);
    }

    /// Any instant against any daily window agrees with the window computed
    /// by cases.
    #[test]
    fn daily_window_at_any_instant(
        world in world(),
        start in 0u32..86_400,
        duration in 0u32..100_000,
        utc_offset in OFFSETS,
        now in 0..=MAX_NOW,
    ) {
        let window = DndWindow::Daily { start_second: start, duration, utc_offset };
        let expected = muted_at(window, now).then_some(Reason::MutedGlobal);
        prop_assert_eq!(reason_of(&windowed(world, window, now)), expected);
    }

    /// Absolute window boundaries: `[start, start + duration)`.
    #[test]
    fn absolute_window_is_half_open(
        world in world(),
        start in 1..(i64::MAX / 2),
        duration in 1u32..,
    ) {
        let window = DndWindow::Absolute { start, duration };
        let end = start + i64::from(duration);
        let muted = |now: i64| {
            reason_of(&windowed(world.clone(), window, now)) == Some(Reason::MutedGlobal)
        };
        prop_assert!(muted(start));
        prop_assert!(muted(end - 1));
        prop_assert!(!muted(end));
        prop_assert!(!muted(start - 1));
    }

    /// Absolute windows against any instant (`Now` is never negative; a
    /// window whose end would pass `i64::MAX` is refused, see the vectors).
    #[test]
    fn absolute_window_at_any_instant(
        world in world(),
        start in -(1i64 << 62)..(1i64 << 62),
        duration in any::<u32>(),
        now in 0..(1i64 << 62),
    ) {
        let window = DndWindow::Absolute { start, duration };
        let expected = muted_at(window, now).then_some(Reason::MutedGlobal);
        prop_assert_eq!(reason_of(&windowed(world, window, now)), expected);
    }
}
