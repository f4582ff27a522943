#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    edge_signer::fuzzing::sign_event(data).expect("wasm and native entries disagree");
});
