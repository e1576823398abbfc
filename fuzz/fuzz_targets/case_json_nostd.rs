//! Arbitrary bytes → the no_std ingest (serde-json-core, `tidings_core::ingest`)
//! → decide → render on every channel, through the shared checker.
//!
//! The std ingest is the reference (`core/src/ingest.rs` says so): where it
//! refuses, the no_std ingest must refuse too, so no decision is ever made
//! for a malformed case; where both read a case, it is the same case. The
//! no_std side may refuse more only where its docs say: more elems than its
//! storage (the mention list it keeps reduced to the entry that decides),
//! nesting deeper than `json::MAX_DEPTH`, any unpaired surrogate escape
//! (`json::is_json_object` refuses them; serde_json refuses them only in
//! the strings it reads, not in an unknown key's value it skips), and an
//! enum written as the externally tagged object (`{"apns": null}`) serde_json
//! also takes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_core::decide::relevant_mention;
use tidings_core::error::Field;
use tidings_core::ingest::{self, Defaults, IngestError};
use tidings_core::json::MAX_DEPTH;
use tidings_core::model::{App, Case, Message, MAX_ELEMS};
use tidings_fuzz::{check_every_channel, json_depth, run_config, BIG_BUFFER, NOW};
use tidings_std::ingest::parse_case;

fuzz_target!(|data: &[u8]| {
    let config = run_config();
    let app = App {
        bundle_id: "com.example.chat",
        package_name: "com.example.chat",
        badge_class: "",
        harmony_category: "",
    };
    // As long as the input: always enough for its unescaped strings.
    let mut scratch = vec![0u8; data.len()];
    let nostd = ingest::parse(data, &mut scratch, Defaults { now: NOW, app });

    let doc = parse_case(data);
    let lent = doc.as_ref().ok().map(|d| d.lend());
    let std_case = match &lent {
        Some(Ok(l)) => l.case(config.now, &config.app).ok(),
        _ => None,
    };
    match (&std_case, &nostd) {
        (None, Ok(_)) => {
            // serde_json reads `-0` as the float -0.0 and refuses it for an
            // i64 key (`Now`, `Dnd.StartTimeStamp`); serde-json-core reads 0.
            let minus_zero = matches!(
                (&doc, &lent),
                (Err(e), _) | (Ok(_), Some(Err(e))) if e.reason.contains("floating point `-0.0`")
            );
            assert!(
                minus_zero,
                "the no_std ingest reads a case the std ingest refuses"
            );
        }
        (Some(a), Ok(b)) => {
            let kept = relevant_mention(a.message.mentions, a.recipient.account);
            let reduced = Case {
                message: Message {
                    mentions: kept.as_slice(),
                    ..a.message
                },
                ..*a
            };
            assert_eq!(reduced, b.case(), "the ingests read different cases");
        }
        (Some(case), Err(e)) => {
            let allowed = match *e {
                IngestError::TooMany(Field::MsgBody) => case.message.elems.len() > MAX_ELEMS,
                // Deeper than the validator's cap, or a string serde_json
                // only skipped (an unknown key's value with an unpaired
                // surrogate escape), which the no_std side checks too.
                IngestError::Syntax => serde_json::from_slice::<serde_json::Value>(data)
                    .map_or(true, |value| json_depth(&value) > MAX_DEPTH),
                IngestError::Type(
                    Field::Channel
                    | Field::State
                    | Field::Origin
                    | Field::GroupType
                    | Field::Locale,
                ) => true,
                _ => false,
            };
            assert!(
                allowed,
                "the no_std ingest refuses ({e}) a case the std ingest reads"
            );
        }
        (None, Err(_)) => {}
    }
    if let Ok(ingested) = &nostd {
        check_every_channel(&ingested.case(), BIG_BUFFER);
    }
});
