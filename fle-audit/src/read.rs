//! The reads: one function per AWS resource, each returning plain data (or why it could not be
//! read), so that the checks in `checks.rs` are pure functions of what was read.

use std::collections::BTreeMap;

use aws_sdk_cloudfront::error::{ProvideErrorMetadata, SdkError};

/// Every client the audit uses, from one SDK configuration.
#[derive(Debug, Clone)]
pub(crate) struct Clients {
    pub cf: aws_sdk_cloudfront::Client,
    pub apigw: aws_sdk_apigateway::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub sm: aws_sdk_secretsmanager::Client,
    pub kms: aws_sdk_kms::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub iam: aws_sdk_iam::Client,
    conf: aws_config::SdkConfig,
}

impl Clients {
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            cf: aws_sdk_cloudfront::Client::new(conf),
            apigw: aws_sdk_apigateway::Client::new(conf),
            lambda: aws_sdk_lambda::Client::new(conf),
            sm: aws_sdk_secretsmanager::Client::new(conf),
            kms: aws_sdk_kms::Client::new(conf),
            logs: aws_sdk_cloudwatchlogs::Client::new(conf),
            iam: aws_sdk_iam::Client::new(conf),
            conf: conf.clone(),
        }
    }

    /// A Lambda client for the region of a function ARN: Lambda@Edge functions live in
    /// us-east-1 whatever the API's region.
    pub fn lambda_for(&self, function_arn: &str) -> aws_sdk_lambda::Client {
        match function_arn.split(':').nth(3).filter(|r| !r.is_empty()) {
            Some(region) => aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(&self.conf)
                    .region(aws_sdk_lambda::config::Region::new(region.to_owned()))
                    .build(),
            ),
            None => self.lambda.clone(),
        }
    }
}

