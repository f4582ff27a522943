use super::*;
use crate::model::{EncryptionEntity, KeyStatus, PrivateKeyPem};

fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = LocalStore::new(dir.path().join("ks"));
    (dir, s)
}

fn public_pem() -> String {
    crate::keygen::public_pem_from_private(&crate::keygen::generate().unwrap().private_pem).unwrap()
}

fn key_cfg(name: &str, pem: &str) -> PublicKeyConfig {
    PublicKeyConfig {
        caller_reference: format!("ref-{name}"),
        name: name.into(),
        encoded_key: pem.into(),
        comment: String::new(),
    }
}

fn profile_cfg(name: &str, key_id: &str, fields: &[&str]) -> ProfileConfig {
    ProfileConfig {
        name: name.into(),
        caller_reference: format!("ref-{name}"),
        comment: String::new(),
        encryption_entities: vec![EncryptionEntity {
            public_key_id: key_id.into(),
            provider_id: "prov".into(),
            field_patterns: fields.iter().map(|f| (*f).to_owned()).collect(),
        }],
    }
}

fn config_body(reference: &str, profile_id: &str) -> ConfigBody {
    ConfigBody {
        caller_reference: reference.into(),
        comment: String::new(),
        query_arg_profile_config: Default::default(),
        content_type_profile_config: crate::model::ContentTypeProfileConfig {
            forward_when_content_type_is_unknown: false,
            content_type_profiles: vec![crate::model::ContentTypeProfile {
                format: "URLEncoded".into(),
                profile_id: Some(profile_id.into()),
                content_type: "application/x-www-form-urlencoded".into(),
            }],
        },
    }
}

#[test]
fn rejects_rsa_other_than_2048() {
    let (_d, s) = store();
    let k =
        aws_lc_rs::rsa::PrivateDecryptingKey::generate(aws_lc_rs::rsa::KeySize::Rsa3072).unwrap();
    let spki = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(
        &k.public_key(),
    )
    .unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(spki.as_ref());
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n");
    let err = s.create_public_key(&key_cfg("big", &pem)).unwrap_err();
    assert!(
        err.to_string()
            .contains("RSA-3072; CloudFront accepts RSA-2048 only"),
        "{err}"
    );
    assert!(s.list_public_keys().unwrap().is_empty());
}

#[test]
fn etag_if_match_semantics() {
    let (_d, s) = store();
    let k = s.create_public_key(&key_cfg("k1", &public_pem())).unwrap();
    let p = s
        .create_profile(&profile_cfg("p1", &k.id, &["card"]))
        .unwrap();
    let mut cfg = p.config.clone();
    cfg.comment = "x".into();
    // Wrong ETag: refused, nothing changes.
    let err = s.update_profile(&p.id, &cfg, "EWRONG").unwrap_err();
    assert!(
        matches!(err, StoreError::PreconditionFailed { .. }),
        "{err}"
    );
    assert_eq!(s.list_profiles().unwrap()[0], p);
    // Right ETag: applied, new ETag; the old ETag no longer works.
    let p2 = s.update_profile(&p.id, &cfg, &p.etag).unwrap();
    assert_ne!(p2.etag, p.etag);
    assert!(matches!(
        s.update_profile(&p.id, &cfg, &p.etag).unwrap_err(),
        StoreError::PreconditionFailed { .. }
    ));
    assert!(matches!(
        s.delete_profile(&p.id, &p.etag).unwrap_err(),
        StoreError::PreconditionFailed { .. }
    ));
    assert!(matches!(
        s.delete_profile(&p.id, "").unwrap_err(),
        StoreError::Invalid(_)
    ));
    s.delete_profile(&p.id, &p2.etag).unwrap();
    assert!(s.list_profiles().unwrap().is_empty());
}

