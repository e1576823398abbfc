//! The core as firmware: one C2C message, short and then 6000 CJK/emoji
//! chars long with every push option, decided and rendered for every
//! channel (so every renderer is linked in) into two static buffers, on a
//! bare-metal Cortex-M4F with no allocator.
//!
//! ```sh
//! cargo build -p tidings-core --example firmware --profile firmware --target thumbv7em-none-eabihf
//! core/examples/firmware.sh   # flash size, and peak stack on QEMU
//! ```
//!
//! In optimised builds (`firmware`, `release`) the panic handler is
//! `panic-never`'s, which calls a function no object defines: the program
//! links only if no panic path survives optimisation. Debug builds get a
//! trapping handler instead, since they keep overflow checks.
//!
//! On any other target (the host's `cargo test`/`clippy --all-targets`
//! build every example) this is a plain program running the same code:
//! `cargo run -p tidings-core --example firmware` prints each run's outcome.
#![cfg_attr(all(target_arch = "arm", target_os = "none"), no_std, no_main)]
#![forbid(unsafe_code)]

use core::hint::black_box;

use tidings_core::model::{
    AndroidInfo, ApnsInfo, App, Case, Channel, Conversation, Device, DeviceState, Elem, Message,
    PushInfo, Recipient, Sender,
};
use tidings_core::{decide, render, Decision};

/// The APNs alert limit (VoIP's 5120 is cut to the buffer instead).
const APNS_BUF: usize = 4096;
/// Every Android provider's limit is at most 4096 bytes.
const ANDROID_BUF: usize = 4096;

const APNS_TOKEN: &str = "7b3fa9c0e1d24f6a8b5c3e2d1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a";
const ANDROID_TOKEN: &str = "IQAAAACy0kVdAADY8r3Jp6x-android-device-token";

/// The long message: 6000 chars of CJK and emoji (20 bytes per 6 chars),
/// far over every provider's limit, so every renderer cuts it.
const LONG_TEXT_BYTES: usize = 20_000;
const LONG_TEXT_PATTERN: &str = "\u{6d88}\u{606f}\u{1f680}\u{4e2d}\u{6587}\u{1f600}";

/// Writes the long message into `buf`, as a receive buffer would hold it.
fn long_text(buf: &mut [u8; LONG_TEXT_BYTES]) -> &str {
    for (dst, src) in buf.iter_mut().zip(LONG_TEXT_PATTERN.bytes().cycle()) {
        *dst = src;
    }
    // Whole patterns only, so always valid; an empty text would be
    // suppressed, never a panic.
    core::str::from_utf8(buf).unwrap_or_default()
}

