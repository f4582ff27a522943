//! Property tests: no input panics the parser or the decryptor; encrypt → decrypt round-trips.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::*;
use fle_decrypt::form::{decrypt_form, FieldPatterns};
use fle_decrypt::Suite;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = fle_decrypt::fuzzing::parse_message(&data);
        prop_assert!(keyring().decrypt(&data).is_err());
    }

    #[test]
    fn arbitrary_bytes_behind_a_valid_prefix_never_panic(
        cut in 0usize..400,
        tail in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let msg = valid_message();
        let mut data = msg[..cut.min(msg.len())].to_vec();
        data.extend_from_slice(&tail);
        let _ = fle_decrypt::fuzzing::parse_message(&data);
        prop_assert!(keyring().decrypt(&data).is_err());
    }

    #[test]
    fn arbitrary_form_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let patterns = FieldPatterns::parse("a*,card").unwrap();
        let keyring = keyring();
        let _ = decrypt_form(&keyring, &body, &patterns);
        let _ = fle_decrypt::encrypt::encrypt_form(&encryptor(), &body, &patterns);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn encrypt_then_decrypt_round_trips(
        plaintext in proptest::collection::vec(any::<u8>(), 0..3000),
        suite in proptest::sample::select(Suite::ALL.to_vec()),
        frame_length in prop_oneof![Just(0u32), 1u32..600, Just(4096u32)],
    ) {
        let msg = encryptor().suite(suite).frame_length(frame_length).encrypt(&plaintext).unwrap();
        let out = keyring().decrypt(&msg).unwrap();
        prop_assert_eq!(out.plaintext().expose(), &plaintext[..]);
    }

    #[test]
    fn form_values_round_trip(values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..4)) {
        let mut body = Vec::new();
        for (i, v) in values.iter().enumerate() {
            if i > 0 { body.push(b'&'); }
            body.extend_from_slice(format!("a{i}=").as_bytes());
            body.extend(v.iter().flat_map(|b| format!("%{b:02X}").into_bytes()));
        }
        let patterns = FieldPatterns::parse("a*").unwrap();
        let enc = fle_decrypt::encrypt::encrypt_form(&encryptor(), &body, &patterns).unwrap();
        let keyring = keyring();
        let form = decrypt_form(&keyring, &enc, &patterns).unwrap();
        for (i, v) in values.iter().enumerate() {
            prop_assert_eq!(form.get(&format!("a{i}")).unwrap().expose(), &v[..]);
        }
    }
}

fn valid_message() -> &'static [u8] {
    static MSG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    MSG.get_or_init(|| {
        encryptor()
            .frame_length(8)
            .encrypt(b"0123456789abcdef0123")
            .unwrap()
    })
}