#[test]
fn in_use_objects_cannot_be_deleted() {
    let (_d, s) = store();
    let k = s.create_public_key(&key_cfg("k1", &public_pem())).unwrap();
    let p = s
        .create_profile(&profile_cfg("p1", &k.id, &["card"]))
        .unwrap();
    let c = s.create_config(&config_body("c1", &p.id)).unwrap();
    s.attach_config("E123", "*", Some(&c.id)).unwrap();
    assert!(matches!(
        s.delete_public_key(&k.id, &k.etag).unwrap_err(),
        StoreError::InUse { .. }
    ));
    assert!(matches!(
        s.delete_profile(&p.id, &p.etag).unwrap_err(),
        StoreError::InUse { .. }
    ));
    assert!(matches!(
        s.delete_config(&c.id, &c.etag).unwrap_err(),
        StoreError::InUse { .. }
    ));
    s.attach_config("E123", "*", None).unwrap();
    s.delete_config(&c.id, &c.etag).unwrap();
    s.delete_profile(&p.id, &p.etag).unwrap();
    s.delete_public_key(&k.id, &k.etag).unwrap();
}

#[test]
fn private_key_outlives_its_public_key() {
    let (_d, s) = store();
    let g = crate::keygen::generate().unwrap();
    let pem = crate::keygen::public_pem_from_private(&g.private_pem).unwrap();
    let entry = KeyEntry {
        key_name: "k1".into(),
        status: KeyStatus::Current,
        retire_after: None,
        created: now(),
        rotation: None,
        private_key_pem: g.private_pem.clone(),
    };
    s.add_private_key("prov", entry.clone()).unwrap();
    assert!(matches!(
        s.add_private_key("prov", entry).unwrap_err(),
        StoreError::AlreadyExists { .. }
    ));
    let k = s.create_public_key(&key_cfg("k1", &pem)).unwrap();
    assert!(matches!(
        s.remove_private_key("prov", "k1").unwrap_err(),
        StoreError::InUse { .. }
    ));
    s.delete_public_key(&k.id, &k.etag).unwrap();
    s.remove_private_key("prov", "k1").unwrap();
    assert!(s.load_keyring("prov").unwrap().keys.is_empty());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(s.keyring_path("prov").unwrap())
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    assert!(!format!(
        "{:?}",
        PrivateKeyPem::new("-----BEGIN PRIVATE KEY-----".into())
    )
    .contains("BEGIN"));
}

#[test]
fn quotas_and_unique_names() {
    let (_d, s) = store();
    let pem = public_pem();
    for i in 0..10 {
        s.create_public_key(&key_cfg(&format!("k{i}"), &pem))
            .unwrap();
    }
    assert!(matches!(
        s.create_public_key(&key_cfg("k10", &pem)).unwrap_err(),
        StoreError::LimitExceeded { limit: 10, .. }
    ));
    let keys = s.list_public_keys().unwrap();
    let k0 = &keys[0].id;
    for i in 0..10 {
        s.create_profile(&profile_cfg(&format!("p{i}"), k0, &["card"]))
            .unwrap();
    }
    assert!(matches!(
        s.create_profile(&profile_cfg("p10", k0, &["card"]))
            .unwrap_err(),
        StoreError::LimitExceeded { .. }
    ));
    assert!(matches!(
        s.create_profile(&profile_cfg("p1", k0, &["card"]))
            .unwrap_err(),
        StoreError::AlreadyExists { .. }
    ));
    let p0 = s.list_profiles().unwrap()[0].id.clone();
    for i in 0..10 {
        s.create_config(&config_body(&format!("c{i}"), &p0))
            .unwrap();
    }
    assert!(matches!(
        s.create_config(&config_body("c10", &p0)).unwrap_err(),
        StoreError::LimitExceeded { .. }
    ));
}

#[test]
fn references_must_exist() {
    let (_d, s) = store();
    assert!(matches!(
        s.create_profile(&profile_cfg("p", "KNOPE", &["card"]))
            .unwrap_err(),
        StoreError::NotFound { .. }
    ));
    assert!(matches!(
        s.create_config(&config_body("c", "PNOPE")).unwrap_err(),
        StoreError::NotFound { .. }
    ));
    assert!(matches!(
        s.attach_config("E1", "*", Some("CNOPE")).unwrap_err(),
        StoreError::NotFound { .. }
    ));
}

