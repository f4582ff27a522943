//! `fle decrypt`: one ESDK message, or a form body with CloudFront-encrypted fields.

use crate::exit::{CmdResult, Failure};
use crate::input;
use anyhow::Context as _;
use fle_decrypt::document::{DocumentError, KeyringDocument};
use fle_decrypt::form::{decode_base64_message, decrypt_form, event_body, FieldPatterns};
use fle_decrypt::json::{decrypt_json, JsonSelectors};
use fle_decrypt::{Error, Keyring, Padding, PrivateKey};
use std::io::Write as _;
use std::path::PathBuf;

/// Decrypt a CloudFront field-level-encryption value (a base64 AWS Encryption SDK message) or,
/// with --form, every encrypted field of a form body.
///
/// The plaintext goes to stdout only after every check has passed. On failure stdout stays
/// empty, stderr gets one line, and the exit code is 1 when the input cannot be decrypted (no
/// matching key, authentication failure, malformed message) or 2 for usage and I/O errors.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 decrypted; 1 cannot be decrypted (no matching key, authentication \
    failure, malformed message; stdout stays empty); 2 usage or I/O error.\n\n\
    Examples:\n  \
    fle decrypt --private-key key.pem --provider checkout --key-name checkout-2026-11 value.b64\n  \
    fle decrypt --private-key key.pem --provider checkout --key-name checkout-2026-11 --form --fields 'card_*,ssn' body.txt\n  \
    fle decrypt --keyring .fle/private/checkout.json --form --fields 'card_*,ssn' body.txt"
)]
pub struct Args {
    #[command(flatten)]
    source: KeySource,
    /// Provider ID of the FLE profile (with --private-key).
    #[arg(long, value_name = "ID", requires = "private_key")]
    provider: Option<String>,
    /// Name of the CloudFront public key the value was encrypted with (with --private-key).
    #[arg(long, value_name = "NAME", requires = "private_key")]
    key_name: Option<String>,
    /// RSA padding of the data key. CloudFront uses oaep-sha256.
    #[arg(long, default_value = "oaep-sha256", value_parser = parse_padding)]
    padding: Padding,
    /// The input is the raw message bytes, not base64.
    #[arg(long, conflicts_with_all = ["form", "json"])]
    binary: bool,
    #[command(flatten)]
    form: FormArgs,
    /// With --form or --json: the body is base64 (an API Gateway event with isBase64Encoded).
    #[arg(long, requires = "fields")]
    base64_body: bool,
    /// Input file, or `-` for standard input.
    #[arg(default_value = "-", value_name = "FILE")]
    input: String,
}

/// Where the private keys come from: one key file, or a whole keyring document.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct KeySource {
    /// RSA private key: PEM or DER, PKCS#8 or PKCS#1 (needs --provider and --key-name).
    #[arg(long, value_name = "FILE", requires_all = ["provider", "key_name"])]
    private_key: Option<PathBuf>,
    /// A provider's keyring document (the keystore's private/<provider>.json, or the value of
    /// its secret): every key in it is tried, current and previous alike, as a backend does
    /// during a rotation.
    #[arg(long, value_name = "FILE")]
    keyring: Option<PathBuf>,
}

/// Which key a message is for: what CloudFront writes into its encrypted data key.
#[derive(Debug, clap::Args)]
pub(crate) struct KeyRef {
    /// Provider ID of the FLE profile (the encrypted data key's provider ID).
    #[arg(long, value_name = "ID")]
    pub(crate) provider: String,
    /// Name of the CloudFront public key (the encrypted data key's provider info).
    #[arg(long, value_name = "NAME")]
    pub(crate) key_name: String,
    /// RSA padding of the data key. CloudFront uses oaep-sha256.
    #[arg(long, default_value = "oaep-sha256", value_parser = parse_padding)]
    pub(crate) padding: Padding,
}

/// A form or JSON body instead of one value.
#[derive(Debug, clap::Args)]
pub(crate) struct FormArgs {
    /// The input is an application/x-www-form-urlencoded body: work on the fields matching
    /// --fields and print the whole body.
    #[arg(long, requires = "fields", conflicts_with = "json")]
    form: bool,
    /// The input is a JSON document: work on the values the --fields selectors pick (JSON
    /// Pointers, `*` for any member or element) and print the whole document.
    #[arg(long, requires = "fields")]
    json: bool,
    /// With --form: field patterns, comma-separated, exact names or a prefix followed by `*`.
    /// With --json: selectors, comma-separated, e.g. `/card/number,/payments/*/iban`.
    #[arg(long, value_name = "PATTERNS")]
    fields: Option<String>,
}

/// What the input is.
pub(crate) enum Body {
    Value,
    Form(FieldPatterns),
    Json(JsonSelectors),
}

impl FormArgs {
    /// What --form / --json say the input is.
    pub(crate) fn body(&self) -> Result<Body, Failure> {
        let bad = |e: Error| Failure::usage(anyhow::Error::new(e).context("--fields"));
        match (&self.fields, self.form, self.json) {
            (Some(list), true, _) => FieldPatterns::parse(list)
                .map(Body::Form)
                .map_err(|e| bad(e.into())),
            (Some(list), _, true) => JsonSelectors::parse(list)
                .map(Body::Json)
                .map_err(|e| bad(e.into())),
            (Some(_), false, false) => Err(Failure::usage(anyhow::anyhow!(
                "--fields needs --form or --json"
            ))),
            _ => Ok(Body::Value),
        }
    }
}