/// One run's outcome as a word: the payload's length, 0 when the device
/// gets no notification, `u32::MAX` when the core refused the case.
///
/// Never inlined, so the stack below its caller's frame is the core's
/// (decide, render and all they call; `firmware::CORE_SP`).
#[inline(never)]
fn outcome(case: &Case<'_>, buf: &mut [u8]) -> u32 {
    let length = match decide(case) {
        Ok(Decision::Suppress(_)) => Ok(0),
        Ok(Decision::Push(notification)) => render(&notification, buf).map(|r| r.len),
        Err(e) => Err(e),
    };
    length.map_or(u32::MAX, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// Outcomes of the short then the long message on every channel, in
/// [`Channel::ALL`] order.
const RUNS: usize = 2 * Channel::ALL.len();

/// The message with `text` for every channel: Apple channels render into
/// `apns`, the others into `android`. `every_option` also sets `text` as
/// the title and every optional push setting, so each renderer takes its
/// longest path.
fn run(
    text: &str,
    every_option: bool,
    apns: &mut [u8],
    android: &mut [u8],
) -> [u32; Channel::ALL.len()] {
    let elems = [Elem::Text(text), Elem::Image];
    let image = "https://cdn.example.com/push/a.png";
    let android_info = AndroidInfo {
        huawei_channel_id: "im",
        xiaomi_channel_id: "im",
        oppo_channel_id: "im",
        google_channel_id: "im",
        ..AndroidInfo::default()
    };
    let (title, android_info, apns_info) = if every_option {
        let android = AndroidInfo {
            sound: "ding",
            vivo_classification: Some(1),
            vivo_category: "IM",
            huawei_importance: "NORMAL",
            ext_as_huawei_intent_param: true,
            huawei_category: "IM",
            honor_importance: "NORMAL",
            oppo_category: "IM",
            oppo_notify_level: Some(2),
            meizu_notice_msg_type: Some(1),
            google_image: image,
            huawei_image: image,
            honor_image: image,
            harmony_category: "WORK",
            harmony_image: image,
            ..android_info
        };
        let apns = ApnsInfo {
            sound: "ding.aiff",
            sub_title: "Room 3",
            image,
            mutable_content: true,
            ..ApnsInfo::default()
        };
        (text, android, apns)
    } else {
        let apns = ApnsInfo {
            sound: "ding.aiff",
            ..ApnsInfo::default()
        };
        ("", android_info, apns)
    };
    let mut case = Case {
        message: Message {
            push_info: Some(PushInfo {
                disabled: false,
                title,
                desc: "",
                ext: r#"{"entity":{"sender":"ann","chatType":1}}"#,
                android: android_info,
                apns: apns_info,
            }),
            life_time: Some(86_400),
            // A message key: every replace key (HarmonyOS notifyId and
            // appMessageId) is rendered.
            msg_key: if every_option {
                "144115212064012345_8_1795236000"
            } else {
                ""
            },
            ..Message::new(
                Sender {
                    account: "ann",
                    nick: "Ann",
                    name_card: "",
                },
                Conversation::C2c { to_account: "bob" },
                &elems,
            )
        },
        recipient: Recipient {
            badge: 4,
            ..Recipient::new(
                "bob",
                Device {
                    channel: Channel::Apns,
                    token: APNS_TOKEN,
                    state: DeviceState::Background,
                },
            )
        },
        app: App {
            bundle_id: "com.example.chat",
            package_name: "com.example.chat",
            badge_class: "com.example.chat.MainActivity",
            harmony_category: "IM",
        },
        now: 1_795_236_000,
    };
    // Opaque to the optimiser, as a case read from the network would be:
    // nothing below is constant-folded, so every check and panic path a
    // real input can reach stays in the build.
    black_box(&mut case);
    let mut outcomes = [0; Channel::ALL.len()];
    for (slot, channel) in outcomes.iter_mut().zip(Channel::ALL) {
        let (token, buf) = if channel.is_apple() {
            (APNS_TOKEN, &mut *apns)
        } else {
            (ANDROID_TOKEN, &mut *android)
        };
        case.recipient.device = Device {
            channel: black_box(channel),
            token,
            ..case.recipient.device
        };
        #[cfg(all(target_arch = "arm", target_os = "none"))]
        firmware::mark_core_stack();
        *slot = outcome(&case, buf);
    }
    outcomes
}

/// Both messages, the short one and `long` with every option, on every
/// channel.
fn run_all(long: &str, apns: &mut [u8], android: &mut [u8]) -> [u32; RUNS] {
    let short = run("Meet at 10 in room 3 \u{1f680}", false, apns, android);
    let long = run(long, true, apns, android);
    let mut all = [0; RUNS];
    for (slot, word) in all.iter_mut().zip(short.into_iter().chain(long)) {
        *slot = word;
    }
    all
}

#[cfg(all(target_arch = "arm", target_os = "none"))]
mod firmware {
    use core::cell::{Cell, RefCell};
    use core::hint::black_box;
    use core::sync::atomic::{AtomicU32, Ordering};

    use cortex_m::interrupt::{self, Mutex};
    use cortex_m_rt::entry;

    #[cfg(not(any(debug_assertions, tidings_panic_probe)))]
    use panic_never as _;

    #[cfg(any(debug_assertions, tidings_panic_probe))]
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        cortex_m::asm::udf()
    }

    // Static: the stack holds frames only, never a buffer.
    static APNS: Mutex<RefCell<[u8; super::APNS_BUF]>> =
        Mutex::new(RefCell::new([0; super::APNS_BUF]));
    static ANDROID: Mutex<RefCell<[u8; super::ANDROID_BUF]>> =
        Mutex::new(RefCell::new([0; super::ANDROID_BUF]));
    static LONG: Mutex<RefCell<[u8; super::LONG_TEXT_BYTES]>> =
        Mutex::new(RefCell::new([0; super::LONG_TEXT_BYTES]));
    /// Every run's outcome, where a debugger (or core/examples/firmware.sh)
    /// reads it.
    static OUTCOMES: Mutex<Cell<[u32; super::RUNS]>> = Mutex::new(Cell::new([0; super::RUNS]));
    /// The lowest stack pointer from which `outcome` was called: the stack
    /// below it is the core's (decide, render and all they call).
    static CORE_SP: AtomicU32 = AtomicU32::new(u32::MAX);

    pub(super) fn mark_core_stack() {
        CORE_SP.fetch_min(cortex_m::register::msp::read(), Ordering::Relaxed);
    }

    #[entry]
    fn main() -> ! {
        interrupt::free(|cs| {
            // `try_borrow_mut`: a failed borrow is a branch, not a panic.
            let (Ok(mut apns), Ok(mut android), Ok(mut long)) = (
                APNS.borrow(cs).try_borrow_mut(),
                ANDROID.borrow(cs).try_borrow_mut(),
                LONG.borrow(cs).try_borrow_mut(),
            ) else {
                return;
            };
            let long = super::long_text(&mut long);
            let outcomes = super::run_all(long, &mut apns[..], &mut android[..]);
            let cell = OUTCOMES.borrow(cs);
            cell.set(outcomes);
            // Observable, so neither the outcomes nor the payload writes
            // are optimised away.
            black_box((cell, &CORE_SP, &apns[..], &android[..]));
        });
        loop {
            cortex_m::asm::wfi();
        }
    }
}

/// On the host: the same runs, printed one per line (`short apns 123`).
#[cfg(not(all(target_arch = "arm", target_os = "none")))]
fn main() {
    let (mut apns, mut android) = ([0u8; APNS_BUF], [0u8; ANDROID_BUF]);
    let mut long = [0u8; LONG_TEXT_BYTES];
    let outcomes = run_all(long_text(&mut long), &mut apns, &mut android);
    let names = ["short", "long"]
        .into_iter()
        .flat_map(|m| Channel::ALL.map(|c| (m, c)));
    for ((message, channel), word) in names.zip(outcomes) {
        println!("{message:<5} {:<9} {word}", channel.name());
    }
}
