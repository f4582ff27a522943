//! checkout-backend: the backend Lambda behind a CloudFront distribution whose field-level
//! encryption profile encrypts the checkout form's card fields.
//!
//! It decrypts the form of the API Gateway request (REST proxy, HTTP API, function URL or ALB
//! event) and answers a redacted summary, `200 {"decrypted": [field names], "cardLast4":
//! "1111"}`, or the error mapping of `fle_lambda::BackendError` (400 / 415 / 503, body
//! `{"error": class}`). The card number itself goes nowhere: not in the answer, not in a log.
//!
//! Configuration: the `FLE_*` environment variables of `fle_lambda::config` (a key source and
//! `FLE_FIELDS`, e.g. `card_*`); AWS credentials and region from the function's role.

use fle_lambda::{json_response, Backend, BackendError};
use lambda_http::{service_fn, Body, Error, Request, Response};
use serde::Serialize;

/// The form field holding the card number.
const CARD_FIELD: &str = "card_number";

/// What the function answers: field names and the last four digits, never a value.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    decrypted: Vec<&'a str>,
    card_last4: String,
}

/// The last four digits of a card number (spaces and dashes ignored); `None` unless the value
/// is 12 to 19 digits.
fn card_last4(card: &[u8]) -> Option<String> {
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

async fn checkout(backend: &Backend, request: &Request) -> Result<Response<Body>, BackendError> {
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

async fn handle(backend: &Backend, request: Request) -> Result<Response<Body>, Error> {
    Ok(checkout(backend, &request)
        .await
        .unwrap_or_else(BackendError::into_response))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Once per execution environment: configuration, SDK client, keys (and the random
    // generator's first draw, in parallel with the key fetch).
    let backend = Backend::from_env().await?;
    let backend = &backend;
    lambda_http::run(service_fn(move |request: Request| handle(backend, request))).await
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
