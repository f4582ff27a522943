#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = fle_decrypt::fuzzing::parse_keyring_document(data);
});
