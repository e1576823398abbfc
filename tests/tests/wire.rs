//! The postcard job format (tidings_core::wire): arbitrary cases round-trip
//! exactly but for the mention list, which arrives reduced to the entry
//! that decides; the layout is pinned byte by byte, and any bytes decode to
//! a job or an error, never a panic.

use proptest::prelude::*;
use tidings_core::decide::relevant_mention;
use tidings_core::error::Field;
use tidings_core::model::*;
use tidings_core::wire::{self, WireError, VERSION};
use tidings_core::{decide, Decision};

const TRICKY: &[char] = &[
    'a', 'Z', '0', ' ', '"', '\\', '\n', '\u{0}', '\u{7f}', 'é', '中', '😀', '\u{200D}',
    '\u{2028}', '\u{FEFF}',
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TRICKY), 0..12).prop_map(String::from_iter)
}

/// A case's owned parts; [`Owned::case`] lends them as a model case.
#[derive(Debug, Clone)]
struct Owned {
    /// Every string in the case, picked by index.
    strs: Vec<String>,
    /// (variant, string index) per elem.
    elems: Vec<(u8, usize)>,
    /// `None` = @all.
    mentions: Vec<Option<usize>>,
    group: Option<u8>,
    push_info: Option<(bool, bool, bool, [Option<u8>; 3])>,
    flags: [bool; 4],
    life_time: Option<u32>,
    enums: [u8; 5],
    badge: u32,
    dnd: Option<(bool, u32, u32, i32, i64)>,
    now: i64,
}

fn owned() -> impl Strategy<Value = Owned> {
    (
        prop::collection::vec(text(), 40),
        prop::collection::vec((0u8..10, 0usize..40), 0..=MAX_ELEMS),
        prop::collection::vec(prop::option::of(0usize..40), 0..200),
        prop::option::of(0u8..5),
        prop::option::of((
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<[Option<u8>; 3]>(),
        )),
        any::<[bool; 4]>(),
        prop::option::of(any::<u32>()),
        // Every channel, TPNS and HarmonyOS included.
        (
            0u8..3,
            0u8..Channel::ALL.len() as u8,
            0u8..4,
            0u8..5,
            0u8..5,
        ),
        any::<u32>(),
        prop::option::of((
            any::<bool>(),
            any::<u32>(),
            any::<u32>(),
            any::<i32>(),
            any::<i64>(),
        )),
        any::<i64>(),
    )
        .prop_map(
            |(strs, elems, mentions, group, push_info, flags, life_time, e, badge, dnd, now)| {
                Owned {
                    strs,
                    elems,
                    mentions,
                    group,
                    push_info,
                    flags,
                    life_time,
                    enums: [e.0, e.1, e.2, e.3, e.4],
                    badge,
                    dnd,
                    now,
                }
            },
        )
}

impl Owned {
    fn s(&self, i: usize) -> &str {
        &self.strs[i % self.strs.len()]
    }

