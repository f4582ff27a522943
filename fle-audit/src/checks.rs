//! The controls: what is read for each, and when it passes.

use std::collections::BTreeSet;

use base64::Engine as _;
use fle_decrypt::document::{KeyStatus, KeyringDocument};

use crate::policy::{allow_grants, principals_allowed, resources_allowed};
use crate::read::{self, Clients};
use crate::{AuditError, Control, Finding, Report, Target};

/// The backend's environment variable naming its keyring secret (docs/backend.md).
const KEYRING_SECRET_VAR: &str = "FLE_KEYRING_SECRET";

fn finding(control: Control, failures: Vec<String>, proof: Vec<String>) -> Finding {
    let passed = failures.is_empty();
    Finding {
        control,
        passed,
        evidence: if passed { proof } else { failures },
    }
}

fn unreadable(control: Control, why: impl Into<String>) -> Finding {
    Finding {
        control,
        passed: false,
        evidence: vec![why.into()],
    }
}

/// Runs every control against the account `conf` reaches.
///
/// # Errors
/// [`AuditError::Distribution`] when the distribution itself cannot be read; every other
/// unreadable resource fails the controls that need it.
pub async fn audit(conf: &aws_config::SdkConfig, target: &Target) -> Result<Report, AuditError> {
    let c = Clients::new(conf);
    let dist = read::distribution(&c, &target.distribution_id)
        .await
        .map_err(|reason| AuditError::Distribution {
            id: target.distribution_id.clone(),
            reason,
        })?;
    let mut findings = vec![post_encrypt(&dist), post_signed(&dist)];

    // The API behind the distribution, from its execute-api origin.
    let apis: Vec<(String, String, String)> = dist
        .origins
        .iter()
        .filter_map(|o| api_of_domain(&o.domain).map(|(id, region)| (id, region, o.path.clone())))
        .collect();
    let mut backend_functions = BTreeSet::new();
    let mut api_failures = Vec::new();
    let mut api_proof = Vec::new();
    if apis.is_empty() {
        api_failures.push(
            "no origin of the distribution is a REST API (<id>.execute-api.<region>.amazonaws.com)"
                .to_owned(),
        );
    }
    for (api, _, _) in &apis {
        match read::api_methods(&c, api).await {
            Err(e) => api_failures.push(format!("API {api}: {e}")),
            Ok(methods) if methods.is_empty() => {
                api_failures.push(format!("API {api} has no method"))
            }
            Ok(methods) => {
                for m in &methods {
                    if m.authorization != "AWS_IAM" || !m.api_key_required {
                        api_failures.push(format!(
                            "API {api} {} {}: authorization {}, API key {}",
                            m.http_method,
                            m.path,
                            m.authorization,
                            if m.api_key_required {
                                "required"
                            } else {
                                "not required"
                            }
                        ));
                    }
                    match read::integration_function(&c, api, m).await {
                        Ok(Some(f)) => {
                            backend_functions.insert(f);
                        }
                        Ok(None) => {}
                        Err(e) => api_failures
                            .push(format!("API {api} {} {}: {e}", m.http_method, m.path)),
                    }
                }
                api_proof.push(format!(
                    "API {api}: {} methods, each AWS_IAM with an API key required",
                    methods.len()
                ));
            }
        }
    }
    findings.push(finding(
        Control::ApiRequiresIamAndKey,
        api_failures,
        api_proof,
    ));
    findings.push(edge_role(&c, &dist, &apis).await);

    // The backend: its keyring secret, KMS key and log group.
    let mut backends = Vec::new();
    for f in &backend_functions {
        match read::function(&c, f).await {
            Ok(conf) => backends.push((f.clone(), conf)),
            Err(e) => {
                findings.push(unreadable(
                    Control::SecretUsesCustomerKey,
                    format!("backend {f}: {e}"),
                ));
            }
        }
    }
    findings.extend(keyring_controls(&c, &dist, &backends, target).await);
    findings.push(log_masking(&c, &backends).await);

    // One finding per control: where several were produced (one per backend), failures win.
    let mut merged: Vec<Finding> = Vec::new();
    for control in Control::ALL {
        let mine: Vec<&Finding> = findings.iter().filter(|f| f.control == control).collect();
        let passed = !mine.is_empty() && mine.iter().all(|f| f.passed);
        let evidence = if mine.is_empty() {
            vec!["nothing to check it against was found".to_owned()]
        } else {
            mine.iter()
                .filter(|f| f.passed == passed)
                .flat_map(|f| f.evidence.iter().cloned())
                .collect()
        };
        merged.push(Finding {
            control,
            passed,
            evidence,
        });
    }
    Ok(Report {
        distribution_id: target.distribution_id.clone(),
        passed: merged.iter().all(|f| f.passed),
        findings: merged,
    })
}

