//! Entry points for the fuzz targets in `fuzz/` and the test that keeps their seed corpus
//! meaningful. Not part of the API.

use crate::event::OriginRequestEvent;
use crate::invoke::{sign_event_json, DEFAULT_SERVICE};
use crate::sign::{sign_patch, Credentials, Refusal, SigningParams};
use crate::time::SigningTime;

/// The two entries answered differently for an event both could read: the deployed handler
/// (wasm) and `fle edge sign` would disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disagreement;

/// Signs `data` read as an origin-request event, with fixed credentials (session token
/// included) and time, through the wasm module's entry (lite parse, patch) and, when the typed
/// event types read it, through the native one (`fle edge sign`). Returns whether it signed.
///
/// # Errors
/// [`Disagreement`] when the typed parse reads the event and the two answers differ.
pub fn sign_event(data: &[u8]) -> Result<bool, Disagreement> {
    let credentials = Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        Some("IQoJb3JpZ2luX2VjEXAMPLETOKEN"),
    );
    let time = SigningTime::from_unix(1_767_323_045).map_err(|_| Disagreement)?;
    let params = SigningParams {
        credentials: credentials.as_ref(),
        region: None,
        service: DEFAULT_SERVICE,
        time,
        payload_sha256: None,
    };
    let wasm = sign_event_json(data, &params);
    // The lighter parse may read events the typed one refuses (docs/edge-signer.md).
    let Ok(event) = serde_json::from_slice::<OriginRequestEvent>(data) else {
        return Ok(wasm.is_ok());
    };
    let native = match event.records.as_slice() {
        [record] => sign_patch(&record.cf.request, &params),
        _ => Err(Refusal::MalformedEvent),
    };
    if native == wasm {
        Ok(wasm.is_ok())
    } else {
        Err(Disagreement)
    }
}
