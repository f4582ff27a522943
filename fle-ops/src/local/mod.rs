//! The local keystore: a directory that plays CloudFront (and Secrets Manager) on one machine.
//!
//! ```text
//! <root>/                       mode 0700, created on the first change
//!   .gitignore                  "*": keys never land in a repository by accident
//!   lock                        flock held for every read-modify-write
//!   state.json                  public keys, profiles, configurations, attachments (with ETags)
//!   private/<provider>.json     mode 0600: the provider's keyring (docs/keystore.md)
//!   locks/rotate-<profile>.lock held by a running `fle keys rotate`
//!   edge/<function>-<n>.zip     edge-function versions published (edge-encrypted profiles)
//! ```
//! It enforces CloudFront's rules (see [`crate::rules`]) and the same ETag / IfMatch contract:
//! every change gets a new ETag and an update or delete must name the current one.

pub mod fs;
mod state;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use self::state::{
    check_caller_reference, check_config_refs, check_etag, check_profile_refs, config_uses_profile,
    new_id, now, State, STATE_FORMAT,
};

use self::fs::{check_private_dir, write_atomic, FileLock};
use crate::backend::{edge_code_sha256, Backend, RotationGuard, StatusChange};

/// A distribution id as CloudFront makes them: letters and digits.
fn check_distribution_id(distribution_id: &str) -> StoreResult<()> {
    if distribution_id.is_empty() || !distribution_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(StoreError::Invalid(format!(
            "distribution id {distribution_id:?} must be letters and digits"
        )));
    }
    Ok(())
}

/// Whether two version ARNs are versions of one function.
fn same_function(a: &str, b: &str) -> bool {
    let unqualified = |s: &str| s.rsplit_once(':').map_or(s, |(head, _)| head).to_owned();
    unqualified(a) == unqualified(b)
}
use crate::error::{StoreError, StoreResult};
use crate::ledger::KeyringEdits as _;
use crate::model::{
    Attachment, Config, ConfigBody, EdgeAssociation, EdgeVersion, KeyEntry, KeyringDocument,
    Profile, ProfileConfig, PublicKey, PublicKeyConfig,
};
use crate::rules;

/// A keystore directory.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

