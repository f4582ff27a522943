//! checkout-backend as Lambda runs it: under `cargo lambda watch` (the Lambda runtime API
//! emulator), invoked with `cargo lambda invoke --data-file` and an API Gateway REST proxy
//! event around a form made by `fle encrypt --form`, its keys put in moto by `fle --backend
//! aws` (and, for profiles and rotation, the CloudFront double of tests/cloudfront_double/).
//!
//! Every byte the function writes to stdout and stderr during a test is captured, and at the
//! end searched for each plaintext value and for the private keys' PEM and DER base64: none may
//! appear, on success or on any error path.
//!
//! Needs `FLE_TEST_MOTO_URL`, `FLE_TEST_PYTHON` and `FLE_TEST_CARGO_LAMBDA` (the cargo-lambda
//! binary of the test venv); scripts/test.sh sets all three. Without them these tests FAIL:
//! they are never skipped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests: a panic is a failure

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// The plaintext values of the checkout form: none may reach the function's output.
const CARD: &str = "4111111111111111";
const CVC: &str = "9731";
const HOLDER: &str = "Ada Lovelace-Byron";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run scripts/test.sh, which installs cargo-lambda and the Python venv and starts moto_server for these tests")
    })
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// `target/debug/fle`, built first if this run has not built it.
fn fle_bin() -> PathBuf {
    let bin = repo_root().join("target/debug/fle");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "fle-cli", "--bin", "fle"])
            .current_dir(repo_root())
            .status()
            .unwrap();
        assert!(status.success(), "building fle failed");
    }
    bin
}

