//! `fle encrypt`: make a field value or a whole form body exactly as CloudFront would.

use crate::cmd::decrypt::{classify, Body, FormArgs, KeyRef};
use crate::exit::{CmdResult, Failure};
use crate::input;
use anyhow::Context as _;
use fle_decrypt::encrypt::{encrypt_form, Encryptor, PublicKey, DEFAULT_FRAME_LENGTH};
use fle_decrypt::Suite;
use std::io::Write as _;
use std::path::PathBuf;

/// Encrypt a value (or, with --form, the matching fields of a form body; with --json, the
/// values a JSON document's selectors pick) into AWS Encryption SDK messages, exactly as
/// CloudFront field-level encryption does: RSA-OAEP-SHA256 key wrapping, suite 0378, 4096-byte
/// frames, base64 output.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    printf 4111111111111111 | fle encrypt --public-key pub.pem --provider checkout --key-name checkout-2026-11\n  \
    fle encrypt --public-key pub.pem --provider checkout --key-name checkout-2026-11 --form --fields 'card_*' body.txt")]
pub struct Args {
    /// RSA public key (PEM, SubjectPublicKeyInfo: what CloudFront stores).
    #[arg(long, value_name = "FILE")]
    public_key: PathBuf,
    #[command(flatten)]
    key: KeyRef,
    /// Algorithm suite ID in hex: 0014 0046 0078 0114 0146 0178 0214 0346 0378 0478 0578.
    #[arg(long, default_value = "0378", value_parser = parse_suite)]
    suite: Suite,
    /// Frame length in bytes; 0 makes a non-framed message.
    #[arg(long, default_value_t = DEFAULT_FRAME_LENGTH)]
    frame_length: u32,
    /// Write the raw message bytes instead of base64.
    #[arg(long, conflicts_with_all = ["form", "json"])]
    binary: bool,
    #[command(flatten)]
    form: FormArgs,
    /// Input file, or `-` for standard input.
    #[arg(default_value = "-", value_name = "FILE")]
    input: String,
}

fn parse_suite(s: &str) -> Result<Suite, String> {
    let hex = s.trim_start_matches("0x");
    u16::from_str_radix(hex, 16)
        .ok()
        .and_then(|id| Suite::from_id(id).ok())
        .ok_or_else(|| {
            let ids: Vec<String> = Suite::ALL
                .iter()
                .map(|s| format!("{:04x}", s.id()))
                .collect();
            format!("expected one of {}", ids.join(" "))
        })
}

pub fn run(args: Args) -> CmdResult {
    run_encrypt(args).map_err(|f| f.context("encrypt"))
}

fn run_encrypt(args: Args) -> CmdResult {
    let pem = input::read_key(&args.public_key, false)?;
    let key = PublicKey::from_pem(&pem)
        .with_context(|| format!("loading public key {}", args.public_key.display()))
        .map_err(Failure::usage)?;
    let encryptor = Encryptor::with_padding(
        key,
        &args.key.provider,
        &args.key.key_name,
        args.key.padding,
    )
    .map_err(|e| Failure::usage(anyhow::Error::new(e)))?
    .suite(args.suite)
    .frame_length(args.frame_length);
    let input = zeroize::Zeroizing::new(input::read(&args.input)?);
    let output = match args.form.body()? {
        Body::Form(patterns) => {
            Some(encrypt_form(&encryptor, &input, &patterns).map_err(classify)?)
        }
        Body::Json(selectors) => Some(
            fle_decrypt::json::encrypt_json(&encryptor, &input, &selectors).map_err(classify)?,
        ),
        Body::Value => None,
    };
    let output = if let Some(body) = output {
        body
    } else if args.binary {
        encryptor.encrypt(&input).map_err(classify)?
    } else {
        let mut b64 = encryptor
            .encrypt_base64(&input)
            .map_err(classify)?
            .into_bytes();
        b64.push(b'\n');
        b64
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&output)
        .and_then(|()| stdout.flush())
        .context("writing to stdout")?;
    Ok(())
}
