//! Reading IAM and KMS policy documents: who is allowed an action, on what.
//!
//! Deliberately conservative: a statement whose conditions might narrow a grant still counts as
//! the grant (an audit that guesses in the auditee's favour proves nothing), `NotAction` and
//! `NotPrincipal` count as granting everything they do not name, and a document that cannot be
//! read fails the control instead of passing it.

use serde_json::Value;

/// One `Allow` statement, normalised to lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// `Sid`, when present (for evidence).
    pub sid: Option<String>,
    /// AWS principals (ARNs, account ids or `*`); empty in identity policies.
    pub principals: Vec<String>,
    /// Whether the statement grants everything but `actions` (`NotAction`).
    pub not_action: bool,
    pub actions: Vec<String>,
    /// Whether the statement applies to everything but `resources` (`NotResource`).
    pub not_resource: bool,
    pub resources: Vec<String>,
}

/// Why a policy document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable policy document: {0}")]
pub struct PolicyError(&'static str);

/// The `Allow` statements of a policy document (JSON text; IAM's URL-encoded form is decoded).
///
/// # Errors
/// The text is not a policy document.
pub fn allow_grants(document: &str) -> Result<Vec<Grant>, PolicyError> {
    let decoded;
    let text = if document.trim_start().starts_with('{') {
        document
    } else {
        decoded = percent_decode(document).ok_or(PolicyError("bad URL encoding"))?;
        &decoded
    };
    let doc: Value = serde_json::from_str(text).map_err(|_| PolicyError("not JSON"))?;
    let statements = match doc.get("Statement") {
        Some(Value::Array(s)) => s.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return Err(PolicyError("no Statement")),
    };
    let mut grants = Vec::new();
    for s in statements {
        if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let (not_action, actions) = match (s.get("Action"), s.get("NotAction")) {
            (Some(a), None) => (false, strings(a)?),
            (None, Some(a)) => (true, strings(a)?),
            _ => return Err(PolicyError("a statement needs Action or NotAction")),
        };
        let (not_resource, resources) = match (s.get("Resource"), s.get("NotResource")) {
            (Some(r), None) => (false, strings(r)?),
            (None, Some(r)) => (true, strings(r)?),
            (None, None) => (false, Vec::new()),
            _ => return Err(PolicyError("both Resource and NotResource")),
        };
        let principals = match (s.get("Principal"), s.get("NotPrincipal")) {
            (None, None) => Vec::new(),
            (Some(Value::String(p)), None) => vec![p.clone()],
            (Some(Value::Object(p)), None) => match p.get("AWS") {
                Some(a) => strings(a)?,
                // Service principals only: no AWS identity of the account.
                None => Vec::new(),
            },
            // NotPrincipal: everyone but the named ones.
            (None, Some(_)) => vec!["*".to_owned()],
            _ => return Err(PolicyError("bad Principal")),
        };
        grants.push(Grant {
            sid: s.get("Sid").and_then(Value::as_str).map(str::to_owned),
            principals,
            not_action,
            actions,
            not_resource,
            resources,
        });
    }
    Ok(grants)
}

fn strings(v: &Value) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or(PolicyError("a list of strings was expected"))
            })
            .collect(),
        _ => Err(PolicyError("a string or a list of strings was expected")),
    }
}

impl Grant {
    /// Whether the statement allows `action` (e.g. `kms:Decrypt`), IAM wildcards included.
    pub fn allows_action(&self, action: &str) -> bool {
        let named = self.actions.iter().any(|a| glob_match_ci(a, action));
        named != self.not_action
    }
}

/// IAM's wildcard match (`*` any run, `?` one character), case-insensitive as action names are.
pub fn glob_match_ci(pattern: &str, text: &str) -> bool {
    glob_match(
        &pattern.to_ascii_lowercase().chars().collect::<Vec<_>>(),
        &text.to_ascii_lowercase().chars().collect::<Vec<_>>(),
    )
}

/// IAM's wildcard match, case-sensitive (resource ARNs).
pub fn glob_match_cs(pattern: &str, text: &str) -> bool {
    glob_match(
        &pattern.chars().collect::<Vec<_>>(),
        &text.chars().collect::<Vec<_>>(),
    )
}

fn glob_match(p: &[char], t: &[char]) -> bool {
    // Iterative with one backtrack point: linear in practice, never exponential.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match (p.get(pi), t.get(ti)) {
            (Some('*'), _) => {
                star = Some((pi, ti));
                pi += 1;
            }
            (Some('?'), _) => {
                pi += 1;
                ti += 1;
            }
            (Some(a), Some(b)) if a == b => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// `%XX` decoding of IAM's URL-encoded policy documents.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(if b == b'+' { b' ' } else { b });
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Every principal a key policy lets use `action`, with the statement that does it.
pub fn principals_allowed(grants: &[Grant], action: &str) -> Vec<(String, Option<String>)> {
    grants
        .iter()
        .filter(|g| g.allows_action(action))
        .flat_map(|g| g.principals.iter().map(|p| (p.clone(), g.sid.clone())))
        .collect()
}

/// The resources an identity policy lets `action` reach; `None` in place of a resource list
/// means "everything but" (`NotResource`), which no scope check can accept.
pub fn resources_allowed(grants: &[Grant], action: &str) -> Vec<Option<String>> {
    grants
        .iter()
        .filter(|g| g.allows_action(action))
        .flat_map(|g| {
            if g.not_resource {
                vec![None]
            } else {
                g.resources.iter().cloned().map(Some).collect()
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(glob_match_ci("kms:*", "kms:Decrypt"));
        assert!(glob_match_ci("KMS:decrypt", "kms:Decrypt"));
        assert!(glob_match_ci("kms:De*", "kms:Decrypt"));
        assert!(glob_match_ci("*", "kms:Decrypt"));
        assert!(glob_match_ci("kms:?ecrypt", "kms:Decrypt"));
        assert!(!glob_match_ci("kms:Encrypt", "kms:Decrypt"));
        assert!(!glob_match_ci("kms:Decrypt*x", "kms:Decrypt"));
        assert!(glob_match_cs(
            "arn:aws:execute-api:us-east-1:1:abc/*",
            "arn:aws:execute-api:us-east-1:1:abc/prod/POST/x"
        ));
        assert!(!glob_match_cs(
            "arn:aws:execute-api:us-east-1:1:abc/*",
            "arn:aws:execute-api:us-east-1:1:abd/prod"
        ));
        assert!(!glob_match_ci(&"*a".repeat(30), &"a".repeat(29)));
    }

    #[test]
    fn key_policy_principals() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
          {"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:role/admin"},"Action":["kms:Put*","kms:Describe*"],"Resource":"*"},
          {"Sid":"backend","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:role/backend"]},"Action":"kms:Decrypt","Resource":"*"},
          {"Sid":"all","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"NotAction":"kms:Encrypt","Resource":"*"},
          {"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}]}"#;
        let g = allow_grants(doc).unwrap();
        let who: Vec<String> = principals_allowed(&g, "kms:Decrypt")
            .into_iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(who, ["arn:aws:iam::1:role/backend", "arn:aws:iam::1:root"]);
    }

    #[test]
    fn iam_documents_are_url_encoded() {
        let doc = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22execute-api%3AInvoke%22%2C%22Resource%22%3A%22arn%3Ax%2F*%22%7D%5D%7D";
        let g = allow_grants(doc).unwrap();
        assert_eq!(
            resources_allowed(&g, "execute-api:Invoke"),
            [Some("arn:x/*".to_owned())]
        );
        assert!(allow_grants("%7").is_err());
        assert!(allow_grants("{}").is_err());
    }
}
