//! The JSON entry of the wasm module ([`invoke_json`]) and the typed entry `fle edge sign`
//! uses ([`sign_event`], [`outcome_json`]). They give the same answer for the same event: the
//! wasm side as a patch the handler applies, the native side as the whole request.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::event::{Body, OriginRequestEvent, Request};
use crate::fle::{BodyHeaders, EdgeEncryption};
use crate::sign::RequestPatch;
use crate::sign::{sign_input, sign_request, Credentials, Refusal, SignInput, SigningParams};
use crate::time::SigningTime;

/// The service signed for when none is configured.
pub const DEFAULT_SERVICE: &str = "execute-api";

/// Signs the one request of an origin-request event.
///
/// # Errors
/// [`Refusal::MalformedEvent`] unless the event has exactly one record; otherwise as
/// [`sign_request`].
pub fn sign_event(
    event: &OriginRequestEvent,
    params: &SigningParams<'_>,
) -> Result<Request, Refusal> {
    match event.records.as_slice() {
        [record] => sign_request(&record.cf.request, params),
        _ => Err(Refusal::MalformedEvent),
    }
}

/// The one request of a lite event, signed into a patch.
fn sign_lite(event: &lite::Event<'_>, params: &SigningParams<'_>) -> Result<RequestPatch, Refusal> {
    match event.records.as_slice() {
        [record] => sign_input(&record.cf.request.input(), params),
        _ => Err(Refusal::MalformedEvent),
    }
}

/// Signs the one request of an origin-request event after encrypting the configured fields of
/// its body with randomness from `seed` (32 bytes from a CSPRNG). The returned request
/// carries the encrypted body (`action: "replace"`), and the signature covers it.
///
/// # Errors
/// As [`sign_event`], and the refusals of [`EdgeEncryption::protect`].
pub fn sign_event_encrypted(
    event: &OriginRequestEvent,
    params: &SigningParams<'_>,
    encryption: &EdgeEncryption,
    seed: &[u8; 32],
) -> Result<Request, Refusal> {
    let [record] = event.records.as_slice() else {
        return Err(Refusal::MalformedEvent);
    };
    let request = &record.cf.request;
    let headers = BodyHeaders::collect(
        request
            .headers
            .iter()
            .map(|(name, values)| (name.as_str(), values.iter().map(|h| &h.value))),
    );
    let patch = encrypt_and_sign(
        &SignInput::from_request(request),
        &headers,
        params,
        encryption,
        Some(seed),
    )?;
    let mut signed = request.clone();
    patch.apply(&mut signed);
    Ok(signed)
}

/// The request's configured fields encrypted, then signed over the new body, which the patch
/// carries. The one path of the wasm entry and of [`sign_event_encrypted`].
fn encrypt_and_sign(
    input: &SignInput<'_>,
    headers: &BodyHeaders<'_>,
    params: &SigningParams<'_>,
    encryption: &EdgeEncryption,
    seed: Option<&[u8; 32]>,
) -> Result<RequestPatch, Refusal> {
    let Some(body) = input.body.as_ref() else {
        // No body object: the association lacks "include body". Only a GET or HEAD is sure to
        // carry no body that would reach the origin unread (CloudFront forwards a DELETE's).
        return if ["GET", "HEAD"]
            .iter()
            .any(|m| input.method.eq_ignore_ascii_case(m))
        {
            sign_input(input, params)
        } else {
            Err(Refusal::BodyNotIncluded)
        };
    };
    if body.input_truncated {
        return Err(Refusal::BodyTruncated);
    }
    // The viewer's body may be the plaintext being protected: wiped when done.
    let bytes = zeroize::Zeroizing::new(crate::sign::decode_body(body)?.into_owned());
    let seed = seed.ok_or(Refusal::EncryptionFailed)?;
    let Some(encrypted) = encryption.protect(headers, &bytes, seed)? else {
        return sign_input(input, params);
    };
    let hash = crate::sigv4::sha256_hex(&encrypted);
    let mut patch = sign_input(
        input,
        &SigningParams {
            payload_sha256: Some(&hash),
            ..*params
        },
    )?;
    patch.body = Some(Body::replacement(encrypted));
    Ok(patch)
}

/// [`encrypt_and_sign`] on the one request of a lite event; the seed as 64 hex digits.
fn encrypt_and_sign_lite(
    event: &lite::Event<'_>,
    params: &SigningParams<'_>,
    encryption: &EdgeEncryption,
    seed: Option<&str>,
) -> Result<RequestPatch, Refusal> {
    let [record] = event.records.as_slice() else {
        return Err(Refusal::MalformedEvent);
    };
    let request = &record.cf.request;
    let seed = seed.and_then(crate::fle::parse_seed);
    encrypt_and_sign(
        &request.input(),
        &request.body_headers(),
        params,
        encryption,
        seed.as_deref(),
    )
}