#[test]
fn corrupt_state_is_reported_not_replaced() {
    let (_d, s) = store();
    s.ensure_dirs().unwrap();
    std::fs::write(s.state_path(), b"{not json").unwrap();
    let err = s.list_public_keys().unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(s.create_public_key(&key_cfg("k", &public_pem())).is_err());
    assert_eq!(std::fs::read(s.state_path()).unwrap(), b"{not json");
}

#[test]
fn twenty_distributions_per_configuration() {
    let (_d, s) = store();
    let k = s.create_public_key(&key_cfg("k1", &public_pem())).unwrap();
    let p = s
        .create_profile(&profile_cfg("p1", &k.id, &["card"]))
        .unwrap();
    let c = s.create_config(&config_body("c1", &p.id)).unwrap();
    for i in 0..20 {
        s.attach_config(&format!("E{i}"), "*", Some(&c.id)).unwrap();
    }
    // A second behavior of an attached distribution is not another distribution.
    s.attach_config("E0", "/api/*", Some(&c.id)).unwrap();
    let err = s.attach_config("E20", "*", Some(&c.id)).unwrap_err();
    assert!(
        matches!(err, StoreError::LimitExceeded { limit: 20, .. }),
        "{err}"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn arbitrary_files_are_errors_not_panics(state in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
                                             ring in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
        let (_d, s) = store();
        s.ensure_dirs().unwrap();
        std::fs::write(s.state_path(), &state).unwrap();
        std::fs::write(s.keyring_path("prov").unwrap(), &ring).unwrap();
        let _ = s.list_public_keys();
        let _ = s.list_profiles();
        let _ = s.load_keyring("prov");
        let _ = s.list_providers();
    }
}

#[test]
fn writes_never_follow_a_planted_symlink() {
    let (dir, s) = store();
    s.create_public_key(&key_cfg("k1", &public_pem())).unwrap();
    // The old temp names were `.state.json.tmp.<pid>`: plant symlinks at every such name of
    // this process and of nearby pids; a write must leave their target alone.
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"unrelated").unwrap();
    let pid = std::process::id();
    for p in pid.saturating_sub(2)..=pid + 2 {
        std::os::unix::fs::symlink(&victim, dir.path().join(format!("ks/.state.json.tmp.{p}")))
            .unwrap();
    }
    s.create_public_key(&key_cfg("k2", &public_pem())).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"unrelated");
    let state = std::fs::symlink_metadata(dir.path().join("ks/state.json")).unwrap();
    assert!(
        state.file_type().is_file(),
        "state.json stays a regular file"
    );
}

#[test]
fn a_keystore_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, s) = store();
    s.create_public_key(&key_cfg("k1", &public_pem())).unwrap();
    let root = dir.path().join("ks");
    for sub in ["", "private"] {
        let d = root.join(sub);
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = s
            .create_public_key(&key_cfg("k2", &public_pem()))
            .unwrap_err();
        assert!(err.to_string().contains("writable by others"), "{err}");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    // A symlinked private/ is refused too, wherever it points.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::rename(root.join("private"), dir.path().join("old-private")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, root.join("private")).unwrap();
    let err = s
        .create_public_key(&key_cfg("k2", &public_pem()))
        .unwrap_err();
    assert!(err.to_string().contains("not a directory"), "{err}");
    // Owned by someone else (only root can hand a directory to another user).
    std::fs::remove_file(root.join("private")).unwrap();
    std::fs::rename(dir.path().join("old-private"), root.join("private")).unwrap();
    if rustix::process::geteuid().is_root() {
        std::os::unix::fs::chown(&root, Some(65534), None).unwrap();
        let err = s
            .create_public_key(&key_cfg("k2", &public_pem()))
            .unwrap_err();
        assert!(err.to_string().contains("belongs to user 65534"), "{err}");
        std::os::unix::fs::chown(&root, Some(0), None).unwrap();
    }
    s.create_public_key(&key_cfg("k2", &public_pem())).unwrap();
}

