//! The function's configuration, from its environment variables.
//!
//! | variable | meaning |
//! | --- | --- |
//! | `FLE_KEYRING_SECRET` | Secrets Manager secret id(s) or ARN(s), comma-separated, each holding one provider's keyring document (what `fle --backend aws` writes: `fle/keyring/<provider>`) |
//! | `FLE_KEYRING_PARAMETER` | SSM SecureString parameter name(s), comma-separated, same document (`fle --private-key-store ssm` writes `/fle/keyring/<provider>`) |
//! | `FLE_PRIVATE_KEY_KMS` | base64 KMS ciphertext of one private key (PEM or DER); needs `FLE_PROVIDER` and `FLE_KEY_NAME` |
//! | `FLE_PROVIDER` | the provider id; with a keyring source, the documents must be this provider's |
//! | `FLE_KEY_NAME` | the CloudFront public key name of the KMS-encrypted key |
//! | `FLE_KMS_CONTEXT` | encryption context of that ciphertext: `key=value,key=value` |
//! | `FLE_FIELDS` | field patterns to decrypt, as in the FLE profile: `card_*,ssn` |
//! | `FLE_REFRESH_MIN_INTERVAL` | least time between two fetches (unknown key, retry), default `10s` |
//! | `FLE_REFRESH_INTERVAL` | periodic refresh, default `15m`; `off` disables it |
//! | `FLE_REFRESH_JITTER` | fraction of the interval taken off at random, default `0.2` |
//! | `FLE_DECRYPT_THREADS` | threads per form; default from the function's vCPUs (see [`crate::threads`]) |
//!
//! Exactly one of the three sources must be set. Errors name the variable and the expected
//! shape, never the value.

use std::time::Duration;

use base64::Engine as _;
use fle_decrypt::form::FieldPatterns;

use crate::aws::SourceSpec;
use crate::cache::RefreshPolicy;

/// Environment variable names.
pub mod var {
    /// Secrets Manager keyring secret id(s)/ARN(s).
    pub const KEYRING_SECRET: &str = "FLE_KEYRING_SECRET";
    /// SSM keyring parameter name(s).
    pub const KEYRING_PARAMETER: &str = "FLE_KEYRING_PARAMETER";
    /// Base64 KMS ciphertext of one private key.
    pub const PRIVATE_KEY_KMS: &str = "FLE_PRIVATE_KEY_KMS";
    /// Provider id.
    pub const PROVIDER: &str = "FLE_PROVIDER";
    /// Key name of the KMS-encrypted key.
    pub const KEY_NAME: &str = "FLE_KEY_NAME";
    /// Encryption context of the KMS ciphertext.
    pub const KMS_CONTEXT: &str = "FLE_KMS_CONTEXT";
    /// Field patterns.
    pub const FIELDS: &str = "FLE_FIELDS";
    /// Least time between fetches.
    pub const REFRESH_MIN_INTERVAL: &str = "FLE_REFRESH_MIN_INTERVAL";
    /// Periodic refresh interval.
    pub const REFRESH_INTERVAL: &str = "FLE_REFRESH_INTERVAL";
    /// Jitter fraction.
    pub const REFRESH_JITTER: &str = "FLE_REFRESH_JITTER";
    /// Decryption threads per form.
    pub const DECRYPT_THREADS: &str = "FLE_DECRYPT_THREADS";
}

/// Why the configuration was refused: the variable and what it should hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {expected}")]
pub struct ConfigError {
    /// The variable.
    pub var: &'static str,
    /// What it should hold.
    pub expected: &'static str,
}

fn bad(var: &'static str, expected: &'static str) -> ConfigError {
    ConfigError { var, expected }
}

