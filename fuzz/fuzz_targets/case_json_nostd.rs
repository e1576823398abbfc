//! Arbitrary bytes → the no_std ingest (serde-json-core, `tidings_core::ingest`)
//! → decide → render on every channel, through the shared checker.
//!
//! The std ingest is the reference (`core/src/ingest.rs` says so): where it
//! refuses, the no_std ingest must refuse too, so no decision is ever made
//! for a malformed case; where both read a case, it is the same case. The
//! no_std side may refuse more only where its docs say: model capacities,
//! nesting deeper than `json::MAX_DEPTH`, any unpaired surrogate escape
//! (`json::is_json_object` refuses them; serde_json refuses them only in
//! the strings it reads, not in an unknown key's value it skips), and an
//! enum written as the externally tagged object (`{"apns": null}`) serde_json
//! also takes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_core::error::Field;
use tidings_core::ingest::{self, Defaults, IngestError};
use tidings_core::json::MAX_DEPTH;
use tidings_core::model::{App, MAX_ELEMS, MAX_MENTIONS, MAX_SEND_CONTROLS};
use tidings_fuzz::{check_every_channel, json_depth, run_config, BIG_BUFFER, NOW};
use tidings_std::ingest::parse_case;

fuzz_target!(|data: &[u8]| {
    let config = run_config();
    let app = App {
        bundle_id: "com.example.chat",
        package_name: "com.example.chat",
        badge_class: "",
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
        (None, Ok(_)) => panic!("the no_std ingest reads a case the std ingest refuses"),
        (Some(a), Ok(b)) => assert_eq!(*a, b.case(), "the ingests read different cases"),
        (Some(case), Err(e)) => {
            let doc = doc.as_ref().expect("the std ingest read it");
            let allowed = match *e {
                IngestError::TooMany(Field::MsgBody) => case.message.elems.len() > MAX_ELEMS,
                IngestError::TooMany(Field::GroupAtInfo) => {
                    case.message.mentions.len() > MAX_MENTIONS
                }
                IngestError::TooMany(Field::SendMsgControl) => {
                    doc.message.send_msg_control.len() > MAX_SEND_CONTROLS
                }
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
