//! What AWS says about a rotation right now: the origin and its header, the keys, the plan.

use aws_sdk_apigateway::types::ApiKey;

use super::{origin, ApiKeyClients, ApiKeyError, ApiKeyRotation, API_KEY_HEADER};

/// Description of a key made by a rotation: this prefix, then the id of the key it replaces.
pub(super) const DESCRIPTION_PREFIX: &str = "fle api-keys rotate: replaces ";
/// API Gateway's largest page.
const PAGE: i32 = 500;

/// Name prefix of the keys a rotation of this origin makes (the creation time follows).
pub(super) fn key_prefix(distribution: &str, origin: &str) -> String {
    format!("fle/{distribution}/{origin}/")
}

/// What AWS says about the rotation right now.
#[derive(Debug)]
pub(super) struct State {
    pub origin: String,
    /// The key value in the origin's custom header, if any.
    pub at_cloudfront: Option<String>,
    /// The key this rotation installs (exists already when resuming).
    pub new_key: Option<ApiKey>,
    /// The key this rotation retires.
    pub old_key_id: Option<String>,
    /// Ids of the keys in the usage plan.
    pub in_plan: Vec<String>,
    /// Ids of all API keys.
    pub existing: Vec<String>,
    pub resumed: bool,
}

/// Refuses a usage plan that does not serve the REST API: the new key would not open it.
pub(super) async fn check_plan_serves_api(
    c: &ApiKeyClients,
    req: &ApiKeyRotation,
) -> Result<(), ApiKeyError> {
    let plan = c
        .apigw
        .get_usage_plan()
        .usage_plan_id(&req.usage_plan)
        .send()
        .await
        .map_err(|e| {
            ApiKeyError::aws(
                format!("GetUsagePlan {}", req.usage_plan),
                crate::aws::sdk::describe(&e),
            )
        })?;
    let serves = plan
        .api_stages
        .unwrap_or_default()
        .iter()
        .any(|s| s.api_id.as_deref() == Some(req.rest_api.as_str()));
    if !serves {
        return Err(ApiKeyError::PlanDoesNotServeApi {
            plan: req.usage_plan.clone(),
            rest_api: req.rest_api.clone(),
        });
    }
    Ok(())
}

/// Reads the state and works out which step an earlier run reached.
pub(super) async fn read(
    c: &ApiKeyClients,
    req: &ApiKeyRotation,
    progress: &dyn Fn(&str),
) -> Result<State, ApiKeyError> {
    let cfg = origin::distribution_config(
        c,
        req,
        &format!("GetDistributionConfig {}", req.distribution),
    )
    .await?;
    let origins = cfg
        .distribution_config
        .and_then(|d| d.origins)
        .map(|o| o.items)
        .unwrap_or_default();
    let origin = pick_origin(&origins, req.origin.as_deref())?;
    let at_cloudfront = header_value(origin);
    let origin_id = origin.id.clone();

    let keys = list_keys(c).await?;
    let in_plan = list_plan_keys(c, &req.usage_plan).await?;
    let prefix = key_prefix(&req.distribution, &origin_id);
    let ours = |k: &&ApiKey| k.name.as_deref().is_some_and(|n| n.starts_with(&prefix));
    let replaces = |k: &ApiKey| {
        k.description
            .as_deref()
            .and_then(|d| d.strip_prefix(DESCRIPTION_PREFIX))
            .filter(|id| *id != "none")
            .map(str::to_string)
    };
    let existing: Vec<String> = keys.iter().filter_map(|k| k.id.clone()).collect();

    let current = keys
        .iter()
        .find(|k| at_cloudfront.is_some() && k.value == at_cloudfront);
    // The key at CloudFront is ours and the key it replaces still exists: an interrupted run
    // got past the header switch; finish retiring. Checked first: that replaced key is itself
    // one of ours (every key is, from the stack's first on) and not at CloudFront, so it would
    // otherwise pass for a key created and not yet switched to.
    if let Some(key) = current.filter(|k| ours(k)) {
        if let Some(old) = replaces(key).filter(|old| existing.contains(old)) {
            return Ok(State {
                origin: origin_id,
                at_cloudfront,
                new_key: Some(key.clone()),
                old_key_id: Some(old),
                in_plan,
                existing,
                resumed: true,
            });
        }
    }
    // A key of ours not yet at CloudFront and newer than the one that is: an interrupted run
    // got past "create". The newest one wins (names end in their creation time).
    let floor = current.filter(|k| ours(k)).and_then(|k| k.name.clone());
    let mut pending: Vec<&ApiKey> = keys
        .iter()
        .filter(ours)
        .filter(|k| k.value != at_cloudfront)
        .filter(|k| {
            floor
                .as_ref()
                .is_none_or(|f| k.name.as_ref().is_some_and(|n| n > f))
        })
        .collect();
    pending.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(key) = pending.last() {
        return Ok(State {
            origin: origin_id,
            at_cloudfront,
            new_key: Some((*key).clone()),
            old_key_id: replaces(key),
            in_plan,
            existing,
            resumed: true,
        });
    }
    if at_cloudfront.is_some() && current.is_none() {
        progress("warning: the x-api-key at CloudFront matches no API key of this account; it will be replaced, not deleted");
    }
    Ok(State {
        origin: origin_id,
        at_cloudfront,
        new_key: None,
        old_key_id: current.and_then(|k| k.id.clone()),
        in_plan,
        existing,
        resumed: false,
    })
}

