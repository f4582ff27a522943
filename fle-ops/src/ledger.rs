//! The three edits a store makes to a provider's keyring, the same for every store: a key is
//! added, changes status, or is removed, one by one, so no operation can drop a key by rewriting
//! the whole keyring.

use crate::backend::StatusChange;
use crate::error::{StoreError, StoreResult};
use crate::model::{KeyEntry, KeyringDocument};

/// The keyring edits behind [`crate::Backend`]'s private-key methods.
pub trait KeyringEdits {
    /// Adds `entry`; refuses a name already in the keyring.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`].
    fn add(&mut self, entry: KeyEntry) -> StoreResult<()>;

    /// Applies `changes` in order; fails on the first key that is not in the keyring.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    fn apply(&mut self, changes: &[StatusChange]) -> StoreResult<()>;

    /// Removes the key named `key_name`; fails if there is none.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    fn remove(&mut self, key_name: &str) -> StoreResult<()>;
}

impl KeyringEdits for KeyringDocument {
    fn add(&mut self, entry: KeyEntry) -> StoreResult<()> {
        if self.get(&entry.key_name).is_some() {
            return Err(StoreError::AlreadyExists {
                kind: "private key",
                name: entry.key_name,
            });
        }
        self.keys.push(entry);
        Ok(())
    }

    fn apply(&mut self, changes: &[StatusChange]) -> StoreResult<()> {
        for c in changes {
            let k = self
                .get_mut(&c.key_name)
                .ok_or_else(|| StoreError::NotFound {
                    kind: "private key",
                    id: c.key_name.clone(),
                })?;
            k.status = c.status;
            k.retire_after.clone_from(&c.retire_after);
            k.rotation.clone_from(&c.rotation);
        }
        Ok(())
    }

    fn remove(&mut self, key_name: &str) -> StoreResult<()> {
        if self.get(key_name).is_none() {
            return Err(StoreError::NotFound {
                kind: "private key",
                id: key_name.to_owned(),
            });
        }
        self.keys.retain(|k| k.key_name != key_name);
        Ok(())
    }
}
