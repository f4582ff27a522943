//! CloudFront's field-level-encryption rules, checked before anything is stored or sent.
//!
//! The local keystore enforces all of them; the AWS backend checks the per-object ones before
//! calling CloudFront, so a mistake fails fast with a message naming the field rather than as a
//! remote `InvalidArgument`.

use crate::error::StoreError;
use crate::model::{ConfigBody, ProfileConfig, PublicKeyConfig, FORMAT_URLENCODED};

/// Quotas per account (CloudFront Developer Guide, "Quotas on field-level encryption").
pub const MAX_PUBLIC_KEYS: usize = 10;
pub const MAX_PROFILES: usize = 10;
pub const MAX_CONFIGS: usize = 10;
/// Fields one profile may encrypt.
pub const MAX_FIELDS_PER_PROFILE: usize = 10;
/// Distributions one configuration may be associated with.
pub const MAX_DISTRIBUTIONS_PER_CONFIG: usize = 20;
/// `fle-profile` query-argument mappings per configuration.
pub const MAX_QUERY_ARG_PROFILES: usize = 5;
/// Names, provider ids, field patterns and comments.
pub const MAX_NAME_LEN: usize = 128;
pub const MAX_COMMENT_LEN: usize = 128;
/// CloudFront accepts RSA-2048 public keys only.
pub const RSA_BITS: usize = 2048;

fn invalid(msg: String) -> StoreError {
    StoreError::Invalid(msg)
}

fn check_chars(kind: &str, value: &str, extra: &[char]) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(invalid(format!("{kind} must not be empty")));
    }
    if value.chars().count() > MAX_NAME_LEN {
        return Err(invalid(format!(
            "{kind} is longer than {MAX_NAME_LEN} characters"
        )));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || extra.contains(c)))
    {
        let allowed: String = extra.iter().map(|c| format!(" '{c}'")).collect();
        return Err(invalid(format!(
            "{kind} {value:?} contains {c:?}; allowed: letters, digits and{allowed}"
        )));
    }
    Ok(())
}

/// Public key names: letters, digits, `-` and `_`, at most 128.
pub fn key_name(name: &str) -> Result<(), StoreError> {
    check_chars("key name", name, &['-', '_'])
}

/// FLE profile names: letters, digits, `-` and `_`, at most 128.
pub fn profile_name(name: &str) -> Result<(), StoreError> {
    check_chars("profile name", name, &['-', '_'])
}

/// Provider ids: letters, digits, `:`, `-` and `_`, at most 128.
pub fn provider_id(id: &str) -> Result<(), StoreError> {
    check_chars("provider id", id, &[':', '-', '_'])
}

pub fn comment(text: &str) -> Result<(), StoreError> {
    if text.chars().count() > MAX_COMMENT_LEN {
        return Err(invalid(format!(
            "comment is longer than {MAX_COMMENT_LEN} characters"
        )));
    }
    Ok(())
}

/// A field pattern: a full field name, or a prefix followed by one trailing `*`.
pub fn field_pattern(pattern: &str) -> Result<(), StoreError> {
    let body = pattern.strip_suffix('*').unwrap_or(pattern);
    if body.is_empty() {
        return Err(invalid(format!(
            "field pattern {pattern:?} needs at least one character before '*'"
        )));
    }
    if pattern.chars().count() > MAX_NAME_LEN {
        return Err(invalid(format!(
            "field pattern {pattern:?} is longer than {MAX_NAME_LEN} characters"
        )));
    }
    if let Some(c) = body
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-[]".contains(*c)))
    {
        return Err(invalid(format!(
            "field pattern {pattern:?} contains {c:?}; allowed: letters, digits, '.', '_', '-', '[', ']' and one trailing '*'"
        )));
    }
    Ok(())
}

/// Whether some field name matches both patterns.
pub fn patterns_overlap(a: &str, b: &str) -> bool {
    match (a.strip_suffix('*'), b.strip_suffix('*')) {
        (None, None) => a == b,
        (Some(p), None) => b.starts_with(p),
        (None, Some(q)) => a.starts_with(q),
        (Some(p), Some(q)) => p.starts_with(q) || q.starts_with(p),
    }
}

/// Checks one public key config on its own (name, comment, RSA-2048 SPKI PEM).
pub fn public_key_config(cfg: &PublicKeyConfig) -> Result<(), StoreError> {
    key_name(&cfg.name)?;
    comment(&cfg.comment)?;
    if cfg.caller_reference.is_empty() {
        return Err(invalid("caller reference must not be empty".into()));
    }
    let bits = crate::keygen::public_key_bits(&cfg.encoded_key)
        .map_err(|e| invalid(format!("public key {:?}: {e}", cfg.name)))?;
    if bits != RSA_BITS {
        return Err(invalid(format!(
            "public key {:?} is RSA-{bits}; CloudFront accepts RSA-{RSA_BITS} only",
            cfg.name
        )));
    }
    Ok(())
}

