#!/usr/bin/env python3
"""Independent verifier of the edge signer's output, on botocore's SigV4Auth.

Reads a JSON array on stdin; each item is
  {"name", "event", "result", "credentials": {accessKeyId, secretAccessKey, sessionToken?} | null,
   "time": RFC3339, "region": str | null, "service": str, "expect": "signed" | "<status>",
   "encrypted": bool?}
where `result` is what the Lambda@Edge handler (or `fle edge sign`) returned for `event`. With
"encrypted", the edge encrypted fields: the result must replace the body (action "replace"),
and the signature must cover the body it forwards, not the viewer's.

For a signed request it rebuilds what CloudFront sends to the origin and API Gateway
receives: host = origin domain, path = origin path + uri, the forwarded querystring, the
headers listed in SignedHeaders (origin custom headers taken from the event, since CloudFront
adds them itself), the decoded body bytes. It then asks botocore for the canonical request,
string to sign and signature and compares. Nothing of the signer under test is reused.

Prints one line per item; exits 1 if any item fails.
"""

import base64
import datetime
import hashlib
import json
import re
import sys
from urllib.parse import parse_qsl, quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# Headers CloudFront adds or rewrites between the function and the origin: signing one of
# them makes the signature fail at the origin.
NEVER_SIGNED = {"x-forwarded-for", "via", "user-agent", "x-amz-cf-id", "content-length",
                "transfer-encoding", "accept-encoding", "connection"}


def canonical_query(query):
    """SigV4 canonical form of a wire query, as API Gateway reads it (+ is a space)."""
    pairs = parse_qsl(query, keep_blank_values=True, encoding="latin-1")
    enc = [(quote(k, safe="-_.~", encoding="latin-1"), quote(v, safe="-_.~", encoding="latin-1"))
           for k, v in pairs]
    return "&".join(f"{k}={v}" for k, v in sorted(enc))


def decoded_pairs(query):
    return sorted(parse_qsl(query, keep_blank_values=True, encoding="latin-1"))


def region_of(domain):
    m = re.fullmatch(r"[^.]+\.(?:execute-api|lambda-url)\.([a-z0-9-]+)\.(?:amazonaws\.com|on\.aws)", domain)
    return m.group(1) if m else None


