#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    assert!(fle_decrypt::fuzzing::decrypt_form(data));
});
