//! `fle demo`: the whole path of one form through the architecture, locally, with real
//! cryptography and no AWS account. Every step is checked; the exit code says whether all held.

use crate::exit::{CmdResult, Failure};
use anyhow::{anyhow, Context as _};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeySize, PrivateDecryptingKey};
use base64::Engine as _;
use edge_signer::event::{Body, CustomOrigin, Header, Headers, Origin, Request};
use edge_signer::{Credentials, SigningParams, SigningTime};
use fle_decrypt::encrypt::{encrypt_form, Encryptor, PublicKey};
use fle_decrypt::form::{decrypt_form, FieldPatterns};
use fle_decrypt::{Error, Keyring, Padding, PrivateKey};

/// Walk one checkout form through CloudFront field-level encryption, the Lambda@Edge signer
/// and the backend decryptor — then rotate the key and retire the old one — all locally.
///
/// Keys are generated in memory and thrown away; plaintext is compared, never printed.
#[derive(Debug, clap::Args)]
pub struct Args {}

const PROVIDER: &str = "demo-provider";
const FORM: &[u8] =
    b"name=Jane+Doe&card_number=4111111111111111&card_cvc=123&ssn=078-05-1120&amount=42.00";
const FIELDS: &str = "card_*,ssn";
const ORIGIN: &str = "abc123defg.execute-api.eu-west-1.amazonaws.com";
/// The example credentials of the AWS documentation: they sign, and open nothing.
const DEMO_ACCESS_KEY: &str = "AKIDEXAMPLE";
const DEMO_SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

struct Pair {
    name: &'static str,
    pkcs8: zeroize::Zeroizing<Vec<u8>>,
    encryptor: Encryptor,
}

impl Pair {
    /// The private key, as a backend would load it from its secret store.
    fn private(&self) -> anyhow::Result<PrivateKey> {
        Ok(PrivateKey::from_der(&self.pkcs8)?)
    }
}

fn key_pair(name: &'static str) -> anyhow::Result<Pair> {
    let key = PrivateDecryptingKey::generate(KeySize::Rsa2048)
        .map_err(|_| anyhow!("RSA key generation failed"))?;
    let pkcs8 = zeroize::Zeroizing::new(
        AsDer::<Pkcs8V1Der>::as_der(&key)
            .map_err(|_| anyhow!("serialising the private key"))?
            .as_ref()
            .to_vec(),
    );
    let spki = AsDer::<PublicKeyX509Der>::as_der(&key.public_key())
        .map_err(|_| anyhow!("serialising the public key"))?;
    Ok(Pair {
        name,
        pkcs8,
        encryptor: Encryptor::new(PublicKey::from_der(spki.as_ref())?, PROVIDER, name)?,
    })
}

fn check(ok: bool, what: &str) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure::no(anyhow!("demo check failed: {what}")))
    }
}