/// A private key in `provider`'s keyring and, with `upload`, its public key.
fn key_pair(s: &LocalStore, provider: &str, name: &str, upload: bool) -> Option<PublicKey> {
    let g = crate::keygen::generate().unwrap();
    let pem = crate::keygen::public_pem_from_private(&g.private_pem).unwrap();
    s.add_private_key(
        provider,
        KeyEntry {
            key_name: name.into(),
            status: KeyStatus::Current,
            retire_after: None,
            created: now(),
            rotation: None,
            private_key_pem: g.private_pem,
        },
    )
    .unwrap();
    upload.then(|| s.create_public_key(&key_cfg(name, &pem)).unwrap())
}

#[test]
fn inventory_joins_keyrings_public_keys_and_profiles() {
    let (_d, s) = store();
    let k1 = key_pair(&s, "prov", "k1", true).unwrap();
    key_pair(&s, "prov", "only-private", false);
    let orphan = s
        .create_public_key(&key_cfg("only-public", &public_pem()))
        .unwrap();
    s.create_profile(&profile_cfg("checkout", &k1.id, &["card_*"]))
        .unwrap();
    let keys = crate::inventory::keys(&s).unwrap();
    let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["k1", "only-private", "only-public"]);
    let [k, private, public] = keys.as_slice() else {
        unreachable!()
    };
    assert_eq!(k.provider.as_deref(), Some("prov"));
    assert_eq!(k.public_key_id.as_deref(), Some(k1.id.as_str()));
    assert_eq!(k.status, Some(KeyStatus::Current));
    assert_eq!(k.used_by, ["checkout"]);
    assert_eq!(private.public_key_id, None);
    assert!(private.used_by.is_empty());
    assert_eq!(public.provider, None);
    assert_eq!(public.status, None);
    assert_eq!(public.public_key_id.as_deref(), Some(orphan.id.as_str()));
}

#[test]
fn binding_a_key_names_its_keyring() {
    use crate::inventory::{bind_key, BindingError};
    let (_d, s) = store();
    let k1 = key_pair(&s, "prov", "k1", true).unwrap();
    let b = bind_key(&s, "k1", None).unwrap();
    assert_eq!(
        (b.public_key_id.as_str(), b.provider_id.as_str()),
        (k1.id.as_str(), "prov")
    );
    assert_eq!(bind_key(&s, "k1", Some("prov")).unwrap(), b);
    assert!(matches!(
        bind_key(&s, "k1", Some("other")).unwrap_err(),
        BindingError::WrongProvider { asked, holders, .. } if asked == "other" && holders == ["prov"]
    ));
    assert!(matches!(
        bind_key(&s, "nope", None).unwrap_err(),
        BindingError::NoPublicKey { .. }
    ));
    // A public key whose private key this store does not hold: only with a named provider.
    s.create_public_key(&key_cfg("elsewhere", &public_pem()))
        .unwrap();
    assert!(matches!(
        bind_key(&s, "elsewhere", None).unwrap_err(),
        BindingError::NoPrivateKey { .. }
    ));
    assert_eq!(
        bind_key(&s, "elsewhere", Some("any")).unwrap().provider_id,
        "any"
    );
    // The same key name in two keyrings: the caller must choose.
    key_pair(&s, "prov2", "k1", false);
    assert!(matches!(
        bind_key(&s, "k1", None).unwrap_err(),
        BindingError::SeveralProviders { holders, .. } if holders.len() == 2
    ));
    assert_eq!(
        bind_key(&s, "k1", Some("prov2")).unwrap().provider_id,
        "prov2"
    );
}