/// The function's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the keys are.
    pub source: SourceSpec,
    /// The fields to decrypt (`None` when `FLE_FIELDS` is unset: form helpers then refuse).
    pub fields: Option<FieldPatterns>,
    /// When the keys are fetched again.
    pub refresh: RefreshPolicy,
    /// Threads per form (`None`: decided from the function's vCPUs).
    pub threads: Option<usize>,
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable that is missing or wrong.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a test's map).
    ///
    /// # Errors
    /// As [`Config::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let provider = get(var::PROVIDER).map(|p| p.trim().to_owned());
        let list = |v: String| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let secret = get(var::KEYRING_SECRET);
        let parameter = get(var::KEYRING_PARAMETER);
        let kms = get(var::PRIVATE_KEY_KMS);
        const ONE_SOURCE: &str =
            "set exactly one of FLE_KEYRING_SECRET, FLE_KEYRING_PARAMETER, FLE_PRIVATE_KEY_KMS";
        let source = match (secret, parameter, kms) {
            (Some(s), None, None) => SourceSpec::SecretsManager {
                secret_ids: list(s),
                provider_id: provider,
            },
            (None, Some(p), None) => SourceSpec::Ssm {
                names: list(p),
                provider_id: provider,
            },
            (None, None, Some(k)) => {
                let ciphertext = base64::engine::general_purpose::STANDARD
                    .decode(k.trim())
                    .map_err(|_| bad(var::PRIVATE_KEY_KMS, "base64 of a KMS ciphertext blob"))?;
                let provider_id = provider.ok_or(bad(
                    var::PROVIDER,
                    "the provider id the KMS-encrypted key decrypts for",
                ))?;
                let key_name = get(var::KEY_NAME).map(|k| k.trim().to_owned()).ok_or(bad(
                    var::KEY_NAME,
                    "the CloudFront public key name of the KMS-encrypted key",
                ))?;
                let context = match get(var::KMS_CONTEXT) {
                    Some(c) => parse_context(&c)?,
                    None => Vec::new(),
                };
                SourceSpec::Kms {
                    ciphertext,
                    provider_id,
                    key_name,
                    context,
                }
            }
            _ => return Err(bad(var::KEYRING_SECRET, ONE_SOURCE)),
        };
        if let Some(feature) = source.missing_feature() {
            let var = match feature {
                "secrets-manager" => var::KEYRING_SECRET,
                "ssm" => var::KEYRING_PARAMETER,
                _ => var::PRIVATE_KEY_KMS,
            };
            return Err(bad(
                var,
                "a key source this function was built without (cargo features of fle-lambda: secrets-manager, ssm, kms)",
            ));
        }
        if let SourceSpec::SecretsManager { secret_ids: v, .. } | SourceSpec::Ssm { names: v, .. } =
            &source
        {
            if v.is_empty() {
                return Err(bad(var::KEYRING_SECRET, "at least one name"));
            }
        }
        let fields = match get(var::FIELDS) {
            Some(f) => Some(FieldPatterns::parse(&f).map_err(|_| {
                bad(
                    var::FIELDS,
                    "comma-separated field patterns (name or prefix*), as in the FLE profile",
                )
            })?),
            None => None,
        };
        let defaults = RefreshPolicy::default();
        let min_interval = match get(var::REFRESH_MIN_INTERVAL) {
            Some(v) => {
                duration(&v).ok_or(bad(var::REFRESH_MIN_INTERVAL, "a duration, e.g. 10s"))?
            }
            None => defaults.min_interval,
        };
        let periodic = match get(var::REFRESH_INTERVAL) {
            Some(v) if matches!(v.trim(), "off" | "0" | "0s") => None,
            Some(v) => Some(
                duration(&v).ok_or(bad(var::REFRESH_INTERVAL, "a duration, e.g. 15m, or off"))?,
            ),
            None => defaults.periodic,
        };
        let jitter = match get(var::REFRESH_JITTER) {
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|j| (0.0..=1.0).contains(j))
                .ok_or(bad(var::REFRESH_JITTER, "a number from 0 to 1"))?,
            None => defaults.jitter,
        };
        let threads = match get(var::DECRYPT_THREADS) {
            Some(v) => Some(
                v.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=64).contains(n))
                    .ok_or(bad(
                        var::DECRYPT_THREADS,
                        "a number of threads from 1 to 64",
                    ))?,
            ),
            None => None,
        };
        Ok(Self {
            source,
            fields,
            refresh: RefreshPolicy {
                min_interval,
                periodic,
                jitter,
            },
            threads,
        })
    }
}

fn duration(v: &str) -> Option<Duration> {
    humantime::parse_duration(v.trim()).ok()
}

