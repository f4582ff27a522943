//! The distribution side: read the config, write the key into the origin's header, and check
//! that it is still there before the old key is retired.

use super::state::{header_value, State};
use super::{ApiKeyClients, ApiKeyError, ApiKeyRotation, API_KEY_HEADER};

/// The rotated distribution's config and ETag; `call` names the request in the error.
pub(super) async fn distribution_config(
    c: &ApiKeyClients,
    req: &ApiKeyRotation,
    call: &str,
) -> Result<
    aws_sdk_cloudfront::operation::get_distribution_config::GetDistributionConfigOutput,
    ApiKeyError,
> {
    c.cf.get_distribution_config()
        .id(&req.distribution)
        .send()
        .await
        .map_err(|e| ApiKeyError::aws(call, crate::aws::sdk::describe(&e)))
}

fn unexpected(what: &str, e: impl std::fmt::Display) -> ApiKeyError {
    ApiKeyError::Unexpected(format!("{what}: {e}"))
}

/// Writes the key into the origin's API-key custom header (added if missing), with the ETag
/// just read as IfMatch so a concurrent change fails instead of being overwritten.
pub(super) async fn set_key(
    c: &ApiKeyClients,
    req: &ApiKeyRotation,
    origin: &str,
    value: &str,
    progress: &dyn Fn(&str),
) -> Result<(), ApiKeyError> {
    let out = distribution_config(c, req, "GetDistributionConfig").await?;
    let etag = out
        .e_tag
        .ok_or_else(|| ApiKeyError::Unexpected("GetDistributionConfig returned no ETag".into()))?;
    let mut cfg = out.distribution_config.ok_or_else(|| {
        ApiKeyError::Unexpected("GetDistributionConfig returned no config".into())
    })?;
    let target = cfg
        .origins
        .as_mut()
        .and_then(|o| o.items.iter_mut().find(|o| o.id == origin))
        .ok_or_else(|| {
            ApiKeyError::Unexpected(format!("origin {origin} disappeared from the distribution"))
        })?;
    if target.custom_headers.is_none() {
        target.custom_headers = Some(
            aws_sdk_cloudfront::types::CustomHeaders::builder()
                .quantity(0)
                .build()
                .map_err(|e| unexpected("building custom headers", e))?,
        );
    }
    let headers = target
        .custom_headers
        .as_mut()
        .ok_or_else(|| ApiKeyError::Unexpected("internal: no custom headers".into()))?;
    let items = headers.items.get_or_insert_with(Vec::new);
    match items
        .iter_mut()
        .find(|h| h.header_name.eq_ignore_ascii_case(API_KEY_HEADER))
    {
        Some(h) => value.clone_into(&mut h.header_value),
        None => items.push(
            aws_sdk_cloudfront::types::OriginCustomHeader::builder()
                .header_name(API_KEY_HEADER)
                .header_value(value)
                .build()
                .map_err(|e| unexpected("building the custom header", e))?,
        ),
    }
    headers.quantity =
        i32::try_from(items.len()).map_err(|e| unexpected("too many custom headers", e))?;
    progress(&format!(
        "updating origin {origin} of distribution {} (IfMatch {etag})",
        req.distribution
    ));
    c.cf.update_distribution()
        .id(&req.distribution)
        .if_match(etag)
        .distribution_config(cfg)
        .send()
        .await
        .map_err(|e| ApiKeyError::aws("UpdateDistribution", crate::aws::sdk::describe(&e)))?;
    Ok(())
}

/// Before retiring the old key, CloudFront must still send the new one: if someone changed
/// the header meanwhile, stop rather than delete a key that may be in use.
pub(super) async fn ensure_still_switched(
    c: &ApiKeyClients,
    req: &ApiKeyRotation,
    st: &State,
) -> Result<(), ApiKeyError> {
    let out = distribution_config(c, req, "GetDistributionConfig").await?;
    let origins = out
        .distribution_config
        .and_then(|d| d.origins)
        .map(|o| o.items)
        .unwrap_or_default();
    let now = origins
        .iter()
        .find(|o| o.id == st.origin)
        .and_then(header_value);
    let new = st.new_key.as_ref().and_then(|k| k.value.clone());
    if now.is_none() || now != new {
        return Err(ApiKeyError::ChangedMeanwhile(st.origin.clone()));
    }
    Ok(())
}