/// Signs an origin-request event given as JSON the way the wasm entry reads it (lite parse).
pub(crate) fn sign_event_json(
    event: &[u8],
    params: &SigningParams<'_>,
) -> Result<RequestPatch, Refusal> {
    let event: lite::Event<'_> =
        serde_json::from_slice(event).map_err(|_| Refusal::MalformedEvent)?;
    sign_lite(&event, params)
}

/// `{"signed": bool, "refusal": "…"?, "result": <request or response object>}`; `result` is
/// what the Lambda@Edge handler returns to CloudFront.
pub fn outcome_json(outcome: &Result<Request, Refusal>) -> Value {
    match outcome {
        Ok(request) => json!({ "signed": true, "result": request }),
        Err(refusal) => json!({
            "signed": false,
            "refusal": refusal.to_string(),
            "result": refusal.response(),
        }),
    }
}

/// The wasm entry's input. The event is read through [`lite`] types: only what signing needs,
/// borrowed from the input where possible, everything else skipped unbuffered (parsing the
/// full [`OriginRequestEvent`] took twice as long, and the caller keeps the request anyway).
#[derive(Deserialize)]
struct Invocation<'a> {
    #[serde(borrow)]
    event: lite::Event<'a>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    service: Option<String>,
    /// Unix seconds.
    time: i64,
    #[serde(default)]
    credentials: Option<CredentialsJson>,
    #[serde(rename = "payloadSha256", default)]
    payload_sha256: Option<String>,
    /// 64 hex digits from the host's CSPRNG, for edge encryption (wasm has no randomness).
    #[serde(borrow, default)]
    seed: Option<&'a str>,
}

/// Just the fields of an origin-request event that signing reads. Field names and required
/// fields match [`crate::event`]; header values are checked for shape but not kept.
mod lite {
    use std::borrow::Cow;
    use std::collections::BTreeMap;

    use serde::de::IgnoredAny;
    use serde::Deserialize;

    use crate::sign::{BodyInput, OriginInput, SignInput};

    #[derive(Deserialize)]
    pub struct Event<'a> {
        #[serde(rename = "Records", borrow)]
        pub records: Vec<Record<'a>>,
    }

    #[derive(Deserialize)]
    pub struct Record<'a> {
        #[serde(borrow)]
        pub cf: Cf<'a>,
    }

    #[derive(Deserialize)]
    pub struct Cf<'a> {
        #[serde(borrow)]
        pub request: Request<'a>,
    }

    #[derive(Deserialize)]
    pub struct Request<'a> {
        #[serde(borrow)]
        method: Cow<'a, str>,
        #[serde(borrow)]
        uri: Cow<'a, str>,
        #[serde(borrow)]
        querystring: Cow<'a, str>,
        #[serde(borrow)]
        headers: BTreeMap<Cow<'a, str>, Vec<HeaderEntry<'a>>>,
        #[serde(borrow, default)]
        body: Option<Body<'a>>,
        #[serde(borrow, default)]
        origin: Option<Origin<'a>>,
    }

    #[derive(Deserialize)]
    struct HeaderEntry<'a> {
        #[serde(default)]
        #[allow(dead_code)]
        key: Option<IgnoredAny>,
        #[serde(borrow)]
        value: Cow<'a, str>,
    }

    #[derive(Deserialize)]
    struct HeaderValue<'a> {
        #[serde(borrow)]
        value: Cow<'a, str>,
    }

    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(rename = "inputTruncated", default)]
        input_truncated: bool,
        #[serde(borrow, default)]
        encoding: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        data: Cow<'a, str>,
    }

    #[derive(Deserialize)]
    struct Origin<'a> {
        #[serde(borrow, default)]
        custom: Option<Custom<'a>>,
    }

    #[derive(Deserialize)]
    struct Custom<'a> {
        #[serde(rename = "domainName", borrow)]
        domain_name: Cow<'a, str>,
        #[serde(borrow, default)]
        path: Cow<'a, str>,
        #[serde(rename = "customHeaders", borrow, default)]
        custom_headers: BTreeMap<Cow<'a, str>, Vec<HeaderValue<'a>>>,
    }

    impl<'a> Request<'a> {
        /// Every `content-type` and `content-encoding` value.
        pub fn body_headers(&self) -> crate::fle::BodyHeaders<'_> {
            crate::fle::BodyHeaders::collect(
                self.headers
                    .iter()
                    .map(|(name, values)| (name.as_ref(), values.iter().map(|h| &h.value))),
            )
        }

        pub fn input(&'a self) -> SignInput<'a> {
            SignInput {
                method: &self.method,
                uri: &self.uri,
                querystring: &self.querystring,
                header_names: self.headers.keys().map(|k| k.as_ref()).collect(),
                body: self.body.as_ref().map(|b| BodyInput {
                    input_truncated: b.input_truncated,
                    encoding: b.encoding.as_deref(),
                    data: &b.data,
                }),
                origin: self
                    .origin
                    .as_ref()
                    .and_then(|o| o.custom.as_ref())
                    .map(|c| OriginInput {
                        domain_name: &c.domain_name,
                        path: &c.path,
                        custom_header_names: c.custom_headers.keys().map(|k| k.as_ref()).collect(),
                        api_keys: c
                            .custom_headers
                            .get(crate::sign::API_KEY_HEADER)
                            .into_iter()
                            .flatten()
                            .map(|h| h.value.as_ref())
                            .collect(),
                    }),
            }
        }
    }
}

