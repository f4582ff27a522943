//! The keystore model (`crate::model`) to and from aws-sdk-cloudfront's types.
//!
//! Both sides name the same CloudFront fields; this file only moves them across, wrapping the
//! list shapes (`Quantity` + `Items`) and the required-field builders.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudfront::primitives::DateTime;
use aws_sdk_cloudfront::types as cf;

use crate::error::StoreError;
use crate::model::{
    ConfigBody, ContentTypeProfile, ContentTypeProfileConfig, EncryptionEntity, ProfileConfig,
    PublicKeyConfig, QueryArgProfile, QueryArgProfileConfig,
};

fn build_err(e: aws_sdk_cloudfront::error::BuildError) -> StoreError {
    StoreError::Invalid(format!("cannot build the CloudFront request: {e}"))
}

fn count(n: usize) -> Result<i32, StoreError> {
    i32::try_from(n).map_err(|_| StoreError::Invalid("too many items".into()))
}

/// A CloudFront time as RFC 3339 UTC with seconds, as the local keystore writes it.
pub fn time(t: &DateTime) -> String {
    let secs = u64::try_from(t.secs()).unwrap_or(0);
    let at = SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .unwrap_or_else(crate::time::latest);
    crate::time::rfc3339_clamped(at)
}

pub fn public_key_config_to_cf(c: &PublicKeyConfig) -> Result<cf::PublicKeyConfig, StoreError> {
    cf::PublicKeyConfig::builder()
        .caller_reference(&c.caller_reference)
        .name(&c.name)
        .encoded_key(&c.encoded_key)
        .comment(&c.comment)
        .build()
        .map_err(build_err)
}

pub fn public_key_config_from_cf(c: &cf::PublicKeyConfig) -> PublicKeyConfig {
    PublicKeyConfig {
        caller_reference: c.caller_reference().to_owned(),
        name: c.name().to_owned(),
        encoded_key: c.encoded_key().to_owned(),
        comment: c.comment().unwrap_or_default().to_owned(),
    }
}

pub fn profile_config_to_cf(
    c: &ProfileConfig,
) -> Result<cf::FieldLevelEncryptionProfileConfig, StoreError> {
    let mut entities = Vec::with_capacity(c.encryption_entities.len());
    for e in &c.encryption_entities {
        let patterns = cf::FieldPatterns::builder()
            .quantity(count(e.field_patterns.len())?)
            .set_items(Some(e.field_patterns.clone()))
            .build()
            .map_err(build_err)?;
        entities.push(
            cf::EncryptionEntity::builder()
                .public_key_id(&e.public_key_id)
                .provider_id(&e.provider_id)
                .field_patterns(patterns)
                .build()
                .map_err(build_err)?,
        );
    }
    let entities = cf::EncryptionEntities::builder()
        .quantity(count(entities.len())?)
        .set_items(Some(entities))
        .build()
        .map_err(build_err)?;
    cf::FieldLevelEncryptionProfileConfig::builder()
        .name(&c.name)
        .caller_reference(&c.caller_reference)
        .comment(&c.comment)
        .encryption_entities(entities)
        .build()
        .map_err(build_err)
}

pub fn profile_config_from_cf(c: &cf::FieldLevelEncryptionProfileConfig) -> ProfileConfig {
    ProfileConfig {
        name: c.name().to_owned(),
        caller_reference: c.caller_reference().to_owned(),
        comment: c.comment().unwrap_or_default().to_owned(),
        encryption_entities: c
            .encryption_entities()
            .map(|es| {
                es.items()
                    .iter()
                    .map(|e| EncryptionEntity {
                        public_key_id: e.public_key_id().to_owned(),
                        provider_id: e.provider_id().to_owned(),
                        field_patterns: e
                            .field_patterns()
                            .map(|p| p.items().to_vec())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

pub fn config_to_cf(c: &ConfigBody) -> Result<cf::FieldLevelEncryptionConfig, StoreError> {
    let qa = &c.query_arg_profile_config;
    let mut qa_items = Vec::new();
    for m in &qa.query_arg_profiles {
        qa_items.push(
            cf::QueryArgProfile::builder()
                .query_arg(&m.query_arg)
                .profile_id(&m.profile_id)
                .build()
                .map_err(build_err)?,
        );
    }
    let qa_cf = cf::QueryArgProfileConfig::builder()
        .forward_when_query_arg_profile_is_unknown(qa.forward_when_query_arg_profile_is_unknown)
        .query_arg_profiles(
            cf::QueryArgProfiles::builder()
                .quantity(count(qa_items.len())?)
                .set_items(Some(qa_items))
                .build()
                .map_err(build_err)?,
        )
        .build()
        .map_err(build_err)?;
    let ct = &c.content_type_profile_config;
    let mut ct_items = Vec::new();
    for m in &ct.content_type_profiles {
        ct_items.push(
            cf::ContentTypeProfile::builder()
                .format(cf::Format::from(m.format.as_str()))
                .set_profile_id(m.profile_id.clone())
                .content_type(&m.content_type)
                .build()
                .map_err(build_err)?,
        );
    }
    let ct_cf = cf::ContentTypeProfileConfig::builder()
        .forward_when_content_type_is_unknown(ct.forward_when_content_type_is_unknown)
        .content_type_profiles(
            cf::ContentTypeProfiles::builder()
                .quantity(count(ct_items.len())?)
                .set_items(Some(ct_items))
                .build()
                .map_err(build_err)?,
        )
        .build()
        .map_err(build_err)?;
    cf::FieldLevelEncryptionConfig::builder()
        .caller_reference(&c.caller_reference)
        .comment(&c.comment)
        .query_arg_profile_config(qa_cf)
        .content_type_profile_config(ct_cf)
        .build()
        .map_err(build_err)
}

pub fn config_from_cf(c: &cf::FieldLevelEncryptionConfig) -> ConfigBody {
    let qa = c.query_arg_profile_config();
    let ct = c.content_type_profile_config();
    ConfigBody {
        caller_reference: c.caller_reference().to_owned(),
        comment: c.comment().unwrap_or_default().to_owned(),
        query_arg_profile_config: QueryArgProfileConfig {
            forward_when_query_arg_profile_is_unknown: qa
                .is_some_and(|q| q.forward_when_query_arg_profile_is_unknown()),
            query_arg_profiles: qa
                .and_then(|q| q.query_arg_profiles())
                .map(|l| {
                    l.items()
                        .iter()
                        .map(|m| QueryArgProfile {
                            query_arg: m.query_arg().to_owned(),
                            profile_id: m.profile_id().to_owned(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        },
        content_type_profile_config: ContentTypeProfileConfig {
            forward_when_content_type_is_unknown: ct
                .is_some_and(|c| c.forward_when_content_type_is_unknown()),
            content_type_profiles: ct
                .and_then(|c| c.content_type_profiles())
                .map(|l| {
                    l.items()
                        .iter()
                        .map(|m| ContentTypeProfile {
                            format: m.format().as_str().to_owned(),
                            profile_id: m.profile_id().map(str::to_owned),
                            content_type: m.content_type().to_owned(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        },
    }
}