#[derive(Debug)]
struct LocalRotation(#[allow(dead_code)] FileLock);
impl RotationGuard for LocalRotation {}

impl LocalStore {
    /// A keystore at `root`, created on its first write (what `fle keys generate` uses).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The keystore at `root`, which must exist: a reader pointed at a mistyped path gets
    /// [`StoreError::NoKeystore`] instead of an empty keystore (a scheduled `keys retire` with
    /// a typo would otherwise do nothing, successfully, forever).
    ///
    /// # Errors
    /// [`StoreError::NoKeystore`] when `root` does not exist; [`StoreError::Io`] when it is not
    /// a directory or cannot be read.
    pub fn open(root: impl Into<PathBuf>) -> StoreResult<Self> {
        let root = root.into();
        match std::fs::metadata(&root) {
            Ok(m) if m.is_dir() => {
                tracing::debug!(path = %root.display(), "local keystore");
                Ok(Self { root })
            }
            Ok(_) => Err(StoreError::Io {
                path: root.display().to_string(),
                source: std::io::Error::other("not a directory"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NoKeystore {
                path: root.display().to_string(),
            }),
            Err(e) => Err(StoreError::Io {
                path: root.display().to_string(),
                source: e,
            }),
        }
    }

    fn io(&self, path: &Path) -> impl Fn(std::io::Error) -> StoreError {
        let path = path.display().to_string();
        move |source| StoreError::Io {
            path: path.clone(),
            source,
        }
    }

    fn ensure_dirs(&self) -> StoreResult<()> {
        use std::os::unix::fs::DirBuilderExt;
        for dir in [
            self.root.clone(),
            self.root.join("private"),
            self.root.join("locks"),
        ] {
            if std::fs::symlink_metadata(&dir).is_err() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&dir)
                    .map_err(self.io(&dir))?;
            }
            check_private_dir(&dir).map_err(self.io(&dir))?;
        }
        let ignore = self.root.join(".gitignore");
        if !ignore.exists() {
            write_atomic(&ignore, b"*\n", 0o644).map_err(self.io(&ignore))?;
        }
        Ok(())
    }

    fn lock(&self) -> StoreResult<FileLock> {
        self.ensure_dirs()?;
        let path = self.root.join("lock");
        FileLock::exclusive(&path).map_err(self.io(&path))
    }

    fn read_json<T: for<'de> Deserialize<'de>>(&self, path: &Path) -> StoreResult<Option<T>> {
        match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt {
                        path: path.display().to_string(),
                        detail: e.to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(path)(e)),
        }
    }

    fn write_json<T: Serialize>(&self, path: &Path, value: &T, mode: u32) -> StoreResult<()> {
        let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| StoreError::Corrupt {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        bytes.push(b'\n');
        let result = write_atomic(path, &bytes, mode).map_err(self.io(path));
        zeroize::Zeroize::zeroize(&mut bytes);
        result
    }

    fn state_path(&self) -> PathBuf {
        self.root.join("state.json")
    }

    fn keyring_path(&self, provider_id: &str) -> StoreResult<PathBuf> {
        // The provider id becomes a file name: its character set (no '/', no '.') makes that safe.
        rules::provider_id(provider_id)?;
        Ok(self
            .root
            .join("private")
            .join(format!("{provider_id}.json")))
    }

    fn read_state(&self) -> StoreResult<State> {
        let state: State = self.read_json(&self.state_path())?.unwrap_or(State {
            format: STATE_FORMAT,
            ..State::default()
        });
        if state.format != STATE_FORMAT {
            return Err(StoreError::Corrupt {
                path: self.state_path().display().to_string(),
                detail: format!("unknown format {}", state.format),
            });
        }
        Ok(state)
    }

    /// Runs `f` on the state under the lock and saves the result if `f` succeeds.
    fn change<T>(&self, f: impl FnOnce(&mut State) -> StoreResult<T>) -> StoreResult<T> {
        let _lock = self.lock()?;
        let mut state = self.read_state()?;
        let out = f(&mut state)?;
        self.write_json(&self.state_path(), &state, 0o600)?;
        Ok(out)
    }

    fn read_keyring(&self, provider_id: &str) -> StoreResult<KeyringDocument> {
        let path = self.keyring_path(provider_id)?;
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => zeroize::Zeroizing::new(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(KeyringDocument::empty(provider_id))
            }
            Err(e) => return Err(self.io(&path)(e)),
        };
        KeyringDocument::parse_for(&bytes, provider_id).map_err(|e| StoreError::Corrupt {
            path: path.display().to_string(),
            detail: e.to_string(),
        })
    }

    fn write_keyring(&self, ring: &KeyringDocument) -> StoreResult<()> {
        let path = self.keyring_path(&ring.provider_id)?;
        let mut bytes = ring.to_json_pretty();
        bytes.push(b'\n');
        write_atomic(&path, &bytes, 0o600).map_err(self.io(&path))
    }

    fn change_keyring(
        &self,
        provider_id: &str,
        f: impl FnOnce(&State, &mut KeyringDocument) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let _lock = self.lock()?;
        let state = self.read_state()?;
        let mut ring = self.read_keyring(provider_id)?;
        f(&state, &mut ring)?;
        self.write_keyring(&ring)
    }
}

impl Backend for LocalStore {
    fn describe(&self) -> String {
        format!("local keystore {}", self.root.display())
    }

    fn list_public_keys(&self) -> StoreResult<Vec<PublicKey>> {
        Ok(self.read_state()?.public_keys)
    }

    fn get_public_key(&self, id: &str) -> StoreResult<PublicKey> {
        self.read_state()?
            .public_keys
            .into_iter()
            .find(|k| k.id == id)
            .ok_or_else(|| StoreError::NotFound {
                kind: "public key",
                id: id.to_owned(),
            })
    }

    fn create_public_key(&self, cfg: &PublicKeyConfig) -> StoreResult<PublicKey> {
        rules::public_key_config(cfg)?;
        self.change(|state| {
            if state.public_keys.iter().any(|k| k.config.name == cfg.name) {
                return Err(StoreError::AlreadyExists {
                    kind: "public key",
                    name: cfg.name.clone(),
                });
            }
            if state.public_keys.len() >= rules::MAX_PUBLIC_KEYS {
                return Err(StoreError::LimitExceeded {
                    kind: "public keys",
                    limit: rules::MAX_PUBLIC_KEYS,
                });
            }
            check_caller_reference(state, &cfg.caller_reference)?;
            let key = PublicKey {
                id: new_id('K')?,
                created_time: now(),
                etag: new_id('E')?,
                config: cfg.clone(),
            };
            state.public_keys.push(key.clone());
            Ok(key)
        })
    }