/// `abc123.execute-api.us-east-1.amazonaws.com` → (`abc123`, `us-east-1`).
pub(crate) fn api_of_domain(domain: &str) -> Option<(String, String)> {
    let mut parts = domain.split('.');
    let (id, svc, region) = (parts.next()?, parts.next()?, parts.next()?);
    (svc == "execute-api" && !id.is_empty() && !region.is_empty())
        .then(|| (id.to_owned(), region.to_owned()))
}

pub(crate) fn post_encrypt(d: &read::Distribution) -> Finding {
    let post: Vec<_> = d.behaviors.iter().filter(|b| b.accepts_post).collect();
    let mut failures = Vec::new();
    if post.is_empty() {
        failures.push("no cache behavior accepts POST".to_owned());
    }
    for b in &post {
        if b.fle_config_id.is_none() {
            failures.push(format!(
                "behavior {:?} accepts POST without a field-level encryption configuration",
                b.path
            ));
        }
        if !b.viewer_https_only {
            failures.push(format!("behavior {:?} accepts POST over HTTP", b.path));
        }
    }
    let proof = post
        .iter()
        .map(|b| {
            format!(
                "behavior {:?}: FLE configuration {}, HTTPS only",
                b.path,
                b.fle_config_id.clone().unwrap_or_default()
            )
        })
        .collect();
    finding(Control::PostBehaviorsEncrypt, failures, proof)
}

pub(crate) fn post_signed(d: &read::Distribution) -> Finding {
    let mut failures = Vec::new();
    let mut proof = Vec::new();
    for b in d.behaviors.iter().filter(|b| b.accepts_post) {
        match b.origin_request.as_slice() {
            [] => failures.push(format!(
                "behavior {:?}: no origin-request function signs it",
                b.path
            )),
            assocs => {
                for (arn, body) in assocs {
                    if *body {
                        proof.push(format!(
                            "behavior {:?}: origin-request {arn} with the body",
                            b.path
                        ));
                    } else {
                        failures.push(format!(
                            "behavior {:?}: origin-request {arn} without IncludeBody",
                            b.path
                        ));
                    }
                }
            }
        }
    }
    for o in &d.origins {
        if api_of_domain(&o.domain).is_some() && !o.has_api_key_header {
            failures.push(format!(
                "origin {}: no x-api-key origin custom header",
                o.domain
            ));
        }
    }
    finding(Control::PostBehaviorsSigned, failures, proof)
}

async fn edge_role(
    c: &Clients,
    d: &read::Distribution,
    apis: &[(String, String, String)],
) -> Finding {
    let control = Control::EdgeRoleScopedToApi;
    let functions: BTreeSet<&String> = d
        .behaviors
        .iter()
        .flat_map(|b| b.origin_request.iter().map(|a| &a.0))
        .collect();
    if functions.is_empty() {
        return unreadable(control, "no origin-request function is associated");
    }
    let mut failures = Vec::new();
    let mut proof = Vec::new();
    for f in functions {
        let role = match read::function(c, f).await {
            Ok(conf) => conf.role,
            Err(e) => {
                failures.push(format!("function {f}: {e}"));
                continue;
            }
        };
        let mut arn = role.split(':');
        let (partition, account) = (arn.nth(1).unwrap_or("aws"), arn.nth(2));
        let Some(account) = account.filter(|a| !a.is_empty()) else {
            failures.push(format!(
                "function {f}: role {role:?} is not an IAM role ARN"
            ));
            continue;
        };
        let allowed: Vec<String> = apis
            .iter()
            .map(|(api, region, _)| {
                format!("arn:{partition}:execute-api:{region}:{account}:{api}/")
            })
            .collect();
        match read::role_policies(c, &role).await {
            Err(e) => failures.push(format!("role {role}: {e}")),
            Ok(docs) => {
                let mut grants = 0;
                for (name, doc) in docs {
                    let Ok(g) = allow_grants(&doc) else {
                        failures.push(format!("role {role}, {name}: unreadable policy document"));
                        continue;
                    };
                    for r in resources_allowed(&g, "execute-api:Invoke") {
                        grants += 1;
                        match r {
                            Some(r) if in_scope(&r, &allowed) => {}
                            Some(r) => failures
                                .push(format!("role {role}, {name}: execute-api:Invoke on {r}")),
                            None => failures.push(format!(
                                "role {role}, {name}: execute-api:Invoke with NotResource"
                            )),
                        }
                    }
                }
                if grants == 0 {
                    failures.push(format!(
                        "role {role} may not invoke the API at all: the signer cannot work"
                    ));
                } else {
                    proof.push(format!(
                        "function {f}: role {role} may invoke only {}",
                        allowed.join(", ")
                    ));
                }
            }
        }
    }
    finding(control, failures, proof)
}

