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

/// Edge encryption broke a promise: a JSON body it accepted came out as something that is not
/// JSON, or one it should have refused (not JSON) went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broken;

/// Runs edge encryption on `data`: the first byte picks the declared content type (even: JSON,
/// odd: form), the rest is the body; fixed selectors (`/card/number`, `/payments/*/iban`,
/// `/a/*/b`), patterns `card_*,ssn`, the fixtures' RSA-2048 key, a fixed seed. Returns whether
/// it encrypted.
///
/// # Errors
/// [`Broken`] when a JSON body that is not JSON was accepted, or an accepted JSON body came out
/// as something that is not JSON.
pub fn protect_body(data: &[u8]) -> Result<bool, Broken> {
    use crate::fle::{BodyHeaders, EdgeEncryption, EncryptConfig, FieldRules};
    let Some((&kind, body)) = data.split_first() else {
        return Ok(false);
    };
    let rules = |fields: &[&str]| FieldRules {
        fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        required: Vec::new(),
    };
    let encryption = EdgeEncryption::new(&EncryptConfig {
        profile: "fuzz".into(),
        provider_id: "fuzz".into(),
        key_name: "fuzz-key".into(),
        public_key: include_str!("../tests/fixtures/keys/rsa-2048-public.pem").into(),
        suite: None,
        json: Some(rules(&["/card/number", "/payments/*/iban", "/a/*/b"])),
        form: Some(rules(&["card_*", "ssn"])),
    })
    .map_err(|_| Broken)?;
    let json = kind % 2 == 0;
    let content_type = if json {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    let headers = BodyHeaders {
        content_type: vec![content_type],
        content_encoding: Vec::new(),
    };
    let is_json = |b: &[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(b).is_ok();
    match encryption.protect(&headers, body, &[7; 32]) {
        Ok(Some(out)) if json && (!is_json(body) || !is_json(&out)) => Err(Broken),
        Ok(out) => Ok(out.is_some()),
        Err(_) => Ok(false),
    }
}