#[derive(Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
struct CredentialsJson {
    #[serde(rename = "accessKeyId", default)]
    access_key_id: String,
    #[serde(rename = "secretAccessKey", default)]
    secret_access_key: String,
    #[serde(rename = "sessionToken", default)]
    session_token: Option<String>,
}

/// Runs one invocation given as JSON:
/// `{"event", "time" (Unix seconds), "region"?, "service"?, "credentials"?: {"accessKeyId",
/// "secretAccessKey", "sessionToken"?}, "payloadSha256"?}` and returns, serialized,
/// `{"signed": true, "patch": <RequestPatch>}` or `{"signed": false, "refusal", "result":
/// <response object>}`. The patch, applied to the event's request, gives the `result` of
/// [`outcome_json`]: the caller already holds the request, so it is not sent back. Never
/// fails: unreadable input becomes a refusal.
pub fn invoke_json(input: &[u8]) -> Vec<u8> {
    invoke_json_with(input, None)
}

/// [`invoke_json`] with edge encryption: when `encryption` is given, the configured fields of
/// the body are encrypted (with randomness from the invocation's `seed`, 64 hex digits) and
/// the patch carries the new body, signed. Same input, same seed: same output, natively and
/// in wasm.
pub fn invoke_json_with(input: &[u8], encryption: Option<&EdgeEncryption>) -> Vec<u8> {
    let outcome = match serde_json::from_slice::<Invocation>(input) {
        Err(_) => Err(Refusal::MalformedEvent),
        Ok(inv) => match SigningTime::from_unix(inv.time) {
            Err(_) => Err(Refusal::BadConfig),
            Ok(time) => {
                let credentials = inv.credentials.as_ref().and_then(|c| {
                    Credentials::new(
                        &c.access_key_id,
                        &c.secret_access_key,
                        c.session_token.as_deref(),
                    )
                });
                let params = SigningParams {
                    credentials: credentials.as_ref(),
                    region: inv.region.as_deref().filter(|r| !r.is_empty()),
                    service: inv
                        .service
                        .as_deref()
                        .filter(|s| !s.is_empty())
                        .unwrap_or(DEFAULT_SERVICE),
                    time,
                    payload_sha256: inv.payload_sha256.as_deref(),
                };
                match encryption {
                    Some(encryption) => {
                        encrypt_and_sign_lite(&inv.event, &params, encryption, inv.seed)
                    }
                    None => sign_lite(&inv.event, &params),
                }
            }
        },
    };
    write_outcome(&outcome)
}

/// The answer for a request refused before it was read.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) fn refused_json(refusal: Refusal) -> Vec<u8> {
    write_outcome(&Err(refusal))
}

fn write_outcome(outcome: &Result<RequestPatch, Refusal>) -> Vec<u8> {
    let written = match outcome {
        Ok(patch) => serde_json::to_vec(&Signed {
            signed: true,
            patch,
        }),
        Err(refusal) => serde_json::to_vec(&Outcome {
            signed: false,
            refusal: Some(refusal.to_string()),
            result: &refusal.response(),
        }),
    };
    // Serializing strings and maps cannot fail; an empty output reads as an error to the host.
    written.unwrap_or_default()
}

#[derive(serde::Serialize)]
struct Signed<'a> {
    signed: bool,
    patch: &'a RequestPatch,
}

#[derive(serde::Serialize)]
struct Outcome<'a, T: serde::Serialize> {
    signed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<String>,
    result: &'a T,
}
