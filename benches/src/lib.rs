//! Benchmarks of Tidings beside the libraries a gateway team would use
//! instead: `cargo bench -p tidings-benches --bench compare` (criterion,
//! beside the peers) and `bash benches/instructions.sh` (instructions per
//! operation under callgrind, `benches/instructions.rs`). Both start from
//! the inputs below.

use tidings_core::model::{
    App, Case, Channel, Conversation, Device, DeviceState, Elem, Group, GroupType, Mention,
    Message, PushInfo, Recipient, Sender,
};

pub const NOW: i64 = 1_795_236_000;
pub const FROM: &str = "ann";
pub const TO: &str = "bob";
pub const NICK: &str = "Ann";
pub const TOKEN: &str = "5f2b9c0d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c";
pub const BUNDLE: &str = "com.example.chat";
pub const SOUND: &str = "ding.aiff";
pub const BADGE: u32 = 4;
pub const C2C_TEXT: &str = "Are we still on for lunch at 12? I booked the \"good\" dumpling \
                        place on 5th street, table for four.";
pub const EXT: &str = "{\"entity\":{\"version\":1,\"action\":1,\"chatType\":1,\"sender\":\"ann\",\
                   \"msgId\":\"144115233455029521-1795235999-27731\"}}";
pub const APNS_LIMIT: usize = tidings_core::render::apns::PAYLOAD_LIMIT;
pub const ELLIPSIS: &str = "\u{2026}";

pub static C2C_ELEMS: [Elem<'static>; 1] = [Elem::Text(C2C_TEXT)];

pub const GROUP_ID: &str = "@TGS#2DEV";
pub const GROUP_NAME: &str = "Dev team";
pub const NAME_CARD: &str = "Ann (CI)";
pub static GROUP_ELEMS: [Elem<'static>; 6] = [
    Elem::Text("Build log for the release "),
    Elem::File,
    Elem::Text(" and the dashboard "),
    Elem::Image,
    Elem::Text(" \u{2014} all green \u{2705} "),
    Elem::Face,
];
pub static GROUP_MENTIONS: [Mention<'static>; 1] = [Mention::Account("carol")];

pub fn push_info() -> PushInfo<'static> {
    let mut info = PushInfo {
        ext: EXT,
        ..PushInfo::default()
    };
    info.apns.sound = SOUND;
    info
}

/// A C2C text message from Ann to Bob's device on `channel`.
pub fn c2c_case<'a>(channel: Channel, elems: &'a [Elem<'a>]) -> Case<'a> {
    Case {
        message: Message {
            push_info: Some(push_info()),
            ..Message::new(
                Sender {
                    account: FROM,
                    nick: NICK,
                    name_card: "",
                },
                Conversation::C2c { to_account: TO },
                elems,
            )
        },
        recipient: Recipient {
            badge: BADGE,
            ..Recipient::new(
                TO,
                Device {
                    channel,
                    token: TOKEN,
                    state: DeviceState::Background,
                },
            )
        },
        app: App {
            bundle_id: BUNDLE,
            package_name: BUNDLE,
            badge_class: "",
            harmony_category: "",
        },
        now: NOW,
    }
}

/// A group message with placeholders (file, image, face) to Bob's iPhone.
pub fn group_case() -> Case<'static> {
    let mut case = c2c_case(Channel::Apns, &GROUP_ELEMS);
    case.message.sender.name_card = NAME_CARD;
    case.message.conversation = Conversation::Group(Group {
        id: GROUP_ID,
        name: GROUP_NAME,
        kind: GroupType::Work,
    });
    case
}

/// A long C2C body of ASCII, CJK and emoji (with quotes to escape), about
/// 5000 bytes: over the APNs limit by a fifth.
pub fn long_text() -> String {
    let unit = "The \"nightly\" build is green again \u{2705}, \u{4f60}\u{597d}\u{ff0c}\
                \u{4e16}\u{754c}\u{ff01}\u{6211}\u{4eec}\u{660e}\u{5929}\u{89c1} \
                \u{1f389}\u{1f680}\u{1f44d} ";
    let mut text = String::new();
    while text.len() < 5000 {
        text.push_str(unit);
    }
    text
}

/// This process's CPU time: the sum over its threads of
/// `/proc/self/task/*/schedstat`'s first field (nanoseconds on a CPU),
/// finer than `/proc/self/stat`'s 10 ms ticks. Threads that already ended
/// are not counted; the runtime's workers live for the whole run.
pub fn own_cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let nanos: u64 = tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    nanos as f64 / 1e9
}