def check_signed(item, fail):
    event_req = item["event"]["Records"][0]["cf"]["request"]
    out = item["result"]
    origin = event_req["origin"]["custom"]
    domain = origin["domainName"]
    creds = item["credentials"]
    headers = {k: [h["value"] for h in v] for k, v in out.get("headers", {}).items()}

    if out.get("method") != event_req["method"] or out.get("uri") != event_req["uri"]:
        fail("method or uri changed")
    forwarded_body = event_req.get("body")
    if item.get("encrypted"):
        forwarded_body = out.get("body") or {}
        if forwarded_body.get("action") != "replace":
            fail("the encrypted body does not replace the viewer's")
        if forwarded_body == event_req.get("body"):
            fail("the body is the viewer's")
    elif out.get("body") != event_req.get("body"):
        fail("body changed")
    if headers.get("host") != [domain]:
        fail(f"host is {headers.get('host')}, not the origin domain {domain}")
    forwarded_query = out.get("querystring", "")
    if decoded_pairs(forwarded_query) != decoded_pairs(event_req["querystring"]):
        fail("forwarded query does not carry the viewer's parameters")
    if canonical_query(forwarded_query) != forwarded_query:
        fail(f"forwarded query {forwarded_query!r} is not in canonical form")
    for name in origin.get("customHeaders", {}):
        if name in headers:
            fail(f"{name} repeats an origin custom header")
    if "x-api-key" in headers:
        fail("the viewer's x-api-key is forwarded (the key is the origin custom header's only)")

    auth = headers.get("authorization", [""])
    m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})", auth[0] if len(auth) == 1 else "")
    if not m:
        return fail(f"authorization header malformed: {auth}")
    key_id, date, region, service, signed_headers, signature = m.groups()
    want_region = item.get("region") or region_of(domain)
    if (key_id, region, service) != (creds["accessKeyId"], want_region, item["service"]):
        fail(f"credential scope {key_id}/{region}/{service} is not {want_region}/{item['service']}")
    when = datetime.datetime.fromisoformat(item["time"].replace("Z", "+00:00")).astimezone(datetime.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    if headers.get("x-amz-date") != [amz_date] or date != amz_date[:8]:
        fail(f"x-amz-date {headers.get('x-amz-date')} is not {amz_date}")

    names = signed_headers.split(";")
    required = {"host", "x-amz-date"}
    if creds.get("sessionToken"):
        required.add("x-amz-security-token")
        if headers.get("x-amz-security-token") != [creds["sessionToken"]]:
            fail("session token header missing or wrong")
    elif "x-amz-security-token" in headers:
        fail("an x-amz-security-token is forwarded without a session token")
    if "x-api-key" in origin.get("customHeaders", {}):
        required.add("x-api-key")
    if not required <= set(names):
        fail(f"signed headers {names} miss {sorted(required - set(names))}")
    bad = [n for n in names if n in NEVER_SIGNED or n.startswith("x-amz-cf-")]
    if bad:
        fail(f"signs headers CloudFront rewrites: {bad}")

    body = forwarded_body
    if body is None:
        body_bytes = b""
    elif body.get("encoding", "base64") == "base64":
        body_bytes = base64.b64decode(body["data"], validate=True)
    else:
        body_bytes = body["data"].encode("utf-8")
    if "x-amz-content-sha256" in headers and headers["x-amz-content-sha256"] != [hashlib.sha256(body_bytes).hexdigest()]:
        fail("x-amz-content-sha256 is not the hash of the body bytes")

    # What the origin receives, restricted to the signed headers.
    received = {}
    for name in names:
        if name in origin.get("customHeaders", {}):
            received[name] = origin["customHeaders"][name][0]["value"]
        elif name in headers and len(headers[name]) == 1:
            received[name] = headers[name][0]
        else:
            fail(f"signed header {name} is not sent exactly once")
    url = f"https://{domain}{origin.get('path', '')}{event_req['uri']}"
    if forwarded_query:
        url += "?" + forwarded_query
    request = AWSRequest(method=event_req["method"], url=url, data=body_bytes, headers=received)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(creds["accessKeyId"], creds["secretAccessKey"], creds.get("sessionToken")),
                       item["service"], want_region)
    # Without the x-amz-content-sha256 shortcut: botocore hashes the body itself.
    if "x-amz-content-sha256" not in received and signer.payload(request) != hashlib.sha256(body_bytes).hexdigest():
        fail("botocore payload hash differs")
    canonical = signer.canonical_request(request)
    sts = signer.string_to_sign(request, canonical)
    want = signer.signature(sts, request)
    if signature != want:
        fail(f"signature mismatch; botocore canonical request was:\n{canonical}")


def check_refused(item, fail):
    out = item["result"]
    if out.get("status") != item["expect"]:
        fail(f"status {out.get('status')}, expected {item['expect']}")
    if "authorization" in out.get("headers", {}) or "method" in out:
        fail("a refusal looks like a request")


def main():
    items = json.load(sys.stdin)
    failures = 0
    for item in items:
        problems = []
        creds = item.get("credentials") or {}
        text = json.dumps(item["result"])
        for secret in (creds.get("secretAccessKey"),):
            if secret and secret in text:
                problems.append("secret access key in the result")
        if item["expect"] == "signed":
            check_signed(item, problems.append)
        else:
            check_refused(item, problems.append)
            for secret in (creds.get("sessionToken"), creds.get("accessKeyId")):
                if secret and secret in text:
                    problems.append("credential material in a refusal")
        if problems:
            failures += 1
            print(f"FAIL {item['name']}: " + "; ".join(problems))
        else:
            print(f"ok   {item['name']}")
    if not items:
        print("FAIL: no items to verify")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