fn unique() -> String {
    let mut b = [0u8; 5];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One test's AWS: moto, a CloudFront double in front of it, a KMS key, a unique prefix.
struct Aws {
    moto: String,
    double: Child,
    double_url: String,
    kms_key: String,
    prefix: String,
    tag: String,
    dir: PathBuf,
}

impl Drop for Aws {
    fn drop(&mut self) {
        let _ = self.double.kill();
        let _ = self.double.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Aws {
    fn new() -> Self {
        let moto = env("FLE_TEST_MOTO_URL");
        let script = repo_root().join("tests/cloudfront_double/cloudfront_fle_double.py");
        let mut double = Command::new(env("FLE_TEST_PYTHON"))
            .arg(&script)
            .args(["--upstream", &moto, "--port", "0"])
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
        let dir = std::env::temp_dir().join(format!("checkout-backend-test-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut aws = Self {
            moto,
            double,
            double_url: format!("http://127.0.0.1:{port}"),
            kms_key: String::new(),
            prefix: format!("fle-lambda-{tag}/"),
            tag,
            dir,
        };
        aws.kms_key = aws.py(
            "print(c('kms').create_key(Description='checkout-backend test')['KeyMetadata']['KeyId'])",
            &[],
        );
        aws
    }

    fn name(&self, base: &str) -> String {
        format!("{base}-{}", self.tag)
    }

    /// Python with boto3 against moto; `c(service)` makes a client; argv[2..] are `args`.
    fn py(&self, code: &str, args: &[&str]) -> String {
        let prelude = "import boto3, json, sys, base64\n\
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
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Runs `fle` on the AWS backend (store: `secrets-manager` or `ssm`).
    fn fle(&self, store: &str, args: &[&str]) -> Output {
        Command::new(fle_bin())
            .args(args)
            .args(["--backend", "aws", "--kms-key", &self.kms_key])
            .args([
                "--secret-prefix",
                &self.prefix,
                "--private-key-store",
                store,
            ])
            .args(["--deploy-timeout", "30s"])
            // The emulator is one account shared by every test: more than CloudFront's 10.
            .args(["--public-key-quota", "1000"])
            .envs(self.aws_env())
            .env("AWS_ENDPOINT_URL_CLOUDFRONT", &self.double_url)
            .env_remove("AWS_PROFILE")
            .env_remove("FLE_HOME")
            .output()
            .unwrap()
    }

    fn fle_ok(&self, store: &str, args: &[&str]) -> String {
        let out = self.fle(store, args);
        assert!(
            out.status.success(),
            "fle {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// What the function and `fle` need to reach moto as the standard chain reads it.
    fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.moto.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_MAX_ATTEMPTS", "1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/nonexistent".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".into()),
        ]
    }

    /// The private keys of a provider's keyring, read straight from moto (to search the
    /// function's output for them).
    fn private_pems(&self, store: &str, provider: &str) -> Vec<String> {
        let text = if store == "ssm" {
            self.py(
                "print(c('ssm').get_parameter(Name=sys.argv[2], WithDecryption=True)['Parameter']['Value'])",
                &[&format!("/{}{provider}", self.prefix)],
            )
        } else {
            self.py(
                "print(c('secretsmanager').get_secret_value(SecretId=sys.argv[2])['SecretString'])",
                &[&format!("{}{provider}", self.prefix)],
            )
        };
        let doc: Value = serde_json::from_str(&text).unwrap();
        doc["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["privateKeyPem"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The checkout form encrypted by `fle encrypt --form` with the public key CloudFront holds
    /// under `key_name`.
    fn encrypted_form(&self, store: &str, provider: &str, key_name: &str) -> String {
        let public = self.dir.join(format!("{key_name}.pem"));
        self.fle_ok(
            store,
            &[
                "keys",
                "export-public",
                key_name,
                "-o",
                public.to_str().unwrap(),
                "--force",
            ],
        );
        let plain = self.dir.join("form.txt");
        std::fs::write(&plain, plain_form()).unwrap();
        let out = Command::new(fle_bin())
            .args(["encrypt", "--public-key", public.to_str().unwrap()])
            .args(["--provider", provider, "--key-name", key_name])
            .args(["--form", "--fields", "card_*"])
            .arg(&plain)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "fle encrypt: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let form = String::from_utf8(out.stdout).unwrap().trim_end().to_owned();
        assert!(!form.contains(CARD) && form.contains("holder="), "{form}");
        form
    }
}

fn plain_form() -> String {
    format!(
        "card_number={CARD}&card_cvc={CVC}&holder={}&amount=42.00",
        HOLDER.replace(' ', "+")
    )
}

/// `checkout-backend` running under `cargo lambda watch` with its output captured to a file.
struct Function {
    watch: Child,
    port: u16,
    log: PathBuf,
    dir: PathBuf,
}

impl Drop for Function {
    fn drop(&mut self) {
        // cargo lambda watch runs the function as its child: end the process group it leads.
        let group = format!("-{}", self.watch.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.watch.kill();
        let _ = self.watch.wait();
    }
}

impl Function {
    fn start(aws: &Aws, name: &str, vars: &[(&str, &str)]) -> Self {
        let dir = aws.dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("function-output.log");
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let mut env_file = String::new();
        // Single-quoted: the values hold `=`, `+`, `/` and `:`.
        for (k, v) in aws.aws_env() {
            env_file.push_str(&format!("{k}='{v}'\n"));
        }
        for (k, v) in vars {
            env_file.push_str(&format!("{k}='{v}'\n"));
        }
        let env_path = dir.join("function.env");
        std::fs::write(&env_path, env_file).unwrap();
        let port = free_port();
        let mut cmd = Command::new(env("FLE_TEST_CARGO_LAMBDA"));
        cmd.args(["lambda", "watch", "--ignore-changes", "--quiet"])
            .args([
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &port.to_string(),
            ])
            .args(["--env-file", env_path.to_str().unwrap()])
            .args(["--package", "checkout-backend", "--bin", "checkout-backend"])
            .current_dir(repo_root())
            .envs(aws.aws_env())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let watch = cmd.spawn().expect("start cargo lambda watch");
        let mut f = Self {
            watch,
            port,
            log,
            dir,
        };
        f.wait_listening();
        f
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(300);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.watch.try_wait().unwrap() {
                panic!("cargo lambda watch exited ({status}): {}", self.output());
            }
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not listen on {}: {}",
                self.port,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn output(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Invokes with a REST proxy event; returns (status, body JSON).
    fn invoke(&self, event: &Value) -> (u16, Value) {
        let path = self.dir.join("event.json");
        std::fs::write(&path, serde_json::to_vec(event).unwrap()).unwrap();
        let out = Command::new(env("FLE_TEST_CARGO_LAMBDA"))
            .args(["lambda", "invoke", "--data-file", path.to_str().unwrap()])
            .args([
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &self.port.to_string(),
            ])
            .args(["--output-format", "json", "checkout-backend"])
            .current_dir(repo_root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo lambda invoke: {}\nfunction output:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.output()
        );
        let response: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "invoke printed {:?}: {e}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        let status = u16::try_from(response["statusCode"].as_u64().unwrap()).unwrap();
        let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
        (status, body)
    }

    /// Asserts that nothing secret appeared in the function's output during the whole run.
    fn assert_output_clean(&self, pems: &[String]) {
        let output = self.output();
        assert!(
            output.contains("keys-loaded"),
            "the capture holds the function's own log lines: {output}"
        );
        let mut secrets: Vec<String> =
            vec![CARD.into(), CVC.into(), HOLDER.into(), "Lovelace".into()];
        for pem in pems {
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(&body)
                .unwrap();
            secrets.push(body.clone());
            // Any 40-character stretch of the key's base64, wherever line breaks fall.
            secrets.extend(pem.lines().filter(|l| l.len() >= 40).map(str::to_owned));
            secrets.push(base64::engine::general_purpose::STANDARD.encode(&der));
            secrets.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&der));
            secrets.push(der.iter().map(|b| format!("{b:02x}")).collect());
        }
        for s in &secrets {
            assert!(
                !output.contains(s.as_str()),
                "the function's output contains a secret ({} chars)",
                s.len()
            );
        }
    }
}

/// An API Gateway REST API proxy event carrying `body` as a form.
fn rest_event(body: &str, content_type: &str) -> Value {
    json!({
        "resource": "/checkout",
        "path": "/checkout",
        "httpMethod": "POST",
        "headers": {"Content-Type": content_type, "Host": "api.example.com"},
        "multiValueHeaders": {"Content-Type": [content_type], "Host": ["api.example.com"]},
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "abc123",
            "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "test"},
            "resourcePath": "/checkout",
            "httpMethod": "POST",
            "apiId": "a1b2c3",
            "path": "/prod/checkout",
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": 1_764_547_200_000u64
        },
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true
    })
}

const FORM: &str = "application/x-www-form-urlencoded";

fn ok_summary() -> Value {
    json!({"decrypted": ["card_number", "card_cvc"], "cardLast4": "1111"})
}

#[test]
fn secrets_manager_keyring_rotation_refresh_and_retirement() {
    let aws = Aws::new();
    let store = "secrets-manager";
    let (provider, k1, k2) = (aws.name("shop"), aws.name("k1"), aws.name("k2"));
    let profile = aws.name("checkout");
    aws.fle_ok(
        store,
        &["keys", "generate", "--name", &k1, "--provider", &provider],
    );
    aws.fle_ok(
        store,
        &[
            "profiles", "create", "--name", &profile, "--key", &k1, "--field", "card_*",
        ],
    );
    let secret = format!("{}{provider}", aws.prefix);
    let f = Function::start(
        &aws,
        "sm",
        &[
            ("FLE_KEYRING_SECRET", &secret),
            ("FLE_PROVIDER", &provider),
            ("FLE_FIELDS", "card_*"),
            ("FLE_REFRESH_MIN_INTERVAL", "1s"),
            ("FLE_REFRESH_INTERVAL", "3s"),
            ("FLE_REFRESH_JITTER", "0"),
        ],
    );
    let old_form = aws.encrypted_form(store, &provider, &k1);
    assert_eq!(f.invoke(&rest_event(&old_form, FORM)), (200, ok_summary()));

    // A rotation after the function started: the new key is found through the refresh.
    aws.fle_ok(
        store,
        &[
            "keys",
            "rotate",
            "--profile",
            &profile,
            "--new-key-name",
            &k2,
            "--grace",
            "0s",
        ],
    );
    let pems = aws.private_pems(store, &provider);
    assert_eq!(pems.len(), 2);
    let new_form = aws.encrypted_form(store, &provider, &k2);
    assert_eq!(f.invoke(&rest_event(&new_form, FORM)), (200, ok_summary()));
    assert_eq!(f.invoke(&rest_event(&old_form, FORM)), (200, ok_summary()));

    // Retire k1; once the periodic refresh has run, its messages have no key.
    aws.fle_ok(store, &["keys", "retire"]);
    assert_eq!(aws.private_pems(store, &provider).len(), 1);
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(
        f.invoke(&rest_event(&old_form, FORM)),
        (400, json!({"error": "NoMatchingKey"}))
    );
    assert_eq!(f.invoke(&rest_event(&new_form, FORM)), (200, ok_summary()));
    f.assert_output_clean(&pems);
}

#[test]
fn ssm_keyring_and_refusals() {
    let aws = Aws::new();
    let store = "ssm";
    let (provider, k1) = (aws.name("shop"), aws.name("k1"));
    aws.fle_ok(
        store,
        &["keys", "generate", "--name", &k1, "--provider", &provider],
    );
    let parameter = format!("/{}{provider}", aws.prefix);
    let f = Function::start(
        &aws,
        "ssm",
        &[
            ("FLE_KEYRING_PARAMETER", &parameter),
            ("FLE_FIELDS", "card_*"),
        ],
    );
    let form = aws.encrypted_form(store, &provider, &k1);
    assert_eq!(f.invoke(&rest_event(&form, FORM)), (200, ok_summary()));

    // CloudFront forwarding plaintext (ForwardWhenContentTypeIsUnknown, or a bypass).
    assert_eq!(
        f.invoke(&rest_event(&plain_form(), FORM)),
        (400, json!({"error": "NotEncrypted"}))
    );
    assert_eq!(
        f.invoke(&rest_event(&plain_form(), "text/plain")),
        (415, json!({"error": "UnsupportedContentType"}))
    );
    // One encrypted field swapped for plaintext.
    let mixed: String = form
        .split('&')
        .map(|p| {
            if p.starts_with("card_cvc=") {
                format!("card_cvc={CVC}")
            } else {
                p.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    assert_eq!(
        f.invoke(&rest_event(&mixed, FORM)),
        (400, json!({"error": "NotEncrypted"}))
    );
    // A ciphertext tampered with (one base64 character inside the message flipped).
    // (A letter or digit, not part of a `%2B`-style escape: flipping that would make the value
    // stop being base64, a different refusal.)
    let start = form.find("card_number=").unwrap() + "card_number=".len() + 300;
    let bytes = form.as_bytes();
    let at = (start..form.len())
        .find(|&i| bytes[i].is_ascii_alphanumeric() && bytes[i - 1] != b'%' && bytes[i - 2] != b'%')
        .unwrap();
    let flipped = if &form[at..=at] == "A" { "B" } else { "A" };
    let tampered = format!("{}{flipped}{}", &form[..at], &form[at + 1..]);
    let (status, body) = f.invoke(&rest_event(&tampered, FORM));
    assert_eq!(status, 400, "{body}");
    assert!(
        body == json!({"error": "DecryptionFailed"}) || body == json!({"error": "Malformed"}),
        "{body}"
    );
    // Still serving after every refusal.
    assert_eq!(f.invoke(&rest_event(&form, FORM)), (200, ok_summary()));
    f.assert_output_clean(&aws.private_pems(store, &provider));
}

#[test]
fn kms_encrypted_key_variable() {
    let aws = Aws::new();
    let store = "secrets-manager";
    let (provider, k1) = (aws.name("shop"), aws.name("k1"));
    aws.fle_ok(
        store,
        &["keys", "generate", "--name", &k1, "--provider", &provider],
    );
    let pems = aws.private_pems(store, &provider);
    // The private key kept as KMS ciphertext in the function's configuration.
    let blob = aws.py(
        "r = c('kms').encrypt(KeyId=sys.argv[2], Plaintext=sys.argv[3].encode(), EncryptionContext={'function': 'checkout-backend'})\n\
         print(base64.b64encode(r['CiphertextBlob']).decode())",
        &[&aws.kms_key, &pems[0]],
    );
    let f = Function::start(
        &aws,
        "kms",
        &[
            ("FLE_PRIVATE_KEY_KMS", &blob),
            ("FLE_PROVIDER", &provider),
            ("FLE_KEY_NAME", &k1),
            ("FLE_KMS_CONTEXT", "function=checkout-backend"),
            ("FLE_FIELDS", "card_*"),
        ],
    );
    let form = aws.encrypted_form(store, &provider, &k1);
    assert_eq!(f.invoke(&rest_event(&form, FORM)), (200, ok_summary()));
    f.assert_output_clean(&pems);
}

#[test]
fn an_unavailable_key_source_answers_503_and_recovers() {
    let aws = Aws::new();
    let store = "secrets-manager";
    let (provider, k1) = (aws.name("shop"), aws.name("k1"));
    let secret = format!("{}{provider}", aws.prefix);
    // The function starts before its secret exists (or while its role cannot read it).
    let f = Function::start(
        &aws,
        "unavailable",
        &[
            ("FLE_KEYRING_SECRET", &secret),
            ("FLE_FIELDS", "card_*"),
            ("FLE_REFRESH_MIN_INTERVAL", "1s"),
        ],
    );
    let (status, body) = f.invoke(&rest_event("card_number=AQID", FORM));
    assert_eq!(
        (status, body),
        (503, json!({"error": "KeySourceUnavailable"}))
    );
    aws.fle_ok(
        store,
        &["keys", "generate", "--name", &k1, "--provider", &provider],
    );
    std::thread::sleep(Duration::from_millis(1100));
    let form = aws.encrypted_form(store, &provider, &k1);
    assert_eq!(f.invoke(&rest_event(&form, FORM)), (200, ok_summary()));
    assert!(f.output().contains("ResourceNotFoundException"));
    f.assert_output_clean(&aws.private_pems(store, &provider));
}