    fn elems(&self) -> Vec<Elem<'_>> {
        self.elems
            .iter()
            .map(|&(kind, i)| match kind {
                0 => Elem::Text(self.s(i)),
                1 => Elem::Image,
                2 => Elem::Sound,
                3 => Elem::File,
                4 => Elem::Video,
                5 => Elem::Face,
                6 => Elem::Location,
                7 => Elem::Custom(CustomElem {
                    desc: self.s(i),
                    ext: self.s(i + 1),
                    sound: self.s(i + 2),
                }),
                8 => Elem::Relay(self.s(i)),
                _ => Elem::GroupTips,
            })
            .collect()
    }

    fn mentions(&self) -> Vec<Mention<'_>> {
        self.mentions
            .iter()
            .map(|m| m.map_or(Mention::All, |i| Mention::Account(self.s(i))))
            .collect()
    }

    fn case<'a>(&'a self, elems: &'a [Elem<'a>], mentions: &'a [Mention<'a>]) -> Case<'a> {
        let kinds = [
            GroupType::Work,
            GroupType::Public,
            GroupType::Meeting,
            GroupType::Community,
            GroupType::AvChatRoom,
        ];
        let opts = [
            ReceiveOpt::Receive,
            ReceiveOpt::NotReceive,
            ReceiveOpt::NotNotify,
            ReceiveOpt::NotNotifyExceptAt,
            ReceiveOpt::NotReceiveExceptAt,
        ];
        let states = [
            DeviceState::Foreground,
            DeviceState::Background,
            DeviceState::PushOnline,
            DeviceState::Offline,
        ];
        let [origin, channel, state, receive, global] = self.enums.map(usize::from);
        Case {
            message: Message {
                sender: Sender {
                    account: self.s(0),
                    nick: self.s(1),
                    name_card: self.s(2),
                },
                conversation: match self.group {
                    None => Conversation::C2c {
                        to_account: self.s(3),
                    },
                    Some(kind) => Conversation::Group(Group {
                        id: self.s(3),
                        name: self.s(4),
                        kind: kinds[usize::from(kind)],
                    }),
                },
                origin: [Origin::Rest, Origin::Sdk, Origin::SdkOptIn][origin],
                elems,
                push_info: self
                    .push_info
                    .map(|(disabled, ext_as, badge_nc, bytes)| PushInfo {
                        disabled,
                        title: self.s(5),
                        desc: self.s(6),
                        ext: self.s(7),
                        android: AndroidInfo {
                            sound: self.s(8),
                            huawei_channel_id: self.s(9),
                            xiaomi_channel_id: self.s(10),
                            oppo_channel_id: self.s(11),
                            google_channel_id: self.s(12),
                            vivo_classification: bytes[0],
                            vivo_category: self.s(13),
                            huawei_importance: self.s(14),
                            ext_as_huawei_intent_param: ext_as,
                            huawei_category: self.s(15),
                            honor_importance: self.s(16),
                            oppo_category: self.s(17),
                            oppo_notify_level: bytes[1],
                            meizu_notice_msg_type: bytes[2],
                            google_image: self.s(18),
                            huawei_image: self.s(19),
                            honor_image: self.s(20),
                            harmony_category: self.s(33),
                            harmony_image: self.s(34),
                            ignore_harmony_badge: ext_as != badge_nc,
                        },
                        apns: ApnsInfo {
                            sound: self.s(21),
                            badge_not_counted: badge_nc,
                            title: self.s(22),
                            sub_title: self.s(23),
                            image: self.s(24),
                            mutable_content: !badge_nc,
                            collapse_id: self.s(32),
                        },
                    }),
                online_only: self.flags[0],
                life_time: self.life_time,
                with_mute_notifications: self.flags[1],
                mentions,
                is_system: self.flags[2],
                msg_key: self.s(33),
                // Above 2^32 whenever there is a lifetime: every varint width.
                msg_seq: self
                    .life_time
                    .map(|l| u64::from(l) << 32 | u64::from(self.badge)),
            },
            recipient: Recipient {
                account: self.s(25),
                device: Device {
                    channel: Channel::ALL[channel],
                    token: self.s(26),
                    state: states[state],
                },
                badge: self.badge,
                push_enabled: self.flags[3],
                c2c_sound: self.s(27),
                group_sound: self.s(28),
                receive_opt: opts[receive],
                global_receive_opt: opts[global],
                dnd: self.dnd.map(|(daily, a, b, offset, start)| {
                    if daily {
                        DndWindow::Daily {
                            start_second: a,
                            duration: b,
                            utc_offset: offset,
                        }
                    } else {
                        DndWindow::Absolute { start, duration: b }
                    }
                }),
                locale: if self.badge.is_multiple_of(2) {
                    Locale::En
                } else {
                    Locale::Zh
                },
            },
            app: App {
                bundle_id: self.s(29),
                package_name: self.s(30),
                badge_class: self.s(31),
                harmony_category: self.s(35),
            },
            now: self.now,
        }
    }
}

/// The smallest buffer a job fits in: every shorter one is `BufferFull`.
fn encode_exact(case: &Case<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 64 * 1024];
    let len = wire::encode(case, &mut buf).unwrap();
    buf.truncate(len);
    buf
}