/// Whether an Invoke resource stays inside one of the allowed API prefixes: the prefix must
/// stand literally at its start, so no wildcard can reach another API, region or account.
pub(crate) fn in_scope(resource: &str, allowed_prefixes: &[String]) -> bool {
    allowed_prefixes
        .iter()
        .any(|p| resource.starts_with(p.as_str()))
}

async fn keyring_controls(
    c: &Clients,
    d: &read::Distribution,
    backends: &[(String, read::Function)],
    target: &Target,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if backends.is_empty() {
        for control in [
            Control::SecretUsesCustomerKey,
            Control::KmsOnlyExpectedDecryptors,
            Control::ProfileKeysInKeyring,
            Control::NoKeyPastRetirement,
        ] {
            out.push(unreadable(
                control,
                "no backend function found behind the API",
            ));
        }
        return out;
    }
    for (fname, f) in backends {
        let Some(secret) = f.env.get(KEYRING_SECRET_VAR) else {
            for control in [
                Control::SecretUsesCustomerKey,
                Control::KmsOnlyExpectedDecryptors,
                Control::ProfileKeysInKeyring,
                Control::NoKeyPastRetirement,
            ] {
                out.push(unreadable(
                    control,
                    format!("backend {fname} has no {KEYRING_SECRET_VAR}"),
                ));
            }
            continue;
        };
        // The secret's key: customer-managed, and only the expected principals decrypt.
        match read::secret_kms_key(c, secret).await {
            Err(e) => {
                out.push(unreadable(
                    Control::SecretUsesCustomerKey,
                    format!("secret {secret}: {e}"),
                ));
                out.push(unreadable(
                    Control::KmsOnlyExpectedDecryptors,
                    format!("secret {secret}: {e}"),
                ));
            }
            Ok(None) => {
                out.push(unreadable(
                    Control::SecretUsesCustomerKey,
                    format!(
                        "secret {secret} is encrypted with the AWS managed key aws/secretsmanager"
                    ),
                ));
                out.push(unreadable(
                    Control::KmsOnlyExpectedDecryptors,
                    format!("secret {secret} uses the AWS managed key, whose policy lets every principal of the account with secret access decrypt"),
                ));
            }
            Ok(Some(key)) => match read::kms_key(c, &key).await {
                Err(e) => {
                    out.push(unreadable(
                        Control::SecretUsesCustomerKey,
                        format!("key {key}: {e}"),
                    ));
                    out.push(unreadable(
                        Control::KmsOnlyExpectedDecryptors,
                        format!("key {key}: {e}"),
                    ));
                }
                Ok((arn, customer)) => {
                    out.push(if customer {
                        finding(
                            Control::SecretUsesCustomerKey,
                            vec![],
                            vec![format!("secret {secret}: customer-managed key {arn}")],
                        )
                    } else {
                        unreadable(
                            Control::SecretUsesCustomerKey,
                            format!("secret {secret}: key {arn} is AWS managed"),
                        )
                    });
                    let mut expected: BTreeSet<String> =
                        target.custodians.iter().cloned().collect();
                    expected.insert(f.role.clone());
                    out.push(match read::key_policy(c, &arn).await {
                        Err(e) => unreadable(
                            Control::KmsOnlyExpectedDecryptors,
                            format!("key {arn}: {e}"),
                        ),
                        Ok(policy) => decryptors(&arn, &policy, &expected),
                    });
                }
            },
        }
        out.extend(keyring_keys(c, d, secret, target).await);
    }
    out
}