/// A short, value-free reason: the service's error code and message, or the transport failure.
pub(crate) fn why<E, R>(op: &str, e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata,
{
    let detail = match e.code() {
        Some(code) => match e.message() {
            Some(m) if !m.is_empty() => format!("{code}: {m}"),
            _ => code.to_owned(),
        },
        None => match e {
            SdkError::DispatchFailure(_) => "could not reach the service".to_owned(),
            SdkError::TimeoutError(_) => "timed out".to_owned(),
            SdkError::ResponseError(_) => "unreadable response".to_owned(),
            _ => "failed".to_owned(),
        },
    };
    format!("{op}: {detail}")
}

/// A cache behavior, as far as the audit cares.
#[derive(Debug, Clone)]
pub(crate) struct Behavior {
    /// `*` for the default behavior.
    pub path: String,
    pub accepts_post: bool,
    pub viewer_https_only: bool,
    pub fle_config_id: Option<String>,
    /// Origin-request associations: (function version ARN, include body).
    pub origin_request: Vec<(String, bool)>,
}

/// An origin.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub domain: String,
    pub path: String,
    pub has_api_key_header: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Distribution {
    pub behaviors: Vec<Behavior>,
    pub origins: Vec<Origin>,
}

pub(crate) async fn distribution(c: &Clients, id: &str) -> Result<Distribution, String> {
    let out =
        c.cf.get_distribution_config()
            .id(id)
            .send()
            .await
            .map_err(|e| why("GetDistributionConfig", &e))?;
    let cfg = out
        .distribution_config()
        .ok_or("GetDistributionConfig: no configuration in the answer")?;
    let post = |m: Option<&aws_sdk_cloudfront::types::AllowedMethods>| {
        m.is_some_and(|m| m.items().contains(&aws_sdk_cloudfront::types::Method::Post))
    };
    let https = |p: &aws_sdk_cloudfront::types::ViewerProtocolPolicy| {
        matches!(
            p,
            aws_sdk_cloudfront::types::ViewerProtocolPolicy::HttpsOnly
                | aws_sdk_cloudfront::types::ViewerProtocolPolicy::RedirectToHttps
        )
    };
    let signers = |a: Option<&aws_sdk_cloudfront::types::LambdaFunctionAssociations>| {
        a.map(|a| {
            a.items()
                .iter()
                .filter(|x| *x.event_type() == aws_sdk_cloudfront::types::EventType::OriginRequest)
                .map(|x| {
                    (
                        x.lambda_function_arn().to_owned(),
                        x.include_body().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
    };
    let fle = |id: Option<&str>| id.filter(|s| !s.is_empty()).map(str::to_owned);
    let mut behaviors = Vec::new();
    if let Some(d) = cfg.default_cache_behavior() {
        behaviors.push(Behavior {
            path: "*".to_owned(),
            accepts_post: post(d.allowed_methods()),
            viewer_https_only: https(d.viewer_protocol_policy()),
            fle_config_id: fle(d.field_level_encryption_id()),
            origin_request: signers(d.lambda_function_associations()),
        });
    }
    for b in cfg.cache_behaviors().map(|b| b.items()).unwrap_or_default() {
        behaviors.push(Behavior {
            path: b.path_pattern().to_owned(),
            accepts_post: post(b.allowed_methods()),
            viewer_https_only: https(b.viewer_protocol_policy()),
            fle_config_id: fle(b.field_level_encryption_id()),
            origin_request: signers(b.lambda_function_associations()),
        });
    }
    let origins = cfg
        .origins()
        .map(|o| o.items())
        .unwrap_or_default()
        .iter()
        .map(|o| Origin {
            domain: o.domain_name().to_owned(),
            path: o.origin_path().unwrap_or_default().to_owned(),
            has_api_key_header: o.custom_headers().is_some_and(|h| {
                h.items().iter().any(|h| {
                    h.header_name()
                        .eq_ignore_ascii_case(edge_signer::API_KEY_HEADER)
                })
            }),
        })
        .collect();
    Ok(Distribution { behaviors, origins })
}

/// A method of the REST API.
#[derive(Debug, Clone)]
pub(crate) struct ApiMethod {
    pub resource_id: String,
    pub path: String,
    pub http_method: String,
    pub authorization: String,
    pub api_key_required: bool,
}

pub(crate) async fn api_methods(c: &Clients, api: &str) -> Result<Vec<ApiMethod>, String> {
    let mut methods = Vec::new();
    let mut position: Option<String> = None;
    // API Gateway pages by `position`; a repeated or missing position ends the listing.
    for _ in 0..1000 {
        let out = c
            .apigw
            .get_resources()
            .rest_api_id(api)
            .embed("methods")
            .limit(500)
            .set_position(position.clone())
            .send()
            .await
            .map_err(|e| why("GetResources", &e))?;
        for r in out.items() {
            let mut names: Vec<_> = r
                .resource_methods()
                .map(|m| m.iter().collect())
                .unwrap_or_default();
            names.sort_by(|a, b| a.0.cmp(b.0));
            for (name, m) in names {
                methods.push(ApiMethod {
                    resource_id: r.id().unwrap_or_default().to_owned(),
                    path: r.path().unwrap_or_default().to_owned(),
                    http_method: name.clone(),
                    authorization: m.authorization_type().unwrap_or("NONE").to_owned(),
                    api_key_required: m.api_key_required().unwrap_or(false),
                });
            }
        }
        match out.position() {
            Some(p) if !p.is_empty() && position.as_deref() != Some(p) => {
                position = Some(p.to_owned());
            }
            _ => return Ok(methods),
        }
    }
    Err("GetResources: the listing did not end".to_owned())
}

/// The Lambda function an `AWS_PROXY` integration invokes, if it is one.
pub(crate) async fn integration_function(
    c: &Clients,
    api: &str,
    m: &ApiMethod,
) -> Result<Option<String>, String> {
    let out = c
        .apigw
        .get_integration()
        .rest_api_id(api)
        .resource_id(&m.resource_id)
        .http_method(&m.http_method)
        .send()
        .await
        .map_err(|e| why("GetIntegration", &e))?;
    Ok(out.uri().and_then(function_of_integration_uri))
}

/// `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function arn>/invocations`
/// → the function ARN.
pub(crate) fn function_of_integration_uri(uri: &str) -> Option<String> {
    let rest = uri.split_once(":lambda:path/")?.1;
    let rest = rest.split_once("/functions/")?.1;
    let arn = rest.strip_suffix("/invocations")?;
    Some(arn.to_owned())
}

/// What the audit reads of a Lambda function.
#[derive(Debug, Clone)]
pub(crate) struct Function {
    pub role: String,
    pub env: BTreeMap<String, String>,
    pub log_group: String,
}

pub(crate) async fn function(c: &Clients, name: &str) -> Result<Function, String> {
    let out = c
        .lambda_for(name)
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .map_err(|e| why("GetFunctionConfiguration", &e))?;
    let fname = out.function_name().unwrap_or(name).to_owned();
    Ok(Function {
        role: out.role().unwrap_or_default().to_owned(),
        // Only the names the audit needs: other variables may hold anything.
        env: out
            .environment()
            .and_then(|e| e.variables())
            .map(|v| {
                v.iter()
                    .filter(|(k, _)| k.starts_with("FLE_"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        log_group: out
            .logging_config()
            .and_then(|l| l.log_group())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("/aws/lambda/{fname}")),
    })
}

/// The identity policies of a role (inline and attached), as JSON texts.
pub(crate) async fn role_policies(
    c: &Clients,
    role_arn: &str,
) -> Result<Vec<(String, String)>, String> {
    let role = role_arn
        .rsplit_once(":role/")
        .map(|(_, path_name)| path_name.rsplit('/').next().unwrap_or(path_name))
        .ok_or_else(|| format!("{role_arn:?} is not a role ARN"))?;
    let mut docs = Vec::new();
    let inline = c
        .iam
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .map_err(|e| why("ListRolePolicies", &e))?;
    for name in inline.policy_names() {
        let p = c
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .map_err(|e| why("GetRolePolicy", &e))?;
        docs.push((
            format!("inline policy {name}"),
            p.policy_document().to_owned(),
        ));
    }
    let attached = c
        .iam
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .map_err(|e| why("ListAttachedRolePolicies", &e))?;
    for a in attached.attached_policies() {
        let Some(arn) = a.policy_arn() else { continue };
        let p = c
            .iam
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| why("GetPolicy", &e))?;
        let version = p
            .policy()
            .and_then(|p| p.default_version_id())
            .ok_or_else(|| format!("GetPolicy {arn}: no default version"))?;
        let v = c
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(|e| why("GetPolicyVersion", &e))?;
        let doc = v
            .policy_version()
            .and_then(|v| v.document())
            .ok_or_else(|| format!("GetPolicyVersion {arn}: no document"))?;
        docs.push((format!("managed policy {arn}"), doc.to_owned()));
    }
    Ok(docs)
}

/// A keyring secret's KMS key (id, ARN or alias as Secrets Manager reports it).
pub(crate) async fn secret_kms_key(c: &Clients, secret: &str) -> Result<Option<String>, String> {
    let out =
        c.sm.describe_secret()
            .secret_id(secret)
            .send()
            .await
            .map_err(|e| why("DescribeSecret", &e))?;
    Ok(out.kms_key_id().map(str::to_owned))
}

/// The key's ARN and whether it is customer-managed.
pub(crate) async fn kms_key(c: &Clients, key: &str) -> Result<(String, bool), String> {
    let out = c
        .kms
        .describe_key()
        .key_id(key)
        .send()
        .await
        .map_err(|e| why("DescribeKey", &e))?;
    let meta = out.key_metadata().ok_or("DescribeKey: no metadata")?;
    Ok((
        meta.arn().unwrap_or(meta.key_id()).to_owned(),
        meta.key_manager() == Some(&aws_sdk_kms::types::KeyManagerType::Customer),
    ))
}

pub(crate) async fn key_policy(c: &Clients, key_arn: &str) -> Result<String, String> {
    let out = c
        .kms
        .get_key_policy()
        .key_id(key_arn)
        .policy_name("default")
        .send()
        .await
        .map_err(|e| why("GetKeyPolicy", &e))?;
    out.policy()
        .map(str::to_owned)
        .ok_or_else(|| "GetKeyPolicy: empty".to_owned())
}

/// The keyring document's text (zeroized by the caller once parsed).
pub(crate) async fn secret_text(
    c: &Clients,
    secret: &str,
) -> Result<zeroize::Zeroizing<String>, String> {
    let out =
        c.sm.get_secret_value()
            .secret_id(secret)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .map_err(|e| why("GetSecretValue", &e))?;
    out.secret_string()
        .map(|s| zeroize::Zeroizing::new(s.to_owned()))
        .ok_or_else(|| "GetSecretValue: no SecretString".to_owned())
}

pub(crate) async fn data_protection_policy(
    c: &Clients,
    group: &str,
) -> Result<Option<String>, String> {
    let out = c
        .logs
        .get_data_protection_policy()
        .log_group_identifier(group)
        .send()
        .await
        .map_err(|e| why("GetDataProtectionPolicy", &e))?;
    Ok(out
        .policy_document()
        .filter(|d| !d.is_empty())
        .map(str::to_owned))
}

/// (public key id, provider id) of every encryption entity of the FLE configuration's profiles.
pub(crate) async fn fle_entities(
    c: &Clients,
    config_id: &str,
) -> Result<Vec<(String, String, String)>, String> {
    let cfg =
        c.cf.get_field_level_encryption_config()
            .id(config_id)
            .send()
            .await
            .map_err(|e| why("GetFieldLevelEncryptionConfig", &e))?;
    let cfg = cfg
        .field_level_encryption_config()
        .ok_or("GetFieldLevelEncryptionConfig: empty")?;
    let mut profiles: Vec<String> = cfg
        .content_type_profile_config()
        .and_then(|c| c.content_type_profiles())
        .map(|p| p.items())
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.profile_id().map(str::to_owned))
        .collect();
    profiles.extend(
        cfg.query_arg_profile_config()
            .and_then(|c| c.query_arg_profiles())
            .map(|p| p.items())
            .unwrap_or_default()
            .iter()
            .map(|p| p.profile_id().to_owned()),
    );
    profiles.sort();
    profiles.dedup();
    let mut entities = Vec::new();
    for id in profiles {
        let p =
            c.cf.get_field_level_encryption_profile()
                .id(&id)
                .send()
                .await
                .map_err(|e| why("GetFieldLevelEncryptionProfile", &e))?;
        let name = p
            .field_level_encryption_profile()
            .and_then(|p| p.field_level_encryption_profile_config())
            .map(|c| c.name().to_owned())
            .unwrap_or(id.clone());
        for e in p
            .field_level_encryption_profile()
            .and_then(|p| p.field_level_encryption_profile_config())
            .and_then(|c| c.encryption_entities())
            .map(|e| e.items())
            .unwrap_or_default()
        {
            entities.push((
                name.clone(),
                e.public_key_id().to_owned(),
                e.provider_id().to_owned(),
            ));
        }
    }
    Ok(entities)
}

/// Every CloudFront public key: (id, name, SPKI PEM).
pub(crate) async fn public_keys(c: &Clients) -> Result<Vec<(String, String, String)>, String> {
    let mut keys = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..1000 {
        let out =
            c.cf.list_public_keys()
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| why("ListPublicKeys", &e))?;
        let Some(list) = out.public_key_list() else {
            return Ok(keys);
        };
        for k in list.items() {
            keys.push((
                k.id().to_owned(),
                k.name().to_owned(),
                k.encoded_key().to_owned(),
            ));
        }
        match list.next_marker() {
            Some(m) if !m.is_empty() && marker.as_deref() != Some(m) => marker = Some(m.to_owned()),
            _ => return Ok(keys),
        }
    }
    Err("ListPublicKeys: the listing did not end".to_owned())
}
