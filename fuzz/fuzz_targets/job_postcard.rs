//! Arbitrary bytes → the postcard job decoder (`tidings_core::wire`) →
//! decide → render on every channel, through the shared checker.
//!
//! Bytes that are not a job decode to an error and nothing is decided. A
//! job that decodes re-encodes to no more bytes than it came in (the
//! canonical encoding is the shortest) and decodes back to the same case,
//! but for a mention that is neither `@all` nor the recipient's, which the
//! encoder drops (it cannot change the decision).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_core::decide::relevant_mention;
use tidings_core::model::{Case, Message};
use tidings_core::wire;
use tidings_fuzz::{check_every_channel, BIG_BUFFER};

fuzz_target!(|data: &[u8]| {
    let Ok(job) = wire::decode(data) else {
        return;
    };
    let case = job.case();
    let mut again = vec![0u8; data.len()];
    let len = wire::encode(&case, &mut again).expect("a decoded job re-encodes as short");
    let round = wire::decode(&again[..len]).expect("a re-encoded job decodes");
    let kept = relevant_mention(case.message.mentions, case.recipient.account);
    let reduced = Case {
        message: Message {
            mentions: kept.as_slice(),
            ..case.message
        },
        ..case
    };
    assert_eq!(round.case(), reduced, "a job changes in a round trip");
    check_every_channel(&case, BIG_BUFFER);
});