fn pick_origin<'a>(
    origins: &'a [aws_sdk_cloudfront::types::Origin],
    wanted: Option<&str>,
) -> Result<&'a aws_sdk_cloudfront::types::Origin, ApiKeyError> {
    if let Some(id) = wanted {
        return origins
            .iter()
            .find(|o| o.id == id)
            .ok_or_else(|| ApiKeyError::Origin(format!("the distribution has no origin {id:?}")));
    }
    let with_key: Vec<_> = origins
        .iter()
        .filter(|o| header_value(o).is_some())
        .collect();
    match (with_key.as_slice(), origins) {
        ([one], _) => Ok(*one),
        ([], [one]) => Ok(one),
        _ => Err(ApiKeyError::Origin(
            "cannot tell which origin carries the API key: pass --origin".into(),
        )),
    }
}

/// The value of the origin's API-key header.
pub(super) fn header_value(origin: &aws_sdk_cloudfront::types::Origin) -> Option<String> {
    origin
        .custom_headers
        .as_ref()
        .and_then(|h| h.items.as_ref())
        .and_then(|items| {
            items
                .iter()
                .find(|h| h.header_name.eq_ignore_ascii_case(API_KEY_HEADER))
        })
        .map(|h| h.header_value.clone())
}

/// Every item of an API Gateway listing: `page(position)` fetches one page and returns its
/// items and the next position. Stops at a missing, empty or repeated position.
async fn all_pages<T, Page>(
    mut page: impl FnMut(Option<String>) -> Page,
) -> Result<Vec<T>, ApiKeyError>
where
    Page: std::future::Future<Output = Result<(Vec<T>, Option<String>), ApiKeyError>>,
{
    let mut items = Vec::new();
    let mut position: Option<String> = None;
    loop {
        let (got, next) = page(position.clone()).await?;
        items.extend(got);
        match next {
            Some(next) if Some(&next) != position.as_ref() && !next.is_empty() => {
                position = Some(next)
            }
            _ => return Ok(items),
        }
    }
}

async fn list_keys(c: &ApiKeyClients) -> Result<Vec<ApiKey>, ApiKeyError> {
    all_pages(|position| async move {
        let page = c
            .apigw
            .get_api_keys()
            .include_values(true)
            .limit(PAGE)
            .set_position(position)
            .send()
            .await
            .map_err(|e| ApiKeyError::aws("GetApiKeys", crate::aws::sdk::describe(&e)))?;
        Ok((page.items.unwrap_or_default(), page.position))
    })
    .await
}

async fn list_plan_keys(c: &ApiKeyClients, plan: &str) -> Result<Vec<String>, ApiKeyError> {
    all_pages(|position| async move {
        let page = c
            .apigw
            .get_usage_plan_keys()
            .usage_plan_id(plan)
            .limit(PAGE)
            .set_position(position)
            .send()
            .await
            .map_err(|e| {
                ApiKeyError::aws(
                    format!("GetUsagePlanKeys {plan}"),
                    crate::aws::sdk::describe(&e),
                )
            })?;
        Ok((
            page.items
                .unwrap_or_default()
                .into_iter()
                .filter_map(|k| k.id)
                .collect(),
            page.position,
        ))
    })
    .await
}