fn parse_context(text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or(bad(var::KMS_CONTEXT, "key=value pairs separated by commas"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|n| map.get(n).cloned())
    }

    #[test]
    fn each_source() {
        let c = cfg(&[
            ("FLE_KEYRING_SECRET", "fle/keyring/a, fle/keyring/b"),
            ("FLE_FIELDS", "card_*,ssn"),
        ])
        .unwrap();
        assert_eq!(
            c.source,
            SourceSpec::SecretsManager {
                secret_ids: vec!["fle/keyring/a".into(), "fle/keyring/b".into()],
                provider_id: None
            }
        );
        assert_eq!(c.refresh, RefreshPolicy::default());
        assert!(c.fields.unwrap().matches(b"card_number"));

        let c = cfg(&[
            ("FLE_KEYRING_PARAMETER", "/fle/keyring/p"),
            ("FLE_PROVIDER", "p"),
        ])
        .unwrap();
        assert_eq!(
            c.source,
            SourceSpec::Ssm {
                names: vec!["/fle/keyring/p".into()],
                provider_id: Some("p".into())
            }
        );

        let c = cfg(&[
            ("FLE_PRIVATE_KEY_KMS", "AQID"),
            ("FLE_PROVIDER", "p"),
            ("FLE_KEY_NAME", "k"),
            ("FLE_KMS_CONTEXT", "app=checkout, env=prod"),
            ("FLE_REFRESH_INTERVAL", "off"),
            ("FLE_REFRESH_MIN_INTERVAL", "2s"),
            ("FLE_DECRYPT_THREADS", "2"),
        ])
        .unwrap();
        assert_eq!(
            c.source,
            SourceSpec::Kms {
                ciphertext: vec![1, 2, 3],
                provider_id: "p".into(),
                key_name: "k".into(),
                context: vec![
                    ("app".into(), "checkout".into()),
                    ("env".into(), "prod".into())
                ],
            }
        );
        assert_eq!(c.refresh.periodic, None);
        assert_eq!(c.refresh.min_interval, Duration::from_secs(2));
        assert_eq!(c.threads, Some(2));
    }

    #[test]
    fn refusals_name_the_variable_never_the_value() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "FLE_KEYRING_SECRET"),
            (
                &[("FLE_KEYRING_SECRET", "a"), ("FLE_KEYRING_PARAMETER", "b")],
                "FLE_KEYRING_SECRET",
            ),
            (
                &[("FLE_PRIVATE_KEY_KMS", "sekrit!!")],
                "FLE_PRIVATE_KEY_KMS",
            ),
            (&[("FLE_PRIVATE_KEY_KMS", "AQID")], "FLE_PROVIDER"),
            (
                &[("FLE_PRIVATE_KEY_KMS", "AQID"), ("FLE_PROVIDER", "p")],
                "FLE_KEY_NAME",
            ),
            (
                &[
                    ("FLE_PRIVATE_KEY_KMS", "AQID"),
                    ("FLE_PROVIDER", "p"),
                    ("FLE_KEY_NAME", "k"),
                    ("FLE_KMS_CONTEXT", "sekrit"),
                ],
                "FLE_KMS_CONTEXT",
            ),
            (
                &[("FLE_KEYRING_SECRET", "a"), ("FLE_FIELDS", "a b")],
                "FLE_FIELDS",
            ),
            (
                &[
                    ("FLE_KEYRING_SECRET", "a"),
                    ("FLE_REFRESH_INTERVAL", "soon"),
                ],
                "FLE_REFRESH_INTERVAL",
            ),
            (
                &[("FLE_KEYRING_SECRET", "a"), ("FLE_REFRESH_JITTER", "2")],
                "FLE_REFRESH_JITTER",
            ),
            (
                &[("FLE_KEYRING_SECRET", "a"), ("FLE_DECRYPT_THREADS", "0")],
                "FLE_DECRYPT_THREADS",
            ),
            (&[("FLE_KEYRING_SECRET", " , ")], "FLE_KEYRING_SECRET"),
        ];
        for (vars, want) in cases {
            let e = cfg(vars).unwrap_err();
            assert_eq!(e.var, *want, "{vars:?}");
            assert!(!e.to_string().contains("sekrit"), "{e}");
        }
    }
}