    fn delete_public_key(&self, id: &str, if_match: &str) -> StoreResult<()> {
        self.change(|state| {
            let key = state
                .public_keys
                .iter()
                .find(|k| k.id == id)
                .ok_or_else(|| StoreError::NotFound {
                    kind: "public key",
                    id: id.to_owned(),
                })?;
            check_etag("public key", id, &key.etag, if_match)?;
            if let Some(p) = state.profiles.iter().find(|p| {
                p.config
                    .encryption_entities
                    .iter()
                    .any(|e| e.public_key_id == id)
            }) {
                return Err(StoreError::InUse {
                    kind: "public key",
                    id: id.to_owned(),
                    by: format!("profile {:?}", p.config.name),
                });
            }
            state.public_keys.retain(|k| k.id != id);
            Ok(())
        })
    }

    fn list_profiles(&self) -> StoreResult<Vec<Profile>> {
        Ok(self.read_state()?.profiles)
    }

    fn create_profile(&self, cfg: &ProfileConfig) -> StoreResult<Profile> {
        rules::profile_config(cfg)?;
        self.change(|state| {
            if state.profiles.iter().any(|p| p.config.name == cfg.name) {
                return Err(StoreError::AlreadyExists {
                    kind: "profile",
                    name: cfg.name.clone(),
                });
            }
            if state.profiles.len() >= rules::MAX_PROFILES {
                return Err(StoreError::LimitExceeded {
                    kind: "profiles",
                    limit: rules::MAX_PROFILES,
                });
            }
            check_caller_reference(state, &cfg.caller_reference)?;
            check_profile_refs(state, cfg)?;
            let p = Profile {
                id: new_id('P')?,
                last_modified_time: now(),
                etag: new_id('E')?,
                config: cfg.clone(),
            };
            state.profiles.push(p.clone());
            Ok(p)
        })
    }

    fn update_profile(
        &self,
        id: &str,
        cfg: &ProfileConfig,
        if_match: &str,
    ) -> StoreResult<Profile> {
        rules::profile_config(cfg)?;
        self.change(|state| {
            if state
                .profiles
                .iter()
                .any(|p| p.config.name == cfg.name && p.id != id)
            {
                return Err(StoreError::AlreadyExists {
                    kind: "profile",
                    name: cfg.name.clone(),
                });
            }
            check_profile_refs(state, cfg)?;
            let p = state
                .profiles
                .iter_mut()
                .find(|p| p.id == id)
                .ok_or_else(|| StoreError::NotFound {
                    kind: "profile",
                    id: id.to_owned(),
                })?;
            check_etag("profile", id, &p.etag, if_match)?;
            if p.config.caller_reference != cfg.caller_reference {
                return Err(StoreError::Invalid(
                    "the caller reference of a profile cannot change".into(),
                ));
            }
            p.config = cfg.clone();
            p.etag = new_id('E')?;
            p.last_modified_time = now();
            Ok(p.clone())
        })
    }

    fn delete_profile(&self, id: &str, if_match: &str) -> StoreResult<()> {
        self.change(|state| {
            let p =
                state
                    .profiles
                    .iter()
                    .find(|p| p.id == id)
                    .ok_or_else(|| StoreError::NotFound {
                        kind: "profile",
                        id: id.to_owned(),
                    })?;
            check_etag("profile", id, &p.etag, if_match)?;
            if let Some(c) = state.configs.iter().find(|c| config_uses_profile(c, id)) {
                return Err(StoreError::InUse {
                    kind: "profile",
                    id: id.to_owned(),
                    by: format!("configuration {}", c.id),
                });
            }
            state.profiles.retain(|p| p.id != id);
            Ok(())
        })
    }

    fn list_configs(&self) -> StoreResult<Vec<Config>> {
        Ok(self.read_state()?.configs)
    }

    fn create_config(&self, cfg: &ConfigBody) -> StoreResult<Config> {
        rules::config_body(cfg)?;
        self.change(|state| {
            if state.configs.len() >= rules::MAX_CONFIGS {
                return Err(StoreError::LimitExceeded {
                    kind: "configurations",
                    limit: rules::MAX_CONFIGS,
                });
            }
            check_caller_reference(state, &cfg.caller_reference)?;
            check_config_refs(state, cfg)?;
            let c = Config {
                id: new_id('C')?,
                last_modified_time: now(),
                etag: new_id('E')?,
                config: cfg.clone(),
            };
            state.configs.push(c.clone());
            Ok(c)
        })
    }