pub fn run(_args: Args) -> CmdResult {
    println!("fle demo: one checkout form, end to end, on this machine (no AWS account)\n");
    let patterns = FieldPatterns::parse(FIELDS).map_err(anyhow::Error::new)?;

    let old = key_pair("demo-key-1")?;
    println!("1. keys       RSA-2048 pair {:?} for provider {PROVIDER:?}; the private key stays in memory", old.name);
    println!(
        "2. profile    fields {FIELDS} are encrypted with {:?}",
        old.name
    );
    println!(
        "3. browser    POST /checkout, {} bytes: {}",
        FORM.len(),
        field_names(FORM)
    );

    let encrypted = encrypt_form(&old.encryptor, FORM, &patterns).map_err(anyhow::Error::new)?;
    println!(
        "4. CloudFront field-level encryption ({} bytes now)",
        encrypted.len()
    );
    for (name, value) in pairs(&encrypted) {
        if patterns.matches(name.as_bytes()) {
            println!(
                "             {name:<12} = {}… ({} chars of base64 ESDK message, suite 0378)",
                value.get(..12).unwrap_or(&value),
                value.len()
            );
        } else {
            println!("             {name:<12}   passed through unchanged");
        }
    }
    check(
        !contains(&encrypted, b"4111111111111111"),
        "the card number is not visible after CloudFront",
    )?;

    let signed = sign_at_edge(&encrypted)?;
    let auth = signed
        .headers
        .get("authorization")
        .and_then(|h| h.first())
        .map(|h| h.value.as_str())
        .unwrap_or("");
    let signed_headers = auth
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("");
    println!("5. Lambda@Edge SigV4 for execute-api in eu-west-1, host {ORIGIN}");
    println!("             signed headers: {signed_headers}");
    check(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
        "the origin request is signed",
    )?;
    check(
        signed_headers.split(';').any(|h| h == "x-api-key"),
        "the API key is signed",
    )?;

    let mut keyring = Keyring::new();
    keyring
        .add(PROVIDER, old.name, old.private()?, Padding::OaepSha256)
        .map_err(anyhow::Error::new)?;
    let body = base64::engine::general_purpose::STANDARD
        .decode(signed.body.as_ref().map(|b| b.data.as_str()).unwrap_or(""))
        .context("the signed request's body is not base64")?;
    let form =
        decrypt_form(&keyring, &body, &patterns).map_err(|e| Failure::no(anyhow::Error::new(e)))?;
    let names: Vec<&str> = form.decrypted().map(|(n, _)| n).collect();
    println!(
        "6. backend    decrypted {} with {:?}",
        names.join(", "),
        old.name
    );
    check(
        form.to_body().expose() == FORM,
        "the backend sees exactly what the browser sent",
    )?;
    println!("             the rebuilt body equals what the browser sent (plaintext not shown)");

    let new = key_pair("demo-key-2")?;
    keyring
        .add(PROVIDER, new.name, new.private()?, Padding::OaepSha256)
        .map_err(anyhow::Error::new)?;
    let after = encrypt_form(&new.encryptor, FORM, &patterns).map_err(anyhow::Error::new)?;
    let old_ok = decrypt_form(&keyring, &encrypted, &patterns).is_ok();
    let new_form = decrypt_form(&keyring, &after, &patterns)
        .map_err(|e| Failure::no(anyhow::Error::new(e)))?;
    let new_key_used = new_form.decrypted().all(|(_, d)| d.key_name() == new.name);
    println!("7. rotation   profile now on {:?}; the backend holds both keys: old and new traffic decrypt", new.name);
    check(
        old_ok && new_key_used,
        "both keys decrypt during the overlap",
    )?;

    // `fle keys retire` after the grace period: the backend keeps only the new key.
    let mut retired = Keyring::new();
    retired
        .add(PROVIDER, new.name, new.private()?, Padding::OaepSha256)
        .map_err(anyhow::Error::new)?;
    let refused = decrypt_form(&retired, &encrypted, &patterns).map_err(|e| e.root().clone());
    println!("8. retire     after the grace period demo-key-1 is gone: its old messages are refused ({})",
        refused.as_ref().err().map(ToString::to_string).unwrap_or_default());
    check(
        matches!(refused, Err(Error::NoMatchingKey)),
        "a retired key's messages are refused",
    )?;

    println!("\nAll checks passed. Next: `fle keys generate`, `fle profiles create`, `fle keys rotate` (see README).");
    Ok(())
}

fn field_names(body: &[u8]) -> String {
    pairs(body)
        .into_iter()
        .map(|(n, _)| n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// (name, value) pairs of a form body, as text, for display only.
fn pairs(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (n.to_owned(), v.to_owned())
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn sign_at_edge(body: &[u8]) -> Result<Request, Failure> {
    let mut custom_headers = Headers::new();
    custom_headers.insert(
        "x-api-key".into(),
        vec![Header::new(
            "x-api-key",
            "demo-api-key-0123456789abcdefghij",
        )],
    );
    let mut headers = Headers::new();
    headers.insert(
        "content-type".into(),
        vec![Header::new(
            "Content-Type",
            "application/x-www-form-urlencoded",
        )],
    );
    headers.insert("host".into(), vec![Header::new("Host", "shop.example.com")]);
    let request = Request {
        method: "POST".into(),
        uri: "/checkout".into(),
        querystring: String::new(),
        headers,
        body: Some(Body {
            input_truncated: false,
            action: Some("read-only".into()),
            encoding: Some("base64".into()),
            data: base64::engine::general_purpose::STANDARD.encode(body),
            extra: Default::default(),
        }),
        origin: Some(Origin {
            custom: Some(CustomOrigin {
                domain_name: ORIGIN.into(),
                path: "/prod".into(),
                custom_headers,
                extra: Default::default(),
            }),
            extra: Default::default(),
        }),
        extra: Default::default(),
    };
    let credentials = Credentials::new(DEMO_ACCESS_KEY, DEMO_SECRET_KEY, None);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| Failure::usage(anyhow!("the system clock is before 1970")))?;
    let time = SigningTime::from_unix(i64::try_from(now.as_secs()).unwrap_or(i64::MAX))
        .map_err(|_| Failure::usage(anyhow!("the system clock is out of range")))?;
    let params = SigningParams {
        credentials: credentials.as_ref(),
        region: None,
        service: edge_signer::DEFAULT_SERVICE,
        time,
        payload_sha256: None,
    };
    edge_signer::sign_request(&request, &params)
        .map_err(|r| Failure::no(anyhow!("the edge signer refused: {r:?}")))
}