pub(crate) fn decryptors(key: &str, policy: &str, expected: &BTreeSet<String>) -> Finding {
    let control = Control::KmsOnlyExpectedDecryptors;
    let Ok(grants) = allow_grants(policy) else {
        return unreadable(control, format!("key {key}: unreadable key policy"));
    };
    let mut failures = Vec::new();
    let mut seen = BTreeSet::new();
    for (principal, sid) in principals_allowed(&grants, "kms:Decrypt") {
        if expected.contains(&principal) {
            seen.insert(principal);
        } else {
            failures.push(format!(
                "key {key}: statement {} lets {principal} decrypt",
                sid.unwrap_or_else(|| "(no Sid)".to_owned())
            ));
        }
    }
    let proof = vec![format!(
        "key {key}: only {} may decrypt",
        seen.into_iter().collect::<Vec<_>>().join(", ")
    )];
    finding(control, failures, proof)
}

async fn keyring_keys(
    c: &Clients,
    d: &read::Distribution,
    secret: &str,
    target: &Target,
) -> Vec<Finding> {
    let doc = match read::secret_text(c, secret).await {
        Err(e) => {
            let why = format!(
                "secret {secret}: {e} (the audit must run as a key custodian to read the keyring)"
            );
            return vec![
                unreadable(Control::ProfileKeysInKeyring, why.clone()),
                unreadable(Control::NoKeyPastRetirement, why),
            ];
        }
        Ok(text) => match KeyringDocument::parse(text.as_bytes()) {
            Ok(doc) => doc,
            Err(e) => {
                let why = format!("secret {secret}: not a keyring document ({e})");
                return vec![
                    unreadable(Control::ProfileKeysInKeyring, why.clone()),
                    unreadable(Control::NoKeyPastRetirement, why),
                ];
            }
        },
    };
    let public = match read::public_keys(c).await {
        Ok(k) => k,
        Err(e) => {
            return vec![
                unreadable(Control::ProfileKeysInKeyring, e.clone()),
                unreadable(Control::NoKeyPastRetirement, e),
            ]
        }
    };
    let mut entities = Vec::new();
    let mut failures = Vec::new();
    let configs: BTreeSet<&String> = d
        .behaviors
        .iter()
        .filter_map(|b| b.fle_config_id.as_ref())
        .collect();
    for cfg in configs {
        match read::fle_entities(c, cfg).await {
            Ok(e) => entities.extend(e),
            Err(e) => failures.push(format!("FLE configuration {cfg}: {e}")),
        }
    }
    let mut proof = Vec::new();
    for (profile, key_id, provider) in &entities {
        if *provider != doc.provider_id {
            // Another provider's keyring is another backend's business.
            continue;
        }
        let Some((_, name, pem)) = public.iter().find(|k| k.0 == *key_id) else {
            failures.push(format!(
                "profile {profile}: public key {key_id} does not exist"
            ));
            continue;
        };
        match doc.get(name) {
            None => failures.push(format!(
                "profile {profile}: public key {name} has no private key in secret {secret}"
            )),
            Some(entry) => match entry
                .private_key_pem
                .parse()
                .and_then(|k| k.public_key_der())
            {
                Err(e) => failures.push(format!(
                    "profile {profile}: private key {name} is unusable ({e})"
                )),
                Ok(der) if spki_der(pem).as_deref() == Some(der.as_slice()) => {
                    proof.push(format!(
                        "profile {profile}: key {name} ({key_id}) has its private key, status {}",
                        entry.status
                    ));
                }
                Ok(_) => failures.push(format!(
                    "profile {profile}: private key {name} does not match the public key {key_id}"
                )),
            },
        }
    }
    if entities.iter().all(|e| e.2 != doc.provider_id) && failures.is_empty() {
        failures.push(format!(
            "no FLE profile of the distribution uses provider {:?} of secret {secret}",
            doc.provider_id
        ));
    }
    let keys_finding = finding(Control::ProfileKeysInKeyring, failures, proof);

    let mut late = Vec::new();
    for (id, name, _) in &public {
        let Some(entry) = doc.get(name) else { continue };
        if !matches!(entry.status, KeyStatus::Previous | KeyStatus::Retiring) {
            continue;
        }
        let Some(after) = entry.retire_after.as_deref() else {
            continue;
        };
        match humantime::parse_rfc3339(after) {
            Ok(t) if t <= target.now => late.push(format!(
                "public key {name} ({id}) is {} and past its retireAfter {after}: run `fle keys retire`",
                entry.status
            )),
            Ok(_) => {}
            Err(_) => late.push(format!("key {name}: retireAfter is not an RFC 3339 time")),
        }
    }
    let checked = public.iter().filter(|k| doc.get(&k.1).is_some()).count();
    let late_finding = finding(
        Control::NoKeyPastRetirement,
        late,
        vec![format!(
            "{checked} public keys of provider {:?}: none past its retireAfter",
            doc.provider_id
        )],
    );
    vec![keys_finding, late_finding]
}