/// One small job and its bytes, worked out by hand from the layout in the
/// `wire` module docs.
fn pinned() -> (Case<'static>, Vec<u8>) {
    static ELEMS: [Elem<'static>; 2] = [Elem::Text("hi"), Elem::Image];
    let case = Case {
        message: Message {
            sender: Sender {
                account: "a",
                nick: "",
                name_card: "",
            },
            conversation: Conversation::C2c { to_account: "b" },
            origin: Origin::Rest,
            elems: &ELEMS,
            push_info: None,
            online_only: false,
            life_time: Some(300),
            with_mute_notifications: false,
            mentions: &[],
            is_system: false,
            msg_key: "k1",
            msg_seq: Some(7),
        },
        recipient: Recipient {
            account: "b",
            device: Device {
                channel: Channel::Fcm,
                token: "t",
                state: DeviceState::Background,
            },
            badge: 4,
            push_enabled: true,
            c2c_sound: "",
            group_sound: "",
            receive_opt: ReceiveOpt::Receive,
            global_receive_opt: ReceiveOpt::Receive,
            dnd: Some(DndWindow::Daily {
                start_second: 79_200,
                duration: 28_800,
                utc_offset: -3600,
            }),
            locale: Locale::Zh,
        },
        app: App {
            bundle_id: "x",
            package_name: "",
            badge_class: "",
            harmony_category: "",
        },
        now: 1_795_236_000,
    };
    #[rustfmt::skip]
    let bytes = vec![
        VERSION,
        // sender: "a", "", ""
        0x01, b'a', 0x00, 0x00,
        // C2c { to_account: "b" }
        0x00, 0x01, b'b',
        // origin Rest
        0x00,
        // elems: 2, Text("hi"), Image
        0x02, 0x00, 0x02, b'h', b'i', 0x01,
        // push_info None, online_only false
        0x00, 0x00,
        // life_time Some(300): varint 0xac 0x02
        0x01, 0xac, 0x02,
        // with_mute_notifications false, mentions 0, is_system false
        0x00, 0x00, 0x00,
        // recipient account "b", device { Fcm = 2, "t", Background = 1 }
        0x01, b'b', 0x02, 0x01, b't', 0x01,
        // badge 4, push_enabled, c2c_sound "", group_sound "", Receive, Receive
        0x04, 0x01, 0x00, 0x00, 0x00, 0x00,
        // dnd Some(Daily { 79200, 28800, zigzag(-3600) = 7199 })
        0x01, 0x00, 0xe0, 0xea, 0x04, 0x80, 0xe1, 0x01, 0x9f, 0x38,
        // locale Zh
        0x01,
        // app "x", "", "", ""
        0x01, b'x', 0x00, 0x00, 0x00,
        // now: zigzag(1795236000) = 3590472000
        0xc0, 0x82, 0x89, 0xb0, 0x0d,
        // version 5: msg_key "k1", msg_seq Some(7)
        0x02, b'k', b'1', 0x01, 0x07,
    ];
    (case, bytes)
}

#[test]
fn layout_is_pinned() {
    let (case, bytes) = pinned();
    assert_eq!(encode_exact(&case), bytes);
    assert_eq!(wire::decode(&bytes).unwrap().case(), case);
}

#[test]
fn decoded_strings_borrow_from_the_input() {
    let (case, bytes) = pinned();
    let job = wire::decode(&bytes).unwrap();
    let Elem::Text(hi) = job.case().message.elems[0] else {
        panic!("first elem is text");
    };
    assert_eq!(hi, "hi");
    assert!(bytes.as_ptr_range().contains(&hi.as_ptr()));
    assert_eq!(job.case().app, case.app);
}

/// A job of this version must carry the message key after `now`: without
/// it, it ends early (a job of a version before [`wire::KEYED_SINCE`], were
/// one still read, would decode as a message without a key).
#[test]
fn the_message_key_closes_the_job() {
    let (_, bytes) = pinned();
    let keyless = &bytes[..bytes.len() - 5];
    assert_eq!(wire::decode(keyless).unwrap_err(), WireError::Truncated);
}

#[test]
fn unknown_versions_are_refused() {
    let (_, mut bytes) = pinned();
    for version in (0..=u8::MAX).filter(|v| !(wire::OLDEST_READ..=VERSION).contains(v)) {
        bytes[0] = version;
        assert_eq!(
            wire::decode(&bytes).unwrap_err(),
            WireError::Version(version)
        );
    }
    assert_eq!(wire::decode(&[]).unwrap_err(), WireError::Truncated);
}

#[test]
fn trailing_bytes_are_refused() {
    let (_, mut bytes) = pinned();
    bytes.push(0);
    assert_eq!(wire::decode(&bytes).unwrap_err(), WireError::Trailing);
}

#[test]
fn more_elems_than_the_storage_holds_are_refused() {
    let (_, bytes) = pinned();
    // Splice MAX_ELEMS + 1 `Image` elems in place of the two at bytes 9..15.
    let splice = |count: usize| {
        let mut job = bytes[..9].to_vec();
        let mut n = count;
        while n >= 0x80 {
            job.push(0x80 | (n & 0x7f) as u8);
            n >>= 7;
        }
        job.push(n as u8);
        job.extend(std::iter::repeat_n(0x01, count));
        job.extend(&bytes[15..]);
        job
    };
    assert_eq!(
        wire::decode(&splice(MAX_ELEMS + 1)).unwrap_err(),
        WireError::TooMany(Field::MsgBody)
    );
    let full = splice(MAX_ELEMS);
    assert_eq!(wire::decode(&full).unwrap().case().message.elems.len(), 240);
    // A capacity of the caller's choosing.
    assert_eq!(
        wire::Job::<1>::decode(&bytes).unwrap_err(),
        WireError::TooMany(Field::MsgBody)
    );
    assert_eq!(wire::Job::<2>::decode(&bytes).unwrap().case(), pinned().0);
}

#[test]
fn only_the_mention_the_rules_read_is_sent() {
    let (case, _) = pinned();
    let accounts: Vec<String> = (0..1000).map(|i| format!("member-{i}")).collect();
    let mut mentions: Vec<Mention<'_>> = accounts.iter().map(|a| Mention::Account(a)).collect();
    let sent = |mentions: &[Mention<'_>]| {
        let case = Case {
            message: Message {
                mentions,
                ..case.message
            },
            ..case
        };
        let bytes = encode_exact(&case);
        let job = wire::decode(&bytes).unwrap();
        let kept = job.case().message.mentions;
        let first = kept.first().map(|m| match m {
            Mention::All => "@all".to_owned(),
            Mention::Account(a) => (*a).to_owned(),
        });
        (bytes.len(), kept.len(), first)
    };
    let plain = encode_exact(&case).len();
    // 1000 others: nothing is sent, the job is as long as without them.
    assert_eq!(sent(&mentions), (plain, 0, None));
    // The recipient ("b") last of 1001: only that entry.
    mentions.push(Mention::Account("b"));
    assert_eq!(sent(&mentions), (plain + 3, 1, Some("b".to_owned())));
    // @all among them wins.
    mentions.insert(500, Mention::All);
    assert_eq!(sent(&mentions), (plain + 1, 1, Some("@all".to_owned())));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1000)
    ))]

    /// encode → decode gives the same case, into the smallest buffer that
    /// holds it, and every shorter buffer is refused.
    #[test]
    fn round_trip(owned in owned(), short in any::<prop::sample::Index>()) {
        let elems = owned.elems();
        let mentions = owned.mentions();
        let case = owned.case(&elems, &mentions);
        let bytes = encode_exact(&case);
        let job = wire::decode(&bytes).unwrap();
        // The same case but for the mention list, reduced to what decides.
        let kept = relevant_mention(&mentions, case.recipient.account);
        let reduced = Case { message: Message { mentions: kept.as_slice(), ..case.message }, ..case };
        prop_assert_eq!(job.case(), reduced);
        let reason = |c: &Case<'_>| decide(c).map(|d| match d {
            Decision::Push(_) => None,
            Decision::Suppress(r) => Some(r),
        });
        prop_assert_eq!(reason(&job.case()), reason(&case));
        let mut small = vec![0u8; short.index(bytes.len())];
        prop_assert_eq!(wire::encode(&case, &mut small), Err(WireError::BufferFull));
    }

    /// Every strict prefix of a job is refused.
    #[test]
    fn prefixes_are_refused(owned in owned(), cut in any::<prop::sample::Index>()) {
        let elems = owned.elems();
        let mentions = owned.mentions();
        let bytes = encode_exact(&owned.case(&elems, &mentions));
        let prefix = &bytes[..cut.index(bytes.len())];
        prop_assert!(wire::decode(prefix).is_err());
    }

    /// Arbitrary bytes behind a valid version byte: a job or an error.
    #[test]
    fn garbage_never_panics(mut bytes in prop::collection::vec(any::<u8>(), 0..600), versioned in any::<bool>()) {
        if versioned && !bytes.is_empty() {
            bytes[0] = VERSION;
        }
        if let Ok(job) = wire::decode(&bytes) {
            // Whatever decoded re-encodes and decodes to the same case.
            let again = encode_exact(&job.case());
            let decoded = wire::decode(&again).unwrap();
            prop_assert_eq!(decoded.case(), job.case());
        };
    }

    /// A valid job with bytes overwritten: a job or an error.
    #[test]
    fn corrupted_jobs_never_panic(
        owned in owned(),
        hits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let elems = owned.elems();
        let mentions = owned.mentions();
        let mut bytes = encode_exact(&owned.case(&elems, &mentions));
        for (at, byte) in hits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Ok(job) = wire::decode(&bytes) {
            let again = encode_exact(&job.case());
            let decoded = wire::decode(&again).unwrap();
            prop_assert_eq!(decoded.case(), job.case());
        };
    }
}