/// Checks one profile on its own: names, pattern syntax, no overlap, field count.
pub fn profile_config(cfg: &ProfileConfig) -> Result<(), StoreError> {
    profile_name(&cfg.name)?;
    comment(&cfg.comment)?;
    if cfg.encryption_entities.is_empty() {
        return Err(invalid(format!(
            "profile {:?} has no encryption entity",
            cfg.name
        )));
    }
    let mut all: Vec<&str> = Vec::new();
    for entity in &cfg.encryption_entities {
        provider_id(&entity.provider_id)?;
        if entity.field_patterns.is_empty() {
            return Err(invalid(format!(
                "profile {:?}: at least one field pattern is required",
                cfg.name
            )));
        }
        for p in &entity.field_patterns {
            field_pattern(p)?;
            if let Some(q) = all.iter().find(|q| patterns_overlap(p, q)) {
                return Err(invalid(format!(
                    "profile {:?}: field patterns {q:?} and {p:?} overlap; CloudFront requires non-overlapping patterns",
                    cfg.name
                )));
            }
            all.push(p);
        }
    }
    if all.len() > MAX_FIELDS_PER_PROFILE {
        return Err(invalid(format!(
            "profile {:?} has {} field patterns; CloudFront allows at most {MAX_FIELDS_PER_PROFILE}",
            cfg.name,
            all.len()
        )));
    }
    Ok(())
}

/// Checks one configuration on its own: formats, distinct content types and query args, counts.
pub fn config_body(cfg: &ConfigBody) -> Result<(), StoreError> {
    comment(&cfg.comment)?;
    let ct = &cfg.content_type_profile_config.content_type_profiles;
    for (i, m) in ct.iter().enumerate() {
        if m.format != FORMAT_URLENCODED {
            return Err(invalid(format!(
                "content type format {:?} is not supported; use {FORMAT_URLENCODED}",
                m.format
            )));
        }
        if m.content_type.is_empty() || m.content_type.chars().any(|c| !c.is_ascii_graphic()) {
            return Err(invalid(format!(
                "content type {:?} is not a media type",
                m.content_type
            )));
        }
        if ct
            .iter()
            .take(i)
            .any(|o| o.content_type.eq_ignore_ascii_case(&m.content_type))
        {
            return Err(invalid(format!(
                "content type {:?} is mapped twice",
                m.content_type
            )));
        }
    }
    let qa = &cfg.query_arg_profile_config.query_arg_profiles;
    if qa.len() > MAX_QUERY_ARG_PROFILES {
        return Err(invalid(format!(
            "{} query-argument mappings; CloudFront allows at most {MAX_QUERY_ARG_PROFILES}",
            qa.len()
        )));
    }
    for (i, m) in qa.iter().enumerate() {
        check_chars("query argument", &m.query_arg, &['-', '_'])?;
        if qa.iter().take(i).any(|o| o.query_arg == m.query_arg) {
            return Err(invalid(format!(
                "query argument {:?} is mapped twice",
                m.query_arg
            )));
        }
    }
    if ct.is_empty() && qa.is_empty() {
        return Err(invalid(
            "a configuration needs a content-type or a query-argument mapping".into(),
        ));
    }
    Ok(())
}

/// A Lambda function name or ARN (unqualified): letters, digits, `-`, `_`, and `:` of an ARN,
/// 1 to 140 characters. The local keystore also makes a file name of it, so no `/` or `.`.
pub fn edge_function_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 140
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "edge function {name:?}: expected a Lambda function name or ARN (letters, digits, - _ :)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_cases() {
        assert!(patterns_overlap("card", "card"));
        assert!(!patterns_overlap("card", "cardx"));
        assert!(patterns_overlap("card*", "cardx"));
        assert!(patterns_overlap("cardx", "card*"));
        assert!(patterns_overlap("ca*", "card*"));
        assert!(!patterns_overlap("card*", "cvv*"));
        assert!(!patterns_overlap("cvv", "card*"));
    }

    #[test]
    fn pattern_syntax() {
        for ok in ["card", "card*", "user[0].ssn", "a-b_c*"] {
            assert!(field_pattern(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "*",
            "ca*rd",
            "card**",
            "card name",
            "caf\u{e9}",
            &"a".repeat(129),
        ] {
            assert!(field_pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(key_name("key_1-a").is_ok());
        assert!(key_name("key:1").is_err());
        assert!(provider_id("prov:1_a-b").is_ok());
        assert!(provider_id("prov/1").is_err());
        assert!(profile_name(&"p".repeat(128)).is_ok());
        assert!(profile_name(&"p".repeat(129)).is_err());
        assert!(profile_name("").is_err());
    }

    proptest::proptest! {
        #[test]
        fn rules_never_panic_and_overlap_is_symmetric(a in "\\PC{0,140}", b in "[a-c*]{0,4}", c in "[a-c*]{0,4}") {
            let _ = field_pattern(&a);
            let _ = key_name(&a);
            let _ = provider_id(&a);
            let _ = profile_name(&a);
            let _ = comment(&a);
            proptest::prop_assert_eq!(patterns_overlap(&b, &c), patterns_overlap(&c, &b));
            // A pattern always overlaps itself.
            if field_pattern(&b).is_ok() {
                proptest::prop_assert!(patterns_overlap(&b, &b));
            }
        }

        #[test]
        fn overlap_means_a_common_field_name(p in "[ab]{1,3}\\*?", q in "[ab]{1,3}\\*?") {
            // Brute force over every field name of length <= 4 from the same alphabet.
            let matches = |pat: &str, name: &str| match pat.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => pat == name,
            };
            let mut names = vec![String::new()];
            for _ in 0..4 {
                let next: Vec<String> = names.iter().flat_map(|n| [format!("{n}a"), format!("{n}b")]).collect();
                names.extend(next);
            }
            let common = names.iter().any(|n| matches(&p, n) && matches(&q, n));
            proptest::prop_assert_eq!(patterns_overlap(&p, &q), common);
        }
    }
}
