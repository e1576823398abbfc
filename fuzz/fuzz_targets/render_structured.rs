//! An `arbitrary`-built model → decide → every renderer, through the shared
//! checker, into the buffer size the input picks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_fuzz::check_every_channel;
use tidings_fuzz::structured::FuzzCase;

fuzz_target!(|input: FuzzCase| {
    let elems = input.elems();
    let mentions = input.mentions();
    let case = input.case(&elems, &mentions);
    check_every_channel(&case, input.buffer());
});
