//! Edge encryption of arbitrary bodies (JSON by selectors, forms by patterns): no panic, no
//! input that is not JSON accepted as JSON, no accepted JSON body turned into something else.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert!(edge_signer::fuzzing::protect_body(data).is_ok());
});
