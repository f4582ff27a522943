//! The checkout handler: the backend of the architecture's example, shared by the
//! `checkout-backend` Lambda (examples/) and `fle demo`, which runs it in process behind its
//! API Gateway stand-in.
//!
//! It decrypts the request's form and answers a redacted summary, `200 {"decrypted": [field
//! names], "cardLast4": "1111"}`, or the error mapping of [`BackendError`] (400 / 415 / 503,
//! body `{"error": class}`). The card number itself goes nowhere: not in the answer, not in a
//! log.

use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::{json_response, Backend, BackendError, KeySource};

/// The form field holding the card number.
pub const CARD_FIELD: &str = "card_number";

/// What the handler answers: field names and the last four digits, never a value.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    decrypted: Vec<&'a str>,
    card_last4: String,
}

/// The last four digits of a card number (spaces and dashes ignored); `None` unless the value
/// is 12 to 19 digits.
pub fn card_last4(card: &[u8]) -> Option<String> {
    let digits: Vec<u8> = card
        .iter()
        .copied()
        .filter(|b| !matches!(b, b' ' | b'-'))
        .collect();
    if !(12..=19).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let tail = digits.get(digits.len().saturating_sub(4)..)?;
    String::from_utf8(tail.to_vec()).ok()
}

async fn checkout<S: KeySource>(
    backend: &Backend<S>,
    request: &Request,
) -> Result<Response<Body>, BackendError> {
    let form = backend.decrypt_request(request).await?;
    let card = form
        .get(CARD_FIELD)
        .ok_or_else(|| BackendError::MissingField(CARD_FIELD.to_owned()))?;
    let Some(card_last4) = card_last4(card.expose()) else {
        return Ok(json_response(
            422,
            &serde_json::json!({"error": "InvalidCardNumber"}),
        ));
    };
    let summary = Summary {
        decrypted: form.decrypted().map(|(name, _)| name).collect(),
        card_last4,
    };
    Ok(json_response(200, &summary))
}

/// Answers one request: the summary, or the error's response.
pub async fn handle<S: KeySource>(backend: &Backend<S>, request: &Request) -> Response<Body> {
    checkout(backend, request)
        .await
        .unwrap_or_else(BackendError::into_response)
}

#[cfg(test)]
mod tests {
    use super::card_last4;

    #[test]
    fn last_four_digits_only_of_a_card_number() {
        assert_eq!(card_last4(b"4111111111111111").as_deref(), Some("1111"));
        assert_eq!(card_last4(b"4111 1111-1111 1234").as_deref(), Some("1234"));
        for bad in [
            &b""[..],
            b"1234",
            b"4111x11111111111",
            b"41111111111111111111",
        ] {
            assert_eq!(card_last4(bad), None, "{bad:?}");
        }
    }
}
