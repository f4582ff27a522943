//! `--backend aws` end to end: the real aws-sdk-cloudfront and aws-sdk-secretsmanager clients
//! against moto (public keys, distributions, Secrets Manager, KMS) and, for the FLE profile and
//! configuration operations moto lacks, the wire-level CloudFront double of
//! tests/cloudfront_double/, which forwards everything else to moto.
//!
//! Needs `FLE_TEST_MOTO_URL` and `FLE_TEST_PYTHON` (scripts/test.sh sets both). Without them
//! these tests FAIL: they are never skipped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests: a panic is a failure

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const FLE: &str = env!("CARGO_BIN_EXE_fle");
const KILLED: i32 = 86;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run scripts/test.sh, which installs the Python venv and starts moto_server for these tests")
    })
}

/// One test's world: a CloudFront double in front of moto, a KMS key, unique names.
struct Aws {
    double: Child,
    double_url: String,
    moto: String,
    kms_key: String,
    prefix: String,
    /// Suffix making key and profile names unique within one moto run.
    tag: String,
    /// `secrets-manager` or `ssm`.
    store: &'static str,
}

impl Drop for Aws {
    fn drop(&mut self) {
        let _ = self.double.kill();
        let _ = self.double.wait();
    }
}

fn unique() -> String {
    let mut b = [0u8; 5];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Aws {
    fn new() -> Self {
        Self::with_store("secrets-manager")
    }

    fn with_store(store: &'static str) -> Self {
        Self::with_options(store, 100)
    }

    /// `page_size`: the most items the double puts in one list page.
    fn with_options(store: &'static str, page_size: usize) -> Self {
        let moto = env("FLE_TEST_MOTO_URL");
        let python = env("FLE_TEST_PYTHON");
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/cloudfront_double/cloudfront_fle_double.py"
        );
        let mut double = Command::new(&python)
            .args([script, "--upstream", &moto, "--port", "0"])
            .args(["--page-size", &page_size.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the CloudFront double");
        let mut line = String::new();
        BufReader::new(double.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("double said {line:?}"))
            .to_owned();
        let tag = unique();
        let mut aws = Self {
            double,
            double_url: format!("http://127.0.0.1:{port}"),
            moto,
            kms_key: String::new(),
            prefix: format!("fle-test-{tag}/"),
            tag,
            store,
        };
        aws.kms_key = aws
            .py(
                "print(c('kms').create_key(Description='fle test')['KeyMetadata']['KeyId'])",
                &[],
            )
            .trim()
            .to_owned();
        aws
    }

    /// Runs Python with boto3 against moto; `c(service)` makes a client.
    fn py(&self, code: &str, args: &[&str]) -> String {
        let prelude = "import boto3, json, sys\n\
            def c(s):\n    return boto3.client(s, endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n";
        let out = Command::new(env("FLE_TEST_PYTHON"))
            .arg("-c")
            .arg(format!("{prelude}{code}"))
            .arg(&self.moto)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `fle` with the emulators' environment and no arguments.
    fn env_cmd(&self) -> Command {
        let mut c = Command::new(FLE);
        c.env("AWS_ENDPOINT_URL", &self.moto)
            .env("AWS_ENDPOINT_URL_CLOUDFRONT", &self.double_url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env_remove("AWS_PROFILE")
            .env_remove("FLE_HOME");
        c
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.env_cmd();
        c.args(args)
            .args([
                "--backend",
                "aws",
                "--kms-key",
                &self.kms_key,
                "--secret-prefix",
                &self.prefix,
                "--deploy-timeout",
                "30s",
                // The emulator is one account shared by every test: more than CloudFront's 10.
                "--public-key-quota",
                "1000",
            ])
            .args(["--private-key-store", self.store]);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["--output", "json"]);
        let out = self.run(&a);
        assert!(
            out.status.success(),
            "fle {a:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(code), "fle {args:?}: {err}");
        err
    }

    fn name(&self, base: &str) -> String {
        format!("{base}-{}", self.tag)
    }

    /// The provider's keyring secret (AWSCURRENT) or parameter, read straight from moto,
    /// with its version.
    fn secret(&self, provider: &str) -> (Value, String) {
        if self.store == "ssm" {
            let out = self.py(
                "p = c('ssm').get_parameter(Name=sys.argv[2], WithDecryption=True)['Parameter']\n\
                 print(json.dumps({'v': str(p['Version']), 's': json.loads(p['Value'])}))",
                &[&format!("/{}{provider}", self.prefix)],
            );
            let v: Value = serde_json::from_str(&out).unwrap();
            return (v["s"].clone(), v["v"].as_str().unwrap().to_owned());
        }
        let out = self.py(
            "r = c('secretsmanager').get_secret_value(SecretId=sys.argv[2], VersionStage='AWSCURRENT')\n\
             print(json.dumps({'v': r['VersionId'], 's': json.loads(r['SecretString'])}))",
            &[&format!("{}{provider}", self.prefix)],
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        (v["s"].clone(), v["v"].as_str().unwrap().to_owned())
    }

    fn key_statuses(&self, provider: &str) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self.secret(provider).0["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["keyName"].as_str().unwrap().to_owned(),
                    k["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        v.sort();
        v
    }

    fn decryptor(&self, provider: &str) -> fle_decrypt::Keyring {
        let text = serde_json::to_vec(&self.secret(provider).0).unwrap();
        let doc = fle_decrypt::document::KeyringDocument::parse_for(&text, provider).unwrap();
        let (ring, broken) = fle_decrypt::Keyring::from_document(&doc);
        assert!(broken.is_empty(), "{broken:?}");
        ring
    }

    /// Encrypts with the public key CloudFront holds under `key_name` (exported by fle).
    fn encrypt(&self, provider: &str, key_name: &str, plaintext: &[u8]) -> Vec<u8> {
        let out = self.run(&["keys", "export-public", key_name]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pk = fle_decrypt::encrypt::PublicKey::from_pem(&out.stdout).unwrap();
        fle_decrypt::encrypt::Encryptor::new(pk, provider, key_name)
            .unwrap()
            .encrypt(plaintext)
            .unwrap()
    }

    fn decrypts(&self, provider: &str, msg: &[u8], want: &[u8]) -> bool {
        match self.decryptor(provider).decrypt(msg) {
            Ok(d) => d.plaintext().expose() == want,
            Err(_) => false,
        }
    }

    fn profile_key(&self, profile: &str) -> String {
        self.ok(&["profiles", "show", profile])["entities"][0]["keyName"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Key `k1`, profile `checkout` on it, for provider `prov-<tag>`.
    fn with_profile(&self) -> (String, String, String) {
        let provider = self.name("prov");
        let k1 = self.name("k1");
        let profile = self.name("checkout");
        self.ok(&["keys", "generate", "--name", &k1, "--provider", &provider]);
        self.ok(&[
            "profiles", "create", "--name", &profile, "--key", &k1, "--field", "card", "--field",
            "cvv*",
        ]);
        (provider, k1, profile)
    }
}

#[test]
fn aws_keys_profiles_configs_end_to_end() {
    let aws = Aws::new();
    let (provider, k1, profile) = aws.with_profile();
    // The private key lives in the provider's secret, encrypted with our KMS key.
    assert_eq!(
        aws.key_statuses(&provider),
        [(k1.clone(), "current".to_owned())]
    );
    let kms = aws.py(
        "print(c('secretsmanager').describe_secret(SecretId=sys.argv[2]).get('KmsKeyId', ''))",
        &[&format!("{}{provider}", aws.prefix)],
    );
    assert!(
        kms.contains(&aws.kms_key),
        "secret not encrypted with the given KMS key: {kms}"
    );
    // The public key is in CloudFront (moto), the profile in the double.
    let listed = aws.ok(&["keys", "list"]);
    let mine: Vec<&Value> = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["name"] == k1.as_str())
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["usedBy"], serde_json::json!([profile]));
    let shown = aws.ok(&["profiles", "show", &profile]);
    assert_eq!(
        shown["entities"][0]["fieldPatterns"],
        serde_json::json!(["card", "cvv*"])
    );
    assert_eq!(shown["entities"][0]["providerId"], provider.as_str());

    // Configurations, in-use rules and ETags through the real SDK and the double.
    let cfg = aws.ok(&[
        "configs",
        "create",
        "--profile",
        &profile,
        "--query-arg",
        &format!("alt={profile}"),
    ]);
    let cid = cfg["config"]["id"].as_str().unwrap().to_owned();
    let err = aws.fails(&["profiles", "delete", &profile], 1);
    assert!(err.contains("FieldLevelEncryptionProfileInUse"), "{err}");
    let err = aws.fails(
        &[
            "profiles",
            "update",
            &profile,
            "--comment",
            "x",
            "--if-match",
            "EWRONGWRONGWRO",
        ],
        1,
    );
    assert!(err.contains("changed since it was read"), "{err}");
    let updated = aws.ok(&[
        "configs",
        "update",
        &cid,
        "--forward-unknown-content-type",
        "true",
    ]);
    assert_eq!(updated["config"]["forwardWhenContentTypeIsUnknown"], true);
    assert_ne!(updated["config"]["etag"], cfg["config"]["etag"]);

    // Attach to a moto distribution: GetDistributionConfig -> UpdateDistribution(IfMatch) -> Deployed.
    let dist = aws
        .py(
            "d = c('cloudfront').create_distribution(DistributionConfig={'CallerReference': sys.argv[2], 'Comment': '', 'Enabled': True,\n\
             'Origins': {'Quantity': 1, 'Items': [{'Id': 'o', 'DomainName': 'example.com', 'CustomOriginConfig': {'HTTPPort': 80, 'HTTPSPort': 443, 'OriginProtocolPolicy': 'https-only'}}]},\n\
             'DefaultCacheBehavior': {'TargetOriginId': 'o', 'ViewerProtocolPolicy': 'https-only', 'MinTTL': 0, 'ForwardedValues': {'QueryString': False, 'Cookies': {'Forward': 'none'}}}})\n\
             print(d['Distribution']['Id'])",
            &[&aws.tag],
        )
        .trim()
        .to_owned();
    let att = aws.ok(&["configs", "attach", &cid, "--distribution", &dist]);
    assert_eq!(att["configId"], cid.as_str());
    // Attaching again changes nothing: the double (not moto) hands out a new ETag on each update.
    let etag = |aws: &Aws| {
        aws.py(
            "cf = boto3.client('cloudfront', endpoint_url=sys.argv[3], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
             print(cf.get_distribution_config(Id=sys.argv[2])['ETag'])",
            &[&dist, &aws.double_url],
        )
    };
    let before = etag(&aws);
    aws.ok(&["configs", "attach", &cid, "--distribution", &dist]);
    assert_eq!(etag(&aws), before);
    let fle_id = aws.py(
        "print(c('cloudfront').get_distribution_config(Id=sys.argv[2])['DistributionConfig']['DefaultCacheBehavior'].get('FieldLevelEncryptionId', ''))",
        &[&dist],
    );
    assert_eq!(fle_id.trim(), cid);
    let err = aws.fails(&["configs", "delete", &cid], 1);
    assert!(err.contains("FieldLevelEncryptionConfigInUse"), "{err}");
    aws.ok(&["configs", "attach", "--detach", "--distribution", &dist]);
    aws.ok(&["configs", "delete", &cid]);

    // Dry runs against AWS write nothing: same secret version, same profile ETag.
    let k2 = aws.name("k2");
    let (_, version) = aws.secret(&provider);
    let before = aws.ok(&["profiles", "show", &profile]);
    let plan = aws.ok(&[
        "keys",
        "rotate",
        "--profile",
        &profile,
        "--new-key-name",
        &k2,
        "--dry-run",
    ]);
    assert_eq!(plan["dryRun"], true);
    aws.ok(&[
        "keys",
        "generate",
        "--name",
        &aws.name("k9"),
        "--provider",
        &provider,
        "--dry-run",
    ]);
    aws.ok(&[
        "profiles",
        "update",
        &profile,
        "--field",
        "zip",
        "--dry-run",
    ]);
    assert_eq!(aws.secret(&provider).1, version);
    assert_eq!(aws.ok(&["profiles", "show", &profile]), before);
    let listed = aws.ok(&["keys", "list"]);
    assert!(!listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["name"] == aws.name("k9").as_str() || k["name"] == k2.as_str()));

    // Rotation and retirement; messages under both keys decrypt until the old one retires.
    let old_msg = aws.encrypt(&provider, &k1, b"4111");
    let r = aws.ok(&[
        "keys",
        "rotate",
        "--profile",
        &profile,
        "--new-key-name",
        &k2,
        "--grace",
        "0s",
    ]);
    assert_eq!(r["oldKey"], k1.as_str());
    assert_eq!(aws.profile_key(&profile), k2);
    let new_msg = aws.encrypt(&provider, &k2, b"5555");
    assert!(aws.decrypts(&provider, &old_msg, b"4111"));
    assert!(aws.decrypts(&provider, &new_msg, b"5555"));
    let retired = aws.ok(&["keys", "retire"]);
    let mine: Vec<&Value> = retired["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["provider"] == provider.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{retired}");
    assert_eq!(mine[0]["outcome"], "retired");
    assert_eq!(
        aws.key_statuses(&provider),
        [(k2.clone(), "current".to_owned())]
    );
    assert!(!aws.decrypts(&provider, &old_msg, b"4111"));
    assert!(aws.decrypts(&provider, &new_msg, b"5555"));
    // The old public key is gone from CloudFront (moto), the new one is there.
    let listed = aws.ok(&["keys", "list"]);
    let names: Vec<&str> = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["publicKeyId"].is_string())
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&k1.as_str()), "{names:?}");
    assert!(names.contains(&k2.as_str()), "{names:?}");
}

#[test]
fn aws_rotation_interrupted_after_each_step_converges() {
    // Step 5 (the edge deployment) is not needed here: a stop after it needs an edge profile
    // (aws_edge_encrypted_profile_rotation_publishes_and_associates_the_function).
    interrupted_rotations("secrets-manager", &[1, 2, 3, 4, 6]);
}

#[test]
fn aws_ssm_rotation_interrupted_converges() {
    interrupted_rotations("ssm", &[2, 4]);
}

fn interrupted_rotations(store: &'static str, steps: &[usize]) {
    for &step in steps {
        let aws = Aws::with_store(store);
        let (provider, k1, profile) = aws.with_profile();
        let old_msg = aws.encrypt(&provider, &k1, b"old");
        let k2 = aws.name("k2");
        let out = aws.run(&[
            "keys",
            "rotate",
            "--profile",
            &profile,
            "--new-key-name",
            &k2,
            "--danger-stop-after",
            &step.to_string(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(KILLED),
            "step {step}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(aws.decrypts(&provider, &old_msg, b"old"), "step {step}");
        // The killed run's claim is left in the secret; the rerun on this host sees its process is gone.
        let r = aws.ok(&[
            "keys",
            "rotate",
            "--profile",
            &profile,
            "--new-key-name",
            &k2,
        ]);
        assert_eq!(r["resumed"], step >= 2, "step {step}: {r}");
        assert_eq!(
            aws.key_statuses(&provider),
            [
                (k1.clone(), "previous".to_owned()),
                (k2.clone(), "current".to_owned())
            ],
            "step {step}"
        );
        assert_eq!(aws.profile_key(&profile), k2, "step {step}");
        assert_eq!(
            aws.secret(&provider).0["claims"],
            Value::Null,
            "step {step}: claim not released"
        );
        let new_msg = aws.encrypt(&provider, &k2, b"new");
        assert!(aws.decrypts(&provider, &old_msg, b"old"), "step {step}");
        assert!(aws.decrypts(&provider, &new_msg, b"new"), "step {step}");
    }
}

#[test]
fn aws_concurrent_rotation_second_fails_and_changes_nothing() {
    concurrent_rotation("secrets-manager");
}

#[test]
fn aws_ssm_concurrent_rotation_second_fails_and_changes_nothing() {
    concurrent_rotation("ssm");
}

fn concurrent_rotation(store: &'static str) {
    let aws = Aws::with_store(store);
    let (provider, k1, profile) = aws.with_profile();
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("go");
    let reached = dir.path().join("go.reached");
    let a = aws
        .cmd(&[
            "keys",
            "rotate",
            "--profile",
            &profile,
            "--new-key-name",
            &aws.name("ka"),
            "--output",
            "json",
            "--danger-pause-after",
            "2",
            "--danger-resume-file",
            gate.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !reached.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "rotation A never reached step 2"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, version_before) = aws.secret(&provider);
    let profile_before = aws.ok(&["profiles", "show", &profile]);
    let err = aws.fails(
        &[
            "keys",
            "rotate",
            "--profile",
            &profile,
            "--new-key-name",
            &aws.name("kb"),
        ],
        1,
    );
    assert!(
        err.contains("another `fle keys rotate` of profile"),
        "{err}"
    );
    assert_eq!(
        aws.secret(&provider).1,
        version_before,
        "the losing rotation wrote the keyring secret"
    );
    assert_eq!(aws.ok(&["profiles", "show", &profile]), profile_before);
    std::fs::write(&gate, b"").unwrap();
    let out = a.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        aws.key_statuses(&provider),
        [
            (k1, "previous".to_owned()),
            (aws.name("ka"), "current".to_owned())
        ]
    );
}

#[test]
fn aws_ssm_keyring_is_an_advanced_securestring_under_our_kms_key() {
    let aws = Aws::with_store("ssm");
    let (provider, k1, profile) = aws.with_profile();
    let meta = aws.py(
        "d = c('ssm').describe_parameters(ParameterFilters=[{'Key': 'Name', 'Values': [sys.argv[2]]}])['Parameters'][0]\n\
         print(json.dumps({'type': d['Type'], 'tier': d.get('Tier'), 'key': d.get('KeyId')}))",
        &[&format!("/{}{provider}", aws.prefix)],
    );
    let meta: Value = serde_json::from_str(&meta).unwrap();
    assert_eq!(meta["type"], "SecureString");
    assert_eq!(meta["tier"], "Advanced");
    assert!(
        meta["key"].as_str().unwrap().contains(&aws.kms_key),
        "{meta}"
    );
    // No lock parameter is left behind.
    let names = aws.py(
        "print(json.dumps([p['Name'] for p in c('ssm').get_parameters_by_path(Path=sys.argv[2], Recursive=True)['Parameters']]))",
        &[&format!("/{}", aws.prefix.trim_end_matches('/'))],
    );
    assert!(!names.contains("/lock"), "{names}");
    // Rotate, retire, decrypt: the same behaviour as with Secrets Manager.
    let old_msg = aws.encrypt(&provider, &k1, b"old");
    let k2 = aws.name("k2");
    aws.ok(&[
        "keys",
        "rotate",
        "--profile",
        &profile,
        "--new-key-name",
        &k2,
        "--grace",
        "0s",
    ]);
    let new_msg = aws.encrypt(&provider, &k2, b"new");
    assert!(aws.decrypts(&provider, &old_msg, b"old"));
    let listed = aws.ok(&["keys", "list"]);
    assert!(
        listed["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["name"] == k2.as_str() && k["provider"] == provider.as_str()),
        "{listed}"
    );
    aws.ok(&["keys", "retire"]);
    assert_eq!(aws.key_statuses(&provider), [(k2, "current".to_owned())]);
    assert!(!aws.decrypts(&provider, &old_msg, b"old"));
    assert!(aws.decrypts(&provider, &new_msg, b"new"));
}

/// Concurrent writers of one keyring lose nothing: compare-and-swap (Secrets Manager) and the
/// lock parameter (SSM) each serialise the read-modify-writes.
fn concurrent_generates(store: &'static str) {
    let aws = Aws::with_store(store);
    let provider = aws.name("prov");
    // The first key creates the secret / parameter; then six writers at once.
    aws.ok(&[
        "keys",
        "generate",
        "--name",
        &aws.name("k0"),
        "--provider",
        &provider,
    ]);
    let children: Vec<_> = (1..=6)
        .map(|i| {
            aws.cmd(&[
                "keys",
                "generate",
                "--name",
                &aws.name(&format!("k{i}")),
                "--provider",
                &provider,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let names: Vec<String> = aws
        .key_statuses(&provider)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let want: Vec<String> = (0..=6).map(|i| aws.name(&format!("k{i}"))).collect();
    assert_eq!(names, want);
}

#[test]
fn aws_concurrent_writers_lose_no_key_secrets_manager() {
    concurrent_generates("secrets-manager");
}

#[test]
fn aws_concurrent_writers_lose_no_key_ssm() {
    concurrent_generates("ssm");
}

/// CloudFront pages its lists (profiles, configurations, distributions): an account with more
/// than one page of distributions once got a wrong "nothing is attached", and profiles or
/// configurations past the first page were invisible. The double here pages one item at a time.
#[test]
fn listings_read_every_page() {
    let aws = Aws::with_options("secrets-manager", 1);
    let (_, k1, first) = aws.with_profile();
    let mut profiles = vec![first];
    for i in 1..3 {
        let p = aws.name(&format!("p{i}"));
        aws.ok(&[
            "profiles",
            "create",
            "--name",
            &p,
            "--key",
            &k1,
            "--field",
            &format!("f{i}"),
        ]);
        profiles.push(p);
    }
    let listed = aws.ok(&["profiles", "list"]);
    let mut names: Vec<String> = listed["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    profiles.sort();
    assert_eq!(names, profiles, "{listed}");

    let configs: Vec<String> = profiles
        .iter()
        .map(|p| {
            aws.ok(&["configs", "create", "--profile", p])["config"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let listed = aws.ok(&["configs", "list"]);
    assert_eq!(listed["configs"].as_array().unwrap().len(), 3, "{listed}");
    // A rerun of a create (after a timeout, say) finds the configuration CloudFront made for
    // the same caller reference instead of adding a fourth.
    let again = aws.ok(&["configs", "create", "--profile", &profiles[0]]);
    assert_eq!(again["existed"], true, "{again}");
    assert_eq!(again["config"]["id"], configs[0].as_str(), "{again}");
    let listed = aws.ok(&["configs", "list"]);
    assert_eq!(listed["configs"].as_array().unwrap().len(), 3, "{listed}");

    // Two new distributions (moto holds others too): the attached one is never on page one.
    let make = |n: &str| {
        aws.py(
            "d = c('cloudfront').create_distribution(DistributionConfig={'CallerReference': sys.argv[2], 'Comment': '', 'Enabled': True,\n\
             'Origins': {'Quantity': 1, 'Items': [{'Id': 'o', 'DomainName': 'example.com', 'CustomOriginConfig': {'HTTPPort': 80, 'HTTPSPort': 443, 'OriginProtocolPolicy': 'https-only'}}]},\n\
             'DefaultCacheBehavior': {'TargetOriginId': 'o', 'ViewerProtocolPolicy': 'https-only', 'MinTTL': 0, 'ForwardedValues': {'QueryString': False, 'Cookies': {'Forward': 'none'}}}})\n\
             print(d['Distribution']['Id'])",
            &[&format!("{}-{n}", aws.tag)],
        )
        .trim()
        .to_owned()
    };
    let _unattached = make("a");
    let dist = make("b");
    let cid = &configs[2];
    aws.ok(&["configs", "attach", cid, "--distribution", &dist]);
    let shown = aws.ok(&["configs", "show", cid]);
    let attached = shown["attachedTo"].as_array().unwrap();
    assert!(
        attached
            .iter()
            .any(|a| a["distributionId"] == dist.as_str()),
        "{shown}"
    );
    let listed = aws.ok(&["configs", "list"]);
    let entry = listed["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == cid.as_str())
        .unwrap();
    assert_eq!(
        entry["attachedTo"][0]["distributionId"],
        dist.as_str(),
        "{listed}"
    );
    aws.ok(&["configs", "attach", "--detach", "--distribution", &dist]);
}

/// `-vv` with `RUST_LOG=trace`, the most anyone can ask for, over a generate and a rotation:
/// the SDK's calls are visible (service, operation, attempt) and fle's own steps and reads, but
/// no line of any private key in the keyring: at `trace` the SDK would print whole request
/// bodies (a PutSecretValue is the keyring), so other crates are held at `debug`.
#[test]
fn diagnostics_show_the_calls_but_no_key_material() {
    let aws = Aws::new();
    let provider = aws.name("prov");
    let k1 = aws.name("k1");
    let profile = aws.name("checkout");
    let verbose = |args: &[&str]| {
        let out = aws
            .cmd(args)
            .arg("-vv")
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "fle {args:?}: {err}");
        err
    };
    let mut log = verbose(&["keys", "generate", "--name", &k1, "--provider", &provider]);
    aws.ok(&[
        "profiles", "create", "--name", &profile, "--key", &k1, "--field", "card",
    ]);
    log += &verbose(&[
        "keys",
        "rotate",
        "--profile",
        &profile,
        "--new-key-name",
        &aws.name("k2"),
    ]);
    log += &verbose(&["keys", "list"]);

    for needle in [
        "rpc.method=\"PutSecretValue\"",
        "rpc.method=\"GetSecretValue\"",
        "rpc.method=\"CreatePublicKey\"",
        "fle_ops::aws::secrets: read keyring",
        "fle_ops::rotation: step step=4 name=\"point the profile at the new key\"",
    ] {
        assert!(log.contains(needle), "no {needle:?} in the diagnostics");
    }
    let keyring = aws.secret(&provider).0;
    let keys = keyring["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(!log.contains("PRIVATE KEY"), "a PEM header was logged");
    for key in keys {
        let pem = key["privateKeyPem"].as_str().unwrap();
        for line in pem
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 20)
        {
            assert!(
                !log.contains(line),
                "a line of private key {} was logged",
                key["keyName"]
            );
        }
    }
}

/// An edge-encrypted profile on AWS: `fle edge package --encrypt` marks the profile, and
/// `fle keys rotate` with the edge flags publishes the function's new version (Lambda, moto)
/// and points the distribution's origin-request association at it (CloudFront double: IfMatch,
/// Deployed), body included. A rerun, and a rerun after a stop at step 5, publish nothing
/// twice; the marked profile refuses a rotation that would not deploy the edge.
#[test]
fn aws_edge_encrypted_profile_rotation_publishes_and_associates_the_function() {
    let aws = Aws::new();
    let (provider, k1, profile) = aws.with_profile();
    let function = aws.name("fle-edge");
    // The function as a first deployment left it: version 1 associated with the default
    // behavior of a distribution (created through the double, which keeps associations).
    let made = aws.py(
        "iam = c('iam')\n\
         role = iam.create_role(RoleName=sys.argv[2] + '-role', AssumeRolePolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'Service': ['lambda.amazonaws.com', 'edgelambda.amazonaws.com']}, 'Action': 'sts:AssumeRole'}]}))['Role']['Arn']\n\
         import io, zipfile\n\
         b = io.BytesIO()\n\
         z = zipfile.ZipFile(b, 'w'); z.writestr('index.mjs', 'export const handler = async (e) => e;'); z.close()\n\
         lam = c('lambda')\n\
         lam.create_function(FunctionName=sys.argv[2], Runtime='nodejs22.x', Role=role, Handler='index.handler', Code={'ZipFile': b.getvalue()})\n\
         v1 = lam.publish_version(FunctionName=sys.argv[2], Description='first deployment')['FunctionArn']\n\
         cf = boto3.client('cloudfront', endpoint_url=sys.argv[3], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
         d = cf.create_distribution(DistributionConfig={'CallerReference': sys.argv[2], 'Comment': '', 'Enabled': True,\n\
           'Origins': {'Quantity': 1, 'Items': [{'Id': 'o', 'DomainName': 'abc.execute-api.us-east-1.amazonaws.com', 'CustomOriginConfig': {'HTTPPort': 80, 'HTTPSPort': 443, 'OriginProtocolPolicy': 'https-only'}}]},\n\
           'DefaultCacheBehavior': {'TargetOriginId': 'o', 'ViewerProtocolPolicy': 'https-only', 'MinTTL': 0, 'ForwardedValues': {'QueryString': False, 'Cookies': {'Forward': 'none'}},\n\
             'LambdaFunctionAssociations': {'Quantity': 1, 'Items': [{'LambdaFunctionARN': v1, 'EventType': 'origin-request', 'IncludeBody': True}]}}})\n\
         print(json.dumps({'v1': v1, 'dist': d['Distribution']['Id']}))",
        &[&function, &aws.double_url],
    );
    let made: Value = serde_json::from_str(&made).unwrap();
    let dist = made["dist"].as_str().unwrap().to_owned();
    let association = |aws: &Aws| -> (String, bool) {
        let out = aws.py(
            "cf = boto3.client('cloudfront', endpoint_url=sys.argv[3], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
             items = cf.get_distribution_config(Id=sys.argv[2])['DistributionConfig']['DefaultCacheBehavior']['LambdaFunctionAssociations']['Items']\n\
             a = [i for i in items if i['EventType'] == 'origin-request']\n\
             print(json.dumps([a[0]['LambdaFunctionARN'], a[0].get('IncludeBody', False)] if len(a) == 1 else None))",
            &[&dist, &aws.double_url],
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        (v[0].as_str().unwrap().to_owned(), v[1].as_bool().unwrap())
    };
    let versions = |aws: &Aws| -> Vec<String> {
        let out = aws.py(
            "vs = c('lambda').list_versions_by_function(FunctionName=sys.argv[2])['Versions']\n\
             print(json.dumps([v.get('Description', '') for v in vs if v['Version'] != '$LATEST']))",
            &[&function],
        );
        serde_json::from_str(&out).unwrap()
    };
    assert_eq!(
        association(&aws),
        (made["v1"].as_str().unwrap().to_owned(), true)
    );

    // Package for the profile: reads it from CloudFront and marks it as edge-encrypted.
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("edge.zip");
    let package = aws
        .env_cmd()
        .args([
            "edge",
            "package",
            "--backend",
            "aws",
            "--encrypt",
            &profile,
            "--json-fields",
            "/card/number",
            "--region",
            "us-east-1",
            "--out",
        ])
        .arg(&zip)
        .output()
        .unwrap();
    assert!(
        package.status.success(),
        "{}",
        String::from_utf8_lossy(&package.stderr)
    );
    let config = dir.path().join("config.json");
    aws.py(
        "import zipfile\nopen(sys.argv[3], 'wb').write(zipfile.ZipFile(sys.argv[2]).read('config.json'))",
        &[zip.to_str().unwrap(), config.to_str().unwrap()],
    );
    assert!(aws.ok(&["profiles", "show", &profile])["comment"]
        .as_str()
        .unwrap_or_default()
        .contains("[fle:edge]"));

    // The marked profile refuses a rotation that would leave the edge on the old key.
    let err = aws.fails(&["keys", "rotate", "--profile", &profile], 2);
    assert!(err.contains("encrypted at the edge"), "{err}");
    assert_eq!(aws.profile_key(&profile), k1);

    let k2 = aws.name("k2");
    let rotate = |aws: &Aws, key: &str, extra: &[&str]| {
        let mut args = vec![
            "keys",
            "rotate",
            "--profile",
            &profile,
            "--new-key-name",
            key,
            "--grace",
            "1h",
            "--edge-function",
            &function,
            "--edge-distribution",
            &dist,
            "--edge-config",
            config.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        aws.run(&args)
    };
    // Stopped right after step 5 (deployed, old key not yet previous), then rerun.
    let out = rotate(&aws, &k2, &["--danger-stop-after", "5"]);
    assert_eq!(
        out.status.code(),
        Some(KILLED),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let described = format!("fle: profile {profile}, key {k2}");
    assert_eq!(versions(&aws), ["first deployment", described.as_str()]);
    let (arn, body) = association(&aws);
    assert!(arn.ends_with(":2"), "{arn}");
    assert!(body, "the association must include the body");
    let out = rotate(&aws, &k2, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("step 5/6 deploy the edge function with the new key: already done"),
        "{stderr}"
    );
    assert_eq!(versions(&aws).len(), 2, "a rerun publishes nothing twice");
    assert_eq!(association(&aws).0, arn);
    assert_eq!(
        aws.key_statuses(&provider),
        [
            (k1.clone(), "previous".to_owned()),
            (k2.clone(), "current".to_owned())
        ]
    );
}
