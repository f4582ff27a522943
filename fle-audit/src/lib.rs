//! `fle audit`: prove from a deployed account that no control of the architecture was loosened.
//!
//! Starting from one CloudFront distribution, the audit follows the deployment the way a request
//! does — distribution → FLE configuration and profiles → signing function → REST API → backend
//! function → its keyring secret, KMS key and log group — and reads each control with the
//! official SDK clients. Each [`Control`] passes or fails with its evidence; a resource that
//! cannot be read fails the controls that depend on it (an audit never passes what it could not
//! see).
//!
//! Reading the keyring secret needs the key custodian's rights (the principal that runs
//! `fle keys rotate`): nobody else can decrypt it, by design. Nothing read from it is reported
//! but key names and statuses.

mod checks;
pub mod policy;
mod read;

use std::fmt;
use std::time::SystemTime;

use serde::Serialize;

pub use checks::audit;

/// The controls, by the name reported for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
#[non_exhaustive]
pub enum Control {
    /// Every method of the REST API requires IAM authorization and an API key.
    ApiRequiresIamAndKey,
    /// Every behavior that accepts POST has a field-level encryption configuration.
    PostBehaviorsEncrypt,
    /// Every behavior that accepts POST runs the signer at origin-request, with the body.
    PostBehaviorsSigned,
    /// Every public key of the FLE profiles has its private key in the backend's keyring.
    ProfileKeysInKeyring,
    /// No CloudFront public key is past its keyring `retireAfter`.
    NoKeyPastRetirement,
    /// The KMS key policy lets only the backend role and the named custodians decrypt.
    KmsOnlyExpectedDecryptors,
    /// The keyring secret is encrypted with a customer-managed KMS key.
    SecretUsesCustomerKey,
    /// The backend's log group has a data-protection policy that masks.
    BackendLogsMasked,
    /// The signing function's role may invoke this API only.
    EdgeRoleScopedToApi,
}

impl Control {
    /// Every control, in report order.
    pub const ALL: [Control; 9] = [
        Control::PostBehaviorsEncrypt,
        Control::PostBehaviorsSigned,
        Control::ApiRequiresIamAndKey,
        Control::EdgeRoleScopedToApi,
        Control::ProfileKeysInKeyring,
        Control::NoKeyPastRetirement,
        Control::SecretUsesCustomerKey,
        Control::KmsOnlyExpectedDecryptors,
        Control::BackendLogsMasked,
    ];

    /// The stable name reported (text and JSON).
    pub fn name(self) -> &'static str {
        match self {
            Control::ApiRequiresIamAndKey => "api-requires-iam-and-api-key",
            Control::PostBehaviorsEncrypt => "post-behaviors-encrypt-fields",
            Control::PostBehaviorsSigned => "post-behaviors-signed-with-body",
            Control::ProfileKeysInKeyring => "profile-keys-in-keyring",
            Control::NoKeyPastRetirement => "no-key-past-retirement",
            Control::KmsOnlyExpectedDecryptors => "kms-only-expected-decryptors",
            Control::SecretUsesCustomerKey => "keyring-secret-customer-managed-key",
            Control::BackendLogsMasked => "backend-logs-masked",
            Control::EdgeRoleScopedToApi => "edge-role-invokes-only-this-api",
        }
    }
}

impl From<Control> for &'static str {
    fn from(c: Control) -> Self {
        c.name()
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One control's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub control: Control,
    pub passed: bool,
    /// What was read, one fact per line: the proof of a pass, the reason of a failure.
    pub evidence: Vec<String>,
}

/// The whole audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub distribution_id: String,
    pub passed: bool,
    pub findings: Vec<Finding>,
}

impl Report {
    /// The names of the failed controls.
    pub fn failed(&self) -> Vec<Control> {
        self.findings
            .iter()
            .filter(|f| !f.passed)
            .map(|f| f.control)
            .collect()
    }
}

/// What to audit.
#[derive(Debug, Clone)]
pub struct Target {
    /// The CloudFront distribution in front of the API.
    pub distribution_id: String,
    /// Principals (ARNs) besides the backend role allowed to decrypt with the keyring's KMS key:
    /// the key custodians that run `fle keys`.
    pub custodians: Vec<String>,
    /// The time to compare `retireAfter` with.
    pub now: SystemTime,
}

/// Why the audit could not run at all (a control that cannot be read is a failed control, not
/// an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The distribution itself could not be read.
    #[error("reading distribution {id}: {reason}")]
    Distribution { id: String, reason: String },
}
