//! The AWS SigV4 test suite (../shared/vectors/sigv4/v4) through the signing core. Every case
//! is a named test per mode (header signing, query signing); canonical request, string to
//! sign and signature are checked separately so a failure names the stage.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::rfc3339;
use std::path::PathBuf;

use edge_signer::sigv4::{self, CanonicalInput};
use edge_signer::SigningTime;
use serde_json::Value;

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/sigv4/v4")
}

fn read(case: &str, file: &str) -> Option<String> {
    std::fs::read_to_string(suite_dir().join(case).join(file)).ok()
}

struct Context {
    access_key_id: String,
    secret: String,
    token: Option<String>,
    omit_session_token: bool,
    region: String,
    service: String,
    time: SigningTime,
    normalize: bool,
    sign_body: bool,
}

fn context(case: &str) -> Context {
    let text = read(case, "context.json").unwrap_or_else(|| panic!("{case}: no context.json"));
    let v: Value = serde_json::from_str(&text).unwrap();
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    Context {
        access_key_id: s("/credentials/access_key_id").unwrap(),
        secret: s("/credentials/secret_access_key").unwrap(),
        token: s("/credentials/token"),
        omit_session_token: v["omit_session_token"].as_bool().unwrap_or(false),
        region: s("/region").unwrap(),
        service: s("/service").unwrap(),
        time: rfc3339(&s("/timestamp").unwrap()).unwrap(),
        normalize: v["normalize"].as_bool().unwrap(),
        sign_body: v["sign_body"].as_bool().unwrap(),
    }
}

struct HttpRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// `request.txt`: request line, `Name:value` headers (indented lines continue the previous
/// value), blank line, body.
fn request(case: &str) -> HttpRequest {
    let text = read(case, "request.txt").unwrap();
    let (head, body) = text.split_once("\n\n").unwrap_or((text.as_str(), ""));
    let mut lines = head.lines();
    let first = lines.next().unwrap();
    let (method, rest) = first.split_once(' ').unwrap();
    let target = rest.rsplit_once(" HTTP/").unwrap().0;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            headers.last_mut().unwrap().1.push_str(&format!("\n{line}"));
        } else {
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_string(), value.to_string()));
        }
    }
    HttpRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn check(case: &str, stage: &str, got: &str, want: &str) {
    assert_eq!(got, want.trim_end_matches('\n'), "{case}: {stage} differs");
}

/// Header signing: `x-amz-date` (and the token, unless added after signing) are signed headers.
fn header_mode(case: &str) {
    let ctx = context(case);
    let req = request(case);
    let payload = sigv4::sha256_hex(&req.body);
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("x-amz-date"))
        .cloned()
        .collect();
    headers.push(("x-amz-date".into(), ctx.time.amz_date()));
    if ctx.sign_body {
        headers.push(("x-amz-content-sha256".into(), payload.clone()));
    }
    if let (Some(token), false) = (&ctx.token, ctx.omit_session_token) {
        headers.push(("x-amz-security-token".into(), token.clone()));
    }
    run_stages(case, "header", &ctx, &req, &req.query, &headers, &payload);
}

/// Query (presigned) signing: the `X-Amz-*` parameters join the query, only request headers
/// are signed.
fn query_mode(case: &str) {
    let ctx = context(case);
    let req = request(case);
    let payload = sigv4::sha256_hex(&req.body);
    let mut names: Vec<String> = req
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    names.sort();
    names.dedup();
    let scope = sigv4::credential_scope(ctx.time, &ctx.region, &ctx.service);
    let enc = |s: &str| {
        let mut out = String::new();
        sigv4::uri_encode(s.as_bytes(), false, &mut out);
        out
    };
    let mut query = req.query.clone();
    let mut add = |k: &str, v: &str| {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&format!("{k}={}", enc(v)));
    };
    add("X-Amz-Algorithm", sigv4::ALGORITHM);
    add(
        "X-Amz-Credential",
        &format!("{}/{scope}", ctx.access_key_id),
    );
    add("X-Amz-Date", &ctx.time.amz_date());
    add("X-Amz-Expires", "3600");
    add("X-Amz-SignedHeaders", &names.join(";"));
    if let (Some(token), false) = (&ctx.token, ctx.omit_session_token) {
        add("X-Amz-Security-Token", token);
    }
    run_stages(case, "query", &ctx, &req, &query, &req.headers, &payload);
}

