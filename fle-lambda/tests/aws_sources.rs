//! The three key sources through the real SDK clients against moto: a keyring document in
//! Secrets Manager and in an SSM SecureString, one key as KMS ciphertext (with an encryption
//! context), and what each does when the source is missing, unreachable or wrong.
//!
//! Needs `FLE_TEST_MOTO_URL` and `FLE_TEST_PYTHON` (scripts/test.sh sets both; boto3 seeds
//! moto). Without them these tests FAIL: they are never skipped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests: a panic is a failure

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeySize, PrivateDecryptingKey};
use base64::Engine as _;
use fle_decrypt::document::{KeyEntry, KeyStatus, KeyringDocument, PrivateKeyPem};
use fle_decrypt::encrypt::{encrypt_form, Encryptor, PublicKey};
use fle_decrypt::form::FieldPatterns;
use fle_lambda::{
    AwsKeySource, Backend, BackendError, KeySource, RefreshPolicy, SourceError, SourceSpec,
};

const CARD: &str = "4111111111111111";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run scripts/test.sh, which installs the Python venv and starts moto_server for these tests")
    })
}

fn unique() -> String {
    let mut b = [0u8; 5];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs Python with boto3 against moto; `c(service)` makes a client; argv[2..] are `args`.
fn py(code: &str, args: &[&str]) -> String {
    let prelude = "import boto3, json, sys, base64\n\
        def c(s):\n    return boto3.client(s, endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n";
    let out = Command::new(env("FLE_TEST_PYTHON"))
        .arg("-c")
        .arg(format!("{prelude}{code}"))
        .arg(env("FLE_TEST_MOTO_URL"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

struct Key {
    name: String,
    pem: String,
    public: Vec<u8>,
}

fn key(name: &str) -> Key {
    let k = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap();
    let der = AsDer::<Pkcs8V1Der>::as_der(&k).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    Key {
        name: name.to_owned(),
        pem: format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        ),
        public: AsDer::<PublicKeyX509Der>::as_der(&k.public_key())
            .unwrap()
            .as_ref()
            .to_vec(),
    }
}

fn document(provider: &str, keys: &[(&Key, KeyStatus)]) -> String {
    let mut doc = KeyringDocument::empty(provider);
    for (k, status) in keys {
        doc.keys.push(KeyEntry {
            key_name: k.name.clone(),
            status: *status,
            retire_after: None,
            created: "2026-12-01T00:00:00Z".into(),
            rotation: None,
            private_key_pem: PrivateKeyPem::new(k.pem.clone()),
        });
    }
    String::from_utf8(doc.to_json_pretty().to_vec()).unwrap()
}

fn form(provider: &str, k: &Key) -> Vec<u8> {
    let enc = Encryptor::new(PublicKey::from_der(&k.public).unwrap(), provider, &k.name).unwrap();
    let body = format!("card_number={CARD}&card_cvc=123&name=Ada");
    encrypt_form(
        &enc,
        body.as_bytes(),
        &FieldPatterns::parse("card_*").unwrap(),
    )
    .unwrap()
}

async fn sdk(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

fn policy(min_interval: Duration) -> RefreshPolicy {
    RefreshPolicy {
        min_interval,
        periodic: None,
        jitter: 0.0,
    }
}

async fn backend(spec: SourceSpec, min_interval: Duration) -> Backend {
    let source = AwsKeySource::new(spec, &sdk(&env("FLE_TEST_MOTO_URL")).await);
    Backend::new(
        source,
        Some(FieldPatterns::parse("card_*").unwrap()),
        policy(min_interval),
        Some(2),
    )
}

async fn decrypted_card(b: &Backend, body: &[u8]) -> Result<String, BackendError> {
    let f = b.decrypt_body(body).await?;
    Ok(f.get("card_number")
        .unwrap()
        .expose_str()
        .unwrap()
        .to_owned())
}

fn kms_key() -> String {
    py(
        "print(c('kms').create_key(Description='fle-lambda test')['KeyMetadata']['KeyId'])",
        &[],
    )
}

#[tokio::test]
async fn secrets_manager_keyring_with_every_status() {
    let provider = format!("checkout-{}", unique());
    let (cur, pend, prev) = (key("k-current"), key("k-pending"), key("k-previous"));
    let doc = document(
        &provider,
        &[
            (&cur, KeyStatus::Current),
            (&pend, KeyStatus::Pending),
            (&prev, KeyStatus::Previous),
        ],
    );
    let secret = format!("fle/keyring/{provider}");
    py(
        "c('secretsmanager').create_secret(Name=sys.argv[2], SecretString=sys.argv[3], KmsKeyId=sys.argv[4])",
        &[&secret, &doc, &kms_key()],
    );
    let b = backend(
        SourceSpec::SecretsManager {
            secret_ids: vec![secret.clone()],
            provider_id: Some(provider.clone()),
        },
        Duration::from_secs(10),
    )
    .await;
    for k in [&cur, &pend, &prev] {
        assert_eq!(decrypted_card(&b, &form(&provider, k)).await.unwrap(), CARD);
    }
    assert_eq!(b.cache().fetch_count().await, 1, "loaded once, then cached");
    assert_eq!(
        b.cache().source().describe(),
        format!("secretsmanager:{secret}")
    );

    // The document of another provider is refused when FLE_PROVIDER names one.
    let wrong = backend(
        SourceSpec::SecretsManager {
            secret_ids: vec![secret],
            provider_id: Some("other".into()),
        },
        Duration::from_secs(10),
    )
    .await;
    let e = wrong
        .decrypt_body(&form(&provider, &cur))
        .await
        .unwrap_err();
    assert_eq!(e.class(), "KeySourceUnavailable");
    assert!(e.to_string().contains("not \"other\""), "{e}");
}

#[tokio::test]
async fn ssm_securestring_keyring() {
    let provider = format!("checkout-{}", unique());
    let k = key("k1");
    let name = format!("/fle/keyring/{provider}");
    py(
        "c('ssm').put_parameter(Name=sys.argv[2], Value=sys.argv[3], Type='SecureString', KeyId=sys.argv[4], Tier='Advanced')",
        &[&name, &document(&provider, &[(&k, KeyStatus::Current)]), &kms_key()],
    );
    let b = backend(
        SourceSpec::Ssm {
            names: vec![name],
            provider_id: None,
        },
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        decrypted_card(&b, &form(&provider, &k)).await.unwrap(),
        CARD
    );
}

#[tokio::test]
async fn kms_encrypted_key_with_context() {
    let provider = format!("checkout-{}", unique());
    let k = key("k-kms");
    let blob = py(
        "r = c('kms').encrypt(KeyId=sys.argv[2], Plaintext=sys.argv[3].encode(), EncryptionContext={'app': 'checkout'})\n\
         print(base64.b64encode(r['CiphertextBlob']).decode())",
        &[&kms_key(), &k.pem],
    );
    let ciphertext = base64::engine::general_purpose::STANDARD
        .decode(&blob)
        .unwrap();
    let spec = |context: &[(&str, &str)]| SourceSpec::Kms {
        ciphertext: ciphertext.clone(),
        provider_id: provider.clone(),
        key_name: k.name.clone(),
        context: context
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect(),
    };
    let b = backend(spec(&[("app", "checkout")]), Duration::from_secs(10)).await;
    assert_eq!(
        decrypted_card(&b, &form(&provider, &k)).await.unwrap(),
        CARD
    );

    // KMS refuses another context: the function cannot decrypt, and says so with a 503.
    let b = backend(spec(&[("app", "other")]), Duration::from_secs(10)).await;
    let e = b.decrypt_body(&form(&provider, &k)).await.unwrap_err();
    assert_eq!(e.class(), "KeySourceUnavailable");
    assert!(e.to_string().contains("Decrypt failed"), "{e}");
}

#[tokio::test]
async fn a_key_stored_after_start_is_found_through_one_refresh() {
    let provider = format!("checkout-{}", unique());
    let (k1, k2) = (key("k1"), key("k2"));
    let secret = format!("fle/keyring/{provider}");
    py(
        "c('secretsmanager').create_secret(Name=sys.argv[2], SecretString=sys.argv[3])",
        &[&secret, &document(&provider, &[(&k1, KeyStatus::Current)])],
    );
    let b = backend(
        SourceSpec::SecretsManager {
            secret_ids: vec![secret.clone()],
            provider_id: None,
        },
        Duration::ZERO,
    )
    .await;
    b.start().await;
    let before = b.loaded().unwrap();
    assert_eq!(before.keys().len(), 1);
    // A rotation stores k2 (pending) and CloudFront starts encrypting with it.
    py(
        "c('secretsmanager').put_secret_value(SecretId=sys.argv[2], SecretString=sys.argv[3])",
        &[
            &secret,
            &document(
                &provider,
                &[(&k1, KeyStatus::Current), (&k2, KeyStatus::Pending)],
            ),
        ],
    );
    assert_eq!(
        decrypted_card(&b, &form(&provider, &k2)).await.unwrap(),
        CARD
    );
    let after = b.loaded().unwrap();
    assert!(!Arc::ptr_eq(&before, &after));
    assert!(after.contains(&provider, "k2"));
    assert_eq!(b.cache().fetch_count().await, 2);
    // k1 still decrypts, without another fetch.
    assert_eq!(
        decrypted_card(&b, &form(&provider, &k1)).await.unwrap(),
        CARD
    );
    assert_eq!(b.cache().fetch_count().await, 2);
    // A key nobody stored: one more fetch, then NoMatchingKey.
    let stranger = key("k-stranger");
    let e = b
        .decrypt_body(&form(&provider, &stranger))
        .await
        .unwrap_err();
    assert_eq!(e.class(), "NoMatchingKey");
    assert_eq!(b.cache().fetch_count().await, 3);
}

#[tokio::test]
async fn an_unknown_key_within_the_interval_costs_no_call() {
    let provider = format!("checkout-{}", unique());
    let k1 = key("k1");
    let secret = format!("fle/keyring/{provider}");
    py(
        "c('secretsmanager').create_secret(Name=sys.argv[2], SecretString=sys.argv[3])",
        &[&secret, &document(&provider, &[(&k1, KeyStatus::Current)])],
    );
    let b = backend(
        SourceSpec::SecretsManager {
            secret_ids: vec![secret],
            provider_id: None,
        },
        Duration::from_secs(600),
    )
    .await;
    b.start().await;
    let stranger = form(&provider, &key("k-stranger"));
    for _ in 0..5 {
        let e = b.decrypt_body(&stranger).await.unwrap_err();
        assert_eq!(e.class(), "NoMatchingKey");
    }
    assert_eq!(b.cache().fetch_count().await, 1);
}

#[tokio::test]
async fn missing_or_unreachable_sources_are_unavailable() {
    let missing = backend(
        SourceSpec::SecretsManager {
            secret_ids: vec![format!("fle/keyring/none-{}", unique())],
            provider_id: None,
        },
        Duration::from_secs(10),
    )
    .await;
    let e = missing.cache().load().await.unwrap_err();
    assert!(
        matches!(&e, SourceError::Unavailable { operation: "GetSecretValue", reason, .. } if reason == "ResourceNotFoundException"),
        "{e:?}"
    );
    let e = missing.decrypt_body(b"card_number=AQID").await.unwrap_err();
    assert_eq!(e.class(), "KeySourceUnavailable");
    assert_eq!(e.response().status().as_u16(), 503);

    // Nothing listens on port 9 of the loopback interface.
    let source = AwsKeySource::new(
        SourceSpec::Ssm {
            names: vec!["/fle/keyring/x".into()],
            provider_id: None,
        },
        &sdk("http://127.0.0.1:9").await,
    );
    let e = source.fetch().await.unwrap_err();
    assert!(
        matches!(&e, SourceError::Unavailable { operation: "GetParameter", reason, .. } if reason.starts_with("dispatch failure")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_broken_document_never_shows_its_content() {
    let provider = format!("checkout-{}", unique());
    let k = key("k1");
    let secret = format!("fle/keyring/{provider}");
    // The PEM put where the provider id belongs, and a document that is not JSON at all.
    let misplaced = document(&provider, &[(&k, KeyStatus::Current)]).replacen(
        &format!("\"providerId\": \"{provider}\""),
        &format!("\"providerId\": {}", serde_json::to_string(&k.pem).unwrap()),
        1,
    );
    assert_ne!(misplaced, document(&provider, &[(&k, KeyStatus::Current)]));
    for (i, text) in [misplaced, format!("{} trailing", k.pem)]
        .iter()
        .enumerate()
    {
        let id = format!("{secret}-{i}");
        py(
            "c('secretsmanager').create_secret(Name=sys.argv[2], SecretString=sys.argv[3])",
            &[&id, text],
        );
        let b = backend(
            SourceSpec::SecretsManager {
                secret_ids: vec![id],
                provider_id: None,
            },
            Duration::from_secs(10),
        )
        .await;
        let e = b.decrypt_body(&form(&provider, &k)).await.unwrap_err();
        assert_eq!(e.class(), "KeySourceUnavailable");
        let shown = format!("{e} {e:?}");
        let der_b64 = k.pem.lines().nth(1).unwrap();
        assert!(!shown.contains(der_b64), "{shown}");
        assert!(!shown.contains("BEGIN PRIVATE KEY"), "{shown}");
    }
}

/// The downstream pattern: the API step takes the fields still encrypted (plaintext refused),
/// a queue message carries them as JSON, the payment step decrypts with the same keyring.
#[tokio::test]
async fn ciphertext_passed_downstream_decrypts_where_the_key_is() {
    let provider = format!("checkout-{}", unique());
    let k = key("k1");
    let secret = format!("fle/keyring/{provider}");
    py(
        "c('secretsmanager').create_secret(Name=sys.argv[2], SecretString=sys.argv[3])",
        &[&secret, &document(&provider, &[(&k, KeyStatus::Current)])],
    );
    let spec = SourceSpec::SecretsManager {
        secret_ids: vec![secret],
        provider_id: None,
    };
    let request = |body: Vec<u8>| {
        lambda_http::http::Request::builder()
            .method("POST")
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(lambda_http::Body::Text(String::from_utf8(body).unwrap()))
            .unwrap()
    };
    // The API step: no key is read to take the ciphertexts.
    let api = backend(spec.clone(), Duration::from_secs(10)).await;
    let fields = api.encrypted_fields(&request(form(&provider, &k))).unwrap();
    assert_eq!(api.cache().fetch_count().await, 0);
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["card_number", "card_cvc"]);
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Charge {
        order: String,
        card: fle_lambda::Ciphertext,
    }
    let message = serde_json::to_string(&Charge {
        order: "o-1".into(),
        card: fields[0].1.clone(),
    })
    .unwrap();
    assert!(!message.contains(CARD));
    // Plaintext where ciphertext belongs is refused at the API step, not passed on.
    let e = api
        .encrypted_fields(&request(format!("card_number={CARD}").into_bytes()))
        .unwrap_err();
    assert_eq!(e.class(), "NotEncrypted");
    let e = api
        .encrypted_fields(&lambda_http::http::Request::new(lambda_http::Body::Empty))
        .unwrap_err();
    assert_eq!(e.class(), "UnsupportedContentType");
    // The payment step.
    let pay = backend(spec, Duration::from_secs(10)).await;
    let charge: Charge = serde_json::from_str(&message).unwrap();
    let d = pay.decrypt_ciphertext(&charge.card).await.unwrap();
    assert_eq!(d.plaintext().expose(), CARD.as_bytes());
    assert_eq!(d.key_name(), "k1");
    // A ciphertext under a key the keyring never held: NoMatchingKey after one refresh.
    let other = fle_lambda::Ciphertext::from_message(
        Encryptor::new(
            PublicKey::from_der(&key("k9").public).unwrap(),
            &provider,
            "k9",
        )
        .unwrap()
        .encrypt(CARD.as_bytes())
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        pay.decrypt_ciphertext(&other).await.unwrap_err().class(),
        "NoMatchingKey"
    );
}
