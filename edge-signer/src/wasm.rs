//! Plain exported functions for the Node handler (no wasm-bindgen): the host copies the
//! invocation JSON into memory it got from `alloc`, calls `sign`, reads the result and frees it.
//!
//! `configure(ptr, n, len)` (same buffer contract) sets the edge encryption of every later
//! `sign` from the `encrypt` section of config.json and answers `{"configured": true, "suite"}`
//! or `{"configured": false, "error"}`; a failed `configure` leaves every `sign` refused, so a
//! broken package never forwards plaintext.
//!
//! Memory contract: `alloc(n)` returns a buffer of exactly `n` bytes; `sign(ptr, n, len)`
//! takes ownership of that buffer (the input is its first `len` bytes, so the host can encode
//! straight into it) and returns `(out_ptr << 32) | out_len` of a new buffer the host must
//! release with `dealloc(out_ptr, out_len)`.

// Exported symbols and raw-pointer ownership transfer across the wasm boundary are unsafe by
// nature; everything else in the crate stays safe.
#![allow(unsafe_code)]

/// A buffer of `len` bytes owned by the host until passed to `sign` or `dealloc`.
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut buf = vec![0_u8; len].into_boxed_slice();
    let ptr = buf.as_mut_ptr();
    core::mem::forget(buf);
    ptr
}

/// Frees (and zeroes) a buffer from `alloc` or `sign`: `sign`'s answer holds the session
/// token and a valid signature, which must not linger in the module's memory.
///
/// # Safety
/// `ptr`/`len` must come from `alloc` or `sign` and not be freed before.
#[no_mangle]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, len: usize) {
    // SAFETY: the caller returns a boxed slice of exactly `len` bytes that we leaked.
    drop(zeroize::Zeroizing::new(unsafe {
        Box::from_raw(core::ptr::slice_from_raw_parts_mut(ptr, len))
    }));
}

/// Signs one invocation (see [`crate::invoke_json`]) held in the first `len` bytes of a buffer
/// of `capacity` bytes from `alloc`; frees (and zeroes) that buffer.
///
/// # Safety
/// `ptr`/`capacity` must be a buffer from `alloc`, not used after this call.
#[no_mangle]
pub unsafe extern "C" fn sign(ptr: *mut u8, capacity: usize, len: usize) -> u64 {
    // SAFETY: as for `dealloc`; the zeroizing drop clears the credentials it carried.
    let buffer = zeroize::Zeroizing::new(unsafe {
        Box::from_raw(core::ptr::slice_from_raw_parts_mut(ptr, capacity))
    });
    let input = buffer.get(..len).unwrap_or_default();
    let out = ENCRYPTION.with(|cell| match &*cell.borrow() {
        Encryption::Off => crate::invoke_json(input),
        Encryption::On(encryption) => crate::invoke_json_with(input, Some(encryption)),
        Encryption::Broken => crate::invoke::refused_json(crate::Refusal::BadConfig),
    });
    hand_over(out)
}

/// What `configure` left for `sign`.
enum Encryption {
    Off,
    On(crate::fle::EdgeEncryption),
    Broken,
}

thread_local! {
    static ENCRYPTION: core::cell::RefCell<Encryption> = const { core::cell::RefCell::new(Encryption::Off) };
}

/// Configures edge encryption from the `encrypt` section (JSON) held in the first `len` bytes
/// of a buffer of `capacity` bytes from `alloc`; frees (and zeroes) that buffer.
///
/// # Safety
/// As for `sign`.
#[no_mangle]
pub unsafe extern "C" fn configure(ptr: *mut u8, capacity: usize, len: usize) -> u64 {
    // SAFETY: as for `dealloc`.
    let buffer = zeroize::Zeroizing::new(unsafe {
        Box::from_raw(core::ptr::slice_from_raw_parts_mut(ptr, capacity))
    });
    let input = buffer.get(..len).unwrap_or_default();
    let (state, answer) = match crate::fle::EdgeEncryption::from_json(input) {
        Ok(encryption) => {
            let suite = format!("{:#06x}", encryption.suite().id());
            let answer = serde_json::json!({ "configured": true, "suite": suite });
            (Encryption::On(encryption), answer)
        }
        Err(e) => (
            Encryption::Broken,
            serde_json::json!({ "configured": false, "error": e.to_string() }),
        ),
    };
    ENCRYPTION.with(|cell| *cell.borrow_mut() = state);
    hand_over(serde_json::to_vec(&answer).unwrap_or_default())
}

/// Leaks `out` to the host as `(ptr << 32) | len`, to be freed with `dealloc`.
fn hand_over(out: Vec<u8>) -> u64 {
    let mut out = out.into_boxed_slice();
    let (out_ptr, out_len) = (out.as_mut_ptr(), out.len());
    core::mem::forget(out);
    // wasm32 addresses and lengths fit in 32 bits; 0 tells the host something went wrong.
    let ptr = u64::try_from(out_ptr.addr()).unwrap_or(0);
    let len = u64::try_from(out_len).unwrap_or(0);
    (ptr << 32) | len
}