fn run_stages(
    case: &str,
    mode: &str,
    ctx: &Context,
    req: &HttpRequest,
    query: &str,
    headers: &[(String, String)],
    payload: &str,
) {
    let canonical = sigv4::canonical_request(&CanonicalInput {
        method: &req.method,
        path: &req.path,
        query,
        headers,
        payload_sha256: payload,
        normalize_path: ctx.normalize,
    });
    check(
        case,
        "canonical request",
        &canonical.text,
        &read(case, &format!("{mode}-canonical-request.txt")).unwrap(),
    );
    let scope = sigv4::credential_scope(ctx.time, &ctx.region, &ctx.service);
    let sts = sigv4::string_to_sign(ctx.time, &scope, &canonical.text);
    check(
        case,
        "string to sign",
        &sts,
        &read(case, &format!("{mode}-string-to-sign.txt")).unwrap(),
    );
    let key = sigv4::signing_key(&ctx.secret, ctx.time, &ctx.region, &ctx.service);
    check(
        case,
        "signature",
        &sigv4::signature(&key, &sts),
        &read(case, &format!("{mode}-signature.txt")).unwrap(),
    );
}

macro_rules! cases {
    ($($name:ident = $dir:literal;)*) => {
        $(mod $name {
            #[test]
            fn header() { super::header_mode($dir) }
            #[test]
            fn query() { super::query_mode($dir) }
        })*
        const NAMED: &[&str] = &[$($dir),*];
    };
}

cases! {
    get_header_key_duplicate = "get-header-key-duplicate";
    get_header_value_multiline = "get-header-value-multiline";
    get_header_value_order = "get-header-value-order";
    get_header_value_trim = "get-header-value-trim";
    get_relative_normalized = "get-relative-normalized";
    get_relative_relative_normalized = "get-relative-relative-normalized";
    get_relative_relative_unnormalized = "get-relative-relative-unnormalized";
    get_relative_unnormalized = "get-relative-unnormalized";
    get_slash_dot_slash_normalized = "get-slash-dot-slash-normalized";
    get_slash_dot_slash_unnormalized = "get-slash-dot-slash-unnormalized";
    get_slash_normalized = "get-slash-normalized";
    get_slash_pointless_dot_normalized = "get-slash-pointless-dot-normalized";
    get_slash_pointless_dot_unnormalized = "get-slash-pointless-dot-unnormalized";
    get_slash_unnormalized = "get-slash-unnormalized";
    get_slashes_normalized = "get-slashes-normalized";
    get_slashes_unnormalized = "get-slashes-unnormalized";
    get_space_unnormalized = "get-space-unnormalized";
    get_unreserved = "get-unreserved";
    get_utf8 = "get-utf8";
    get_vanilla = "get-vanilla";
    get_vanilla_empty_query_key = "get-vanilla-empty-query-key";
    get_vanilla_query = "get-vanilla-query";
    get_vanilla_query_order_encoded = "get-vanilla-query-order-encoded";
    get_vanilla_query_order_key_case = "get-vanilla-query-order-key-case";
    get_vanilla_query_unreserved = "get-vanilla-query-unreserved";
    get_vanilla_utf8_query = "get-vanilla-utf8-query";
    get_vanilla_with_session_token = "get-vanilla-with-session-token";
    post_header_key_case = "post-header-key-case";
    post_header_key_sort = "post-header-key-sort";
    post_header_value_case = "post-header-value-case";
    post_sts_header_after = "post-sts-header-after";
    post_sts_header_before = "post-sts-header-before";
    post_vanilla = "post-vanilla";
    post_vanilla_empty_query_value = "post-vanilla-empty-query-value";
    post_vanilla_query = "post-vanilla-query";
    post_x_www_form_urlencoded = "post-x-www-form-urlencoded";
    post_x_www_form_urlencoded_parameters = "post-x-www-form-urlencoded-parameters";
}