/// The DER of a `-----BEGIN PUBLIC KEY-----` PEM.
fn spki_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

async fn log_masking(c: &Clients, backends: &[(String, read::Function)]) -> Finding {
    let control = Control::BackendLogsMasked;
    if backends.is_empty() {
        return unreadable(control, "no backend function found behind the API");
    }
    let mut failures = Vec::new();
    let mut proof = Vec::new();
    for (fname, f) in backends {
        match read::data_protection_policy(c, &f.log_group).await {
            Err(e) => failures.push(format!("backend {fname}, log group {}: {e}", f.log_group)),
            Ok(None) => failures.push(format!(
                "backend {fname}: log group {} has no data-protection policy",
                f.log_group
            )),
            Ok(Some(doc)) => {
                if masks(&doc) {
                    proof.push(format!(
                        "backend {fname}: log group {} masks sensitive data",
                        f.log_group
                    ));
                } else {
                    failures.push(format!(
                        "backend {fname}: the policy of log group {} does not mask (no Deidentify)",
                        f.log_group
                    ));
                }
            }
        }
    }
    finding(control, failures, proof)
}

/// Whether a data-protection policy document has a statement that de-identifies.
pub(crate) fn masks(doc: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(doc).is_ok_and(|v| {
        v.get("Statement")
            .and_then(|s| s.as_array())
            .is_some_and(|s| {
                s.iter().any(|st| {
                    st.get("Operation")
                        .and_then(|o| o.get("Deidentify"))
                        .is_some()
                        && st
                            .get("DataIdentifier")
                            .and_then(|d| d.as_array())
                            .is_some_and(|d| !d.is_empty())
                })
            })
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn api_domains() {
        assert_eq!(
            api_of_domain("abc.execute-api.eu-west-1.amazonaws.com"),
            Some(("abc".to_owned(), "eu-west-1".to_owned()))
        );
        assert_eq!(api_of_domain("abc.lambda-url.eu-west-1.on.aws"), None);
        assert_eq!(api_of_domain("example.com"), None);
    }

    #[test]
    fn invoke_scope() {
        let allowed = vec!["arn:aws:execute-api:us-east-1:1:abc/".to_owned()];
        assert!(in_scope(
            "arn:aws:execute-api:us-east-1:1:abc/prod/*",
            &allowed
        ));
        assert!(in_scope("arn:aws:execute-api:us-east-1:1:abc/*", &allowed));
        assert!(!in_scope("arn:aws:execute-api:us-east-1:1:*", &allowed));
        assert!(!in_scope(
            "arn:aws:execute-api:us-east-1:1:abcd/*",
            &allowed
        ));
        assert!(!in_scope("*", &allowed));
    }

    #[test]
    fn kms_decryptors() {
        let policy = r#"{"Statement":[
          {"Sid":"a","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:role/admin"},"Action":"kms:Put*","Resource":"*"},
          {"Sid":"b","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:role/backend"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
        let expected: BTreeSet<String> = ["arn:aws:iam::1:role/backend".to_owned()].into();
        assert!(decryptors("k", policy, &expected).passed);
        let root = policy.replace("kms:Put*", "kms:*");
        let f = decryptors("k", &root, &expected);
        assert!(!f.passed);
        assert!(f.evidence[0].contains("role/admin"), "{:?}", f.evidence);
    }

    #[test]
    fn masking_policy() {
        assert!(masks(
            r#"{"Statement":[{"DataIdentifier":["x"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}"#
        ));
        assert!(!masks(
            r#"{"Statement":[{"DataIdentifier":["x"],"Operation":{"Audit":{}}}]}"#
        ));
        assert!(!masks("not json"));
    }
}