    fn update_config(&self, id: &str, cfg: &ConfigBody, if_match: &str) -> StoreResult<Config> {
        rules::config_body(cfg)?;
        self.change(|state| {
            check_config_refs(state, cfg)?;
            let c = state
                .configs
                .iter_mut()
                .find(|c| c.id == id)
                .ok_or_else(|| StoreError::NotFound {
                    kind: "configuration",
                    id: id.to_owned(),
                })?;
            check_etag("configuration", id, &c.etag, if_match)?;
            if c.config.caller_reference != cfg.caller_reference {
                return Err(StoreError::Invalid(
                    "the caller reference of a configuration cannot change".into(),
                ));
            }
            c.config = cfg.clone();
            c.etag = new_id('E')?;
            c.last_modified_time = now();
            Ok(c.clone())
        })
    }

    fn delete_config(&self, id: &str, if_match: &str) -> StoreResult<()> {
        self.change(|state| {
            let c =
                state
                    .configs
                    .iter()
                    .find(|c| c.id == id)
                    .ok_or_else(|| StoreError::NotFound {
                        kind: "configuration",
                        id: id.to_owned(),
                    })?;
            check_etag("configuration", id, &c.etag, if_match)?;
            if let Some(a) = state.attachments.iter().find(|a| a.config_id == id) {
                return Err(StoreError::InUse {
                    kind: "configuration",
                    id: id.to_owned(),
                    by: format!(
                        "distribution {} behavior {}",
                        a.distribution_id, a.path_pattern
                    ),
                });
            }
            state.configs.retain(|c| c.id != id);
            Ok(())
        })
    }

    fn attach_config(
        &self,
        distribution_id: &str,
        path_pattern: &str,
        config_id: Option<&str>,
    ) -> StoreResult<Attachment> {
        check_distribution_id(distribution_id)?;
        self.change(|state| {
            let before = state
                .attachments
                .iter()
                .find(|a| a.distribution_id == distribution_id && a.path_pattern == path_pattern)
                .cloned();
            state.attachments.retain(|a| {
                !(a.distribution_id == distribution_id && a.path_pattern == path_pattern)
            });
            match config_id {
                Some(id) => {
                    if !state.configs.iter().any(|c| c.id == id) {
                        return Err(StoreError::NotFound {
                            kind: "configuration",
                            id: id.to_owned(),
                        });
                    }
                    let mut dists: Vec<&str> = state
                        .attachments
                        .iter()
                        .filter(|a| a.config_id == id)
                        .map(|a| a.distribution_id.as_str())
                        .collect();
                    dists.push(distribution_id);
                    dists.sort_unstable();
                    dists.dedup();
                    if dists.len() > rules::MAX_DISTRIBUTIONS_PER_CONFIG {
                        return Err(StoreError::LimitExceeded {
                            kind: "distributions for one configuration",
                            limit: rules::MAX_DISTRIBUTIONS_PER_CONFIG,
                        });
                    }
                    let a = Attachment {
                        distribution_id: distribution_id.to_owned(),
                        path_pattern: path_pattern.to_owned(),
                        config_id: id.to_owned(),
                    };
                    state.attachments.push(a.clone());
                    Ok(a)
                }
                None => before.ok_or_else(|| StoreError::NotFound {
                    kind: "attachment",
                    id: format!("{distribution_id} {path_pattern}"),
                }),
            }
        })
    }

    fn list_attachments(&self) -> StoreResult<Vec<Attachment>> {
        Ok(self.read_state()?.attachments)
    }

    fn publish_edge_version(
        &self,
        function: &str,
        zip: &[u8],
        description: &str,
    ) -> StoreResult<(EdgeVersion, bool)> {
        rules::edge_function_name(function)?;
        let code_sha256 = edge_code_sha256(zip);
        self.change(|state| {
            if let Some(v) = state.edge_versions.iter().find(|v| {
                v.function == function
                    && v.description == description
                    && v.code_sha256 == code_sha256
            }) {
                return Ok((v.clone(), false));
            }
            let number = state
                .edge_versions
                .iter()
                .filter(|v| v.function == function)
                .count()
                .saturating_add(1);
            let dir = self.root.join("edge");
            if std::fs::symlink_metadata(&dir).is_err() {
                std::fs::create_dir(&dir).map_err(self.io(&dir))?;
            }
            let path = dir.join(format!("{function}-{number}.zip"));
            write_atomic(&path, zip, 0o644).map_err(self.io(&path))?;
            let version = EdgeVersion {
                function: function.to_owned(),
                arn: format!("local:function:{function}:{number}"),
                description: description.to_owned(),
                code_sha256: code_sha256.clone(),
            };
            state.edge_versions.push(version.clone());
            Ok((version, true))
        })
    }

