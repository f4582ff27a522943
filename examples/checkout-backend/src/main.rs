//! checkout-backend: the backend Lambda behind a CloudFront distribution whose field-level
//! encryption profile encrypts the checkout form's card fields.
//!
//! The handler is `fle_lambda::checkout` (shared with `fle demo`, which runs it in process):
//! it decrypts the form of the API Gateway request (REST proxy, HTTP API, function URL or ALB
//! event) and answers a redacted summary, `200 {"decrypted": [field names], "cardLast4":
//! "1111"}`, or the error mapping of `fle_lambda::BackendError` (400 / 415 / 503, body
//! `{"error": class}`). The card number itself goes nowhere: not in the answer, not in a log.
//!
//! Configuration: the `FLE_*` environment variables of `fle_lambda::config` (a key source and
//! `FLE_FIELDS`, e.g. `card_*`); AWS credentials and region from the function's role.

use fle_lambda::Backend;
use lambda_http::{service_fn, Error, Request};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Once per execution environment: configuration, SDK client, keys (and the random
    // generator's first draw, in parallel with the key fetch).
    let backend = Backend::from_env().await?;
    let backend = &backend;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(fle_lambda::checkout::handle(backend, &request).await)
    }))
    .await
}