pub(crate) fn parse_padding(s: &str) -> Result<Padding, String> {
    Padding::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Padding::ALL.iter().map(|p| p.name()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

fn load_keys(args: &Args) -> Result<Keyring, Failure> {
    let mut keyring = Keyring::new();
    let usage = |e: fle_decrypt::Error| Failure::usage(anyhow::Error::new(e));
    match (
        &args.source.private_key,
        &args.source.keyring,
        &args.provider,
        &args.key_name,
    ) {
        (Some(path), None, Some(provider), Some(key_name)) => {
            let key_bytes = input::read_key(path, true)?;
            let key = PrivateKey::from_pem_or_der(&key_bytes)
                .with_context(|| format!("loading private key {}", path.display()))
                .map_err(Failure::usage)?;
            keyring
                .add(provider, key_name, key, args.padding)
                .map_err(usage)?;
        }
        (None, Some(path), _, _) => {
            let bytes = input::read_key(path, true)?;
            // The one parser of the document (fle_decrypt::document): its errors say where the
            // document is wrong, never what was there (that value may be key material).
            let doc = KeyringDocument::parse(&bytes).map_err(|e| match e {
                DocumentError::UnsupportedFormat(_) => {
                    Failure::usage(anyhow::anyhow!("{}: {e}", path.display()))
                }
                _ => Failure::usage(anyhow::anyhow!(
                    "{}: not a keyring document ({e})",
                    path.display()
                )),
            })?;
            // A broken key (e.g. a truncated PEM) is reported by name and skipped: the others
            // keep decrypting, as they do in a backend.
            let mut broken = 0_usize;
            for entry in &doc.keys {
                match entry.private_key_pem.parse() {
                    Ok(key) => keyring
                        .add(&doc.provider_id, &entry.key_name, key, args.padding)
                        .map_err(usage)?,
                    Err(e) => {
                        broken = broken.saturating_add(1);
                        eprintln!(
                            "fle: decrypt: warning: {}: key {:?} cannot be used ({e}); decrypting with the other keys",
                            path.display(),
                            entry.key_name
                        );
                    }
                }
            }
            if keyring.is_empty() {
                return Err(Failure::usage(anyhow::anyhow!(
                    "{}: the keyring holds no usable key{}",
                    path.display(),
                    if broken > 0 {
                        " (every key is broken)"
                    } else {
                        ""
                    }
                )));
            }
        }
        _ => {
            return Err(Failure::usage(anyhow::anyhow!(
                "give --private-key with --provider and --key-name, or --keyring"
            )))
        }
    }
    Ok(keyring)
}

/// Maps a library error to the CLI's outcome: a clean "no" (1) or a usage problem (2).
pub(crate) fn classify(error: Error) -> Failure {
    match error.root() {
        Error::InvalidKey(_) => Failure::usage(error),
        Error::InvalidForm(_) => Failure::usage(error),
        Error::InvalidJson(_) if !matches!(error, Error::Field { .. }) => Failure::usage(error),
        _ => Failure::no(error),
    }
}

pub fn run(args: Args) -> CmdResult {
    run_decrypt(args).map_err(|f| f.context("decrypt"))
}

/// Why no key decrypted `message`, in words: what it asks for and what the keyring holds
/// (names from the header and the keyring, never key material).
fn no_matching_key(keyring: &Keyring, message: &[u8]) -> Failure {
    let asked: Vec<String> = keyring
        .requested_keys(message)
        .unwrap_or_default()
        .into_iter()
        .map(|(p, k)| format!("provider {p:?} key {k:?}"))
        .collect();
    let held: Vec<String> = keyring
        .key_names()
        .map(|(p, k)| format!("{p:?}/{k:?}"))
        .collect();
    Failure::no(anyhow::anyhow!(
        "no encrypted data key matches a key in the keyring: the message asks for {}; the keyring holds {}; decrypt with the keyring of that provider (a retired key cannot decrypt any more)",
        if asked.is_empty() { "no key".to_owned() } else { asked.join(" or ") },
        held.join(", ")
    ))
}

fn run_decrypt(args: Args) -> CmdResult {
    let keyring = load_keys(&args)?;
    let input = input::read(&args.input)?;

    let kind = args.form.body()?;
    let body = || -> Result<Vec<u8>, Failure> {
        if args.base64_body {
            let text = std::str::from_utf8(&input)
                .map_err(|_| Failure::no(anyhow::anyhow!("the base64 body is not text")))?;
            event_body(text, true).map_err(classify)
        } else {
            Ok(input.clone())
        }
    };
    let output = if let Body::Form(patterns) = &kind {
        decrypt_form(&keyring, &body()?, patterns)
            .map_err(classify)?
            .to_body()
    } else if let Body::Json(selectors) = &kind {
        let body = zeroize::Zeroizing::new(body()?);
        let doc = decrypt_json(&keyring, &body, selectors).map_err(classify)?;
        fle_decrypt::Secret::from_vec(doc.to_body().expose().to_vec())
    } else {
        let message = if args.binary {
            zeroize::Zeroizing::new(input)
        } else {
            decode_base64_message(&input).ok_or_else(|| {
                Failure::no(anyhow::anyhow!(
                    "input is not base64: expected a base64 AWS Encryption SDK message as CloudFront writes it (use --binary for raw bytes)"
                ))
            })?
        };
        match keyring.decrypt(&message) {
            Ok(d) => d.into_plaintext(),
            Err(Error::NoMatchingKey) => return Err(no_matching_key(&keyring, &message)),
            Err(e @ Error::Malformed(_)) => {
                return Err(Failure::no(anyhow::Error::new(e).context(
                    "the input is not an AWS Encryption SDK message (a value CloudFront encrypted)",
                )))
            }
            Err(e) => return Err(classify(e)),
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(output.expose())
        .and_then(|()| stdout.flush())
        .context("writing to stdout")?;
    Ok(())
}