    fn associate_edge_version(
        &self,
        distribution_id: &str,
        path_pattern: &str,
        version_arn: &str,
    ) -> StoreResult<bool> {
        check_distribution_id(distribution_id)?;
        self.change(|state| {
            if !state.edge_versions.iter().any(|v| v.arn == version_arn) {
                return Err(StoreError::NotFound {
                    kind: "edge function version",
                    id: version_arn.to_owned(),
                });
            }
            let slot = state
                .edge_associations
                .iter_mut()
                .find(|a| a.distribution_id == distribution_id && a.path_pattern == path_pattern);
            match slot {
                Some(a) if a.version_arn == version_arn => Ok(false),
                Some(a) if !same_function(&a.version_arn, version_arn) => {
                    Err(StoreError::Refused {
                        what: "associate edge function".into(),
                        code: "OtherFunction".into(),
                        message: format!(
                            "the behavior runs {} on origin requests, not a version of this function",
                            a.version_arn
                        ),
                    })
                }
                Some(a) => {
                    version_arn.clone_into(&mut a.version_arn);
                    Ok(true)
                }
                None => {
                    state.edge_associations.push(EdgeAssociation {
                        distribution_id: distribution_id.to_owned(),
                        path_pattern: path_pattern.to_owned(),
                        version_arn: version_arn.to_owned(),
                    });
                    Ok(true)
                }
            }
        })
    }

    fn list_providers(&self) -> StoreResult<Vec<String>> {
        let dir = self.root.join("private");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(&dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let name = entry
                .map_err(self.io(&dir))?
                .file_name()
                .to_string_lossy()
                .into_owned();
            if let Some(p) = name.strip_suffix(".json") {
                if rules::provider_id(p).is_ok() {
                    out.push(p.to_owned());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn load_keyring(&self, provider_id: &str) -> StoreResult<KeyringDocument> {
        self.read_keyring(provider_id)
    }

    fn add_private_key(&self, provider_id: &str, entry: KeyEntry) -> StoreResult<()> {
        rules::key_name(&entry.key_name)?;
        self.change_keyring(provider_id, |_, ring| ring.add(entry))
    }

    fn set_key_status(&self, provider_id: &str, changes: &[StatusChange]) -> StoreResult<()> {
        self.change_keyring(provider_id, |_, ring| ring.apply(changes))
    }

    fn remove_private_key(&self, provider_id: &str, key_name: &str) -> StoreResult<()> {
        self.change_keyring(provider_id, |state, ring| {
            if let Some(k) = state.public_keys.iter().find(|k| k.config.name == key_name) {
                return Err(StoreError::InUse {
                    kind: "private key",
                    id: key_name.to_owned(),
                    by: format!("public key {} (delete the public key first)", k.id),
                });
            }
            ring.remove(key_name)
        })
    }

    fn health(&self) -> Vec<String> {
        use std::os::unix::fs::PermissionsExt as _;
        let mut problems = Vec::new();
        for dir in [
            self.root.clone(),
            self.root.join("private"),
            self.root.join("locks"),
        ] {
            if dir.exists() || std::fs::symlink_metadata(&dir).is_ok() {
                if let Err(e) = check_private_dir(&dir) {
                    problems.push(e.to_string());
                }
            }
        }
        if let Ok(entries) = std::fs::read_dir(self.root.join("private")) {
            for entry in entries.flatten() {
                let path = entry.path();
                if let Ok(meta) = std::fs::symlink_metadata(&path) {
                    let mode = meta.permissions().mode() & 0o777;
                    if mode & 0o077 != 0 {
                        problems.push(format!(
                            "private keyring {} is readable or writable by others (mode {mode:o}): run `chmod 600 {}`",
                            path.display(),
                            path.display()
                        ));
                    }
                }
            }
        }
        problems
    }

    fn claim_rotation(&self, profile: &str) -> StoreResult<Box<dyn RotationGuard>> {
        rules::profile_name(profile)?;
        // No lock file for a profile that does not exist (it would stay behind).
        crate::backend::profile_by_name(self, profile)?;
        self.ensure_dirs()?;
        let path = self
            .root
            .join("locks")
            .join(format!("rotate-{profile}.lock"));
        match FileLock::try_exclusive(&path).map_err(self.io(&path))? {
            Some(lock) => Ok(Box::new(LocalRotation(lock))),
            None => Err(StoreError::Busy(format!(
                "another `fle keys rotate` of profile {profile:?} is running (lock {} is held); wait for it and rerun",
                path.display()
            ))),
        }
    }
}
