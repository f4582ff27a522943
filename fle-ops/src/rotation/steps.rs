//! The steps of each operation, numbered from 1 as in the docs.

/// A step of one operation.
pub trait Step: Copy + std::fmt::Debug + PartialEq + 'static {
    /// Every step of the operation, in order.
    const ALL: &'static [Self];
    /// 1-based position.
    fn number(self) -> usize {
        Self::ALL
            .iter()
            .position(|s| *s == self)
            .map_or(0, |i| i.saturating_add(1))
    }
    /// What the step does.
    fn name(self) -> &'static str;
    /// The step numbered `n` (1-based).
    fn from_number(n: usize) -> Option<Self> {
        n.checked_sub(1).and_then(|i| Self::ALL.get(i)).copied()
    }
}

/// The steps of `fle keys generate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GenerateStep {
    /// Generate an RSA-2048 pair (memory only).
    GenerateKeyPair,
    /// Store the private key as `current`.
    StorePrivateKey,
    /// Upload the public key.
    UploadPublicKey,
}

impl Step for GenerateStep {
    const ALL: &'static [Self] = &[
        Self::GenerateKeyPair,
        Self::StorePrivateKey,
        Self::UploadPublicKey,
    ];
    fn name(self) -> &'static str {
        match self {
            Self::GenerateKeyPair => "generate the key pair",
            Self::StorePrivateKey => "store the private key",
            Self::UploadPublicKey => "upload the public key",
        }
    }
}

/// The steps of a rotation (see the module docs for why in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RotateStep {
    /// Generate the new pair (memory only).
    GenerateKeyPair,
    /// Store the new private key as `pending`.
    StorePrivateKey,
    /// Upload the new public key.
    UploadPublicKey,
    /// Point the profile at the new public key (IfMatch).
    SwitchProfile,
    /// Edge-encrypted profiles: publish the edge function's new version (its package carries
    /// the new public key) and point the distribution's association at it (IfMatch), then wait
    /// until it is deployed. Not needed when CloudFront encrypts the profile.
    DeployEdge,
    /// Mark the old key `previous` (with its retire-after) and the new one `current`.
    MarkOldPrevious,
}

impl Step for RotateStep {
    const ALL: &'static [Self] = &[
        Self::GenerateKeyPair,
        Self::StorePrivateKey,
        Self::UploadPublicKey,
        Self::SwitchProfile,
        Self::DeployEdge,
        Self::MarkOldPrevious,
    ];
    fn name(self) -> &'static str {
        match self {
            Self::GenerateKeyPair => "generate the new key pair",
            Self::StorePrivateKey => "store the new private key",
            Self::UploadPublicKey => "upload the new public key",
            Self::SwitchProfile => "point the profile at the new key",
            Self::DeployEdge => "deploy the edge function with the new key",
            Self::MarkOldPrevious => "mark the old key previous",
        }
    }
}

/// The steps of retiring one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetireStep {
    /// Mark the key `retiring` (so a rerun finishes it).
    MarkRetiring,
    /// Delete its public key (only when no profile uses it).
    DeletePublicKey,
    /// Delete its private key.
    DeletePrivateKey,
}

impl Step for RetireStep {
    const ALL: &'static [Self] = &[
        Self::MarkRetiring,
        Self::DeletePublicKey,
        Self::DeletePrivateKey,
    ];
    fn name(self) -> &'static str {
        match self {
            Self::MarkRetiring => "mark the key retiring",
            Self::DeletePublicKey => "delete the public key",
            Self::DeletePrivateKey => "delete the private key",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_docs() {
        assert_eq!(RotateStep::GenerateKeyPair.number(), 1);
        assert_eq!(RotateStep::DeployEdge.number(), 5);
        assert_eq!(RotateStep::MarkOldPrevious.number(), 6);
        assert_eq!(RotateStep::from_number(4), Some(RotateStep::SwitchProfile));
        assert_eq!(RotateStep::from_number(0), None);
        assert_eq!(RotateStep::from_number(7), None);
        assert_eq!(RetireStep::DeletePrivateKey.number(), 3);
        assert_eq!(GenerateStep::UploadPublicKey.number(), 3);
    }
}