/// Cases without `context.json`, in the old format; their parameters are in their files.
mod old_format {
    use super::*;

    /// Path `%3A` must be encoded again (`%253A`): the double encoding every non-S3 service
    /// uses. The old-format case has no context: lambda, us-east-2, 2021-05-11T15:40:45Z.
    #[test]
    fn double_url_encode() {
        let case = "double-url-encode";
        let req = request(case);
        let time = rfc3339("2021-05-11T15:40:45Z").unwrap();
        let mut headers: Vec<(String, String)> = req.headers.clone();
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case("x-amz-date"));
        headers.push(("x-amz-date".into(), time.amz_date()));
        let canonical = sigv4::canonical_request(&CanonicalInput {
            method: &req.method,
            path: &req.path,
            query: &req.query,
            headers: &headers,
            payload_sha256: &sigv4::sha256_hex(&req.body),
            normalize_path: true,
        });
        check(
            case,
            "canonical request",
            &canonical.text,
            &read(case, "header-canonical-request.txt").unwrap(),
        );
        let scope = sigv4::credential_scope(time, "us-east-2", "lambda");
        let sts = sigv4::string_to_sign(time, &scope, &canonical.text);
        check(
            case,
            "string to sign",
            &sts,
            &read(case, "header-string-to-sign.txt").unwrap(),
        );
        let key = sigv4::signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            time,
            "us-east-2",
            "lambda",
        );
        let signed = read(case, "header-signed-request.txt").unwrap();
        let want = signed.rsplit_once("Signature=").unwrap().1.trim();
        check(case, "signature", &sigv4::signature(&key, &sts), want);
    }

    /// `@` encodes to `%40`, `%3D` to `%253D`. Only the canonical request is checked: its
    /// `x-amz-date` (2021-05-11) contradicts the request and signed request (2015-08-30, key
    /// id `ANOTREAL` with no secret given), so there is no string to sign or signature to
    /// compare with.
    #[test]
    fn double_encode_path() {
        let case = "double-encode-path";
        let req = request(case);
        let mut headers: Vec<(String, String)> = req.headers.clone();
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case("x-amz-date"));
        headers.push(("x-amz-date".into(), "20210511T154045Z".into()));
        let canonical = sigv4::canonical_request(&CanonicalInput {
            method: &req.method,
            path: &req.path,
            query: &req.query,
            headers: &headers,
            payload_sha256: &sigv4::sha256_hex(&req.body),
            normalize_path: true,
        });
        check(
            case,
            "canonical request",
            &canonical.text,
            &read(case, "header-canonical-request.txt").unwrap(),
        );
    }
}

/// Skipped cases, each with its reason.
const SKIPPED: &[(&str, &str)] = &[(
    "get-space-normalized",
    "its request.txt carries the path already encoded (`/example%20space/`) yet expects it \
     encoded once (`%20`), contradicting double-url-encode (`%3A` -> `%253A`); the upstream \
     case has a raw space, which get-space-unnormalized covers",
)];

#[test]
#[ignore = "get-space-normalized: request.txt path pre-encoded but expected single-encoded, contradicts double-url-encode"]
fn get_space_normalized() {
    header_mode("get-space-normalized");
}

/// Every folder of the suite is a named case or a named skip: a new case cannot go unrun.
#[test]
fn every_case_is_named() {
    let mut dirs: Vec<String> = std::fs::read_dir(suite_dir())
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", suite_dir().display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut named: Vec<String> = NAMED.iter().map(|s| s.to_string()).collect();
    named.extend([
        "double-url-encode".to_string(),
        "double-encode-path".to_string(),
    ]);
    named.extend(SKIPPED.iter().map(|(n, _)| n.to_string()));
    named.sort();
    assert_eq!(dirs, named);
}
