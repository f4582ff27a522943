//! Peak memory stays within a small constant plus a few times the input size, whatever the
//! input's shape. A form body of a million empty pairs once peaked at ~230 MB (one owned
//! record per pair, twice): one request could take down a 256–512 MB Lambda.
//!
//! A counting global allocator measures the peak of live heap bytes. It is process-wide, so
//! the tests of this binary take one lock and run one after another.

#![allow(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use fle_decrypt::form::{decrypt_form, FieldPatterns};
use fle_decrypt::Error;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::SeqCst) + by;
    PEAK.fetch_max(live, Ordering::SeqCst);
}

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Count the new block before the old one goes: a moving realloc holds both.
            grew(new_size);
            LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Held by each test for its whole run, so no other test allocates while it measures.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Heap bytes allocated on top of what was live before `f` ran, at the worst moment.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let out = f();
    (out, PEAK.load(Ordering::SeqCst) - before)
}

/// The bound the decryptor promises: a small constant plus a few times the body.
fn bound(body_len: usize) -> usize {
    64 * 1024 + 3 * body_len
}

fn repeat_to(unit: &str, len: usize) -> Vec<u8> {
    unit.as_bytes().iter().copied().cycle().take(len).collect()
}

#[test]
fn peak_memory_is_bounded_by_the_body_size() {
    let _serial = serial();
    let keyring = common::keyring();
    let patterns = FieldPatterns::parse("card_*,ssn").unwrap();
    let encryptor = common::encryptor();
    let field = encryptor.encrypt_base64(b"4111111111111111").unwrap();
    let field = field
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");

    const MB: usize = 1_000_000;
    const MIB: usize = 1024 * 1024;
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for (unit, unit_name) in [("&", "&"), ("a=&", "a=&"), ("%61=&", "%61=&")] {
        for (len, len_name) in [(MB, "1 MB"), (2 * MIB, "2 MiB")] {
            cases.push((format!("{len_name} of {unit_name}"), repeat_to(unit, len)));
        }
    }
    // Just under the field cap, with long values and a few encrypted fields among them.
    let mut many = Vec::new();
    for i in 0..9_000 {
        if i > 0 {
            many.push(b'&');
        }
        if i % 1000 == 0 {
            many.extend_from_slice(format!("card_{i}={field}").as_bytes());
        } else {
            many.extend_from_slice(format!("f%5B{i}%5D={}", "v".repeat(100)).as_bytes());
        }
    }
    cases.push(("9000 fields, 9 encrypted".into(), many));

    let mut outcomes = Vec::new();
    for (name, body) in &cases {
        let (outcome, peak) = peak_during(|| {
            decrypt_form(&keyring, body, &patterns).map(|form| {
                assert_eq!(
                    form.decrypted().count(),
                    body.windows(5).filter(|w| w == b"card_").count()
                );
                form.to_body().len()
            })
        });
        assert!(
            peak <= bound(body.len()),
            "{name}: peak {peak} bytes for a body of {} bytes (bound {})",
            body.len(),
            bound(body.len())
        );
        outcomes.push((name.as_str(), outcome.map_err(|e| e.root().clone())));
    }
    // Bodies of that many pairs are refused outright (2 MiB is still within the body cap);
    // the realistic one decrypts.
    for (name, outcome) in &outcomes[..6] {
        assert_eq!(
            *outcome,
            Err(Error::LimitExceeded("number of form fields")),
            "{name}"
        );
    }
    assert!(outcomes[6].1.is_ok(), "{:?}", outcomes[6]);
}

#[test]
fn an_encryption_context_count_reserves_no_more_than_its_bytes() {
    let _serial = serial();
    // A v1 header whose 2-byte encryption context claims 65535 pairs and holds none: the
    // count once reserved 65535 pairs (2 MiB) before the first one failed to parse.
    let mut msg = vec![0x01, 0x80, 0x03, 0x78];
    msg.extend_from_slice(&[0x11; 16]); // message id
    msg.extend_from_slice(&[0x00, 0x02, 0xff, 0xff]);
    let (parsed, peak) = peak_during(|| fle_decrypt::fuzzing::parse_message(&msg));
    assert!(!parsed);
    assert!(peak <= bound(msg.len()), "peak {peak} bytes");
}
