#!/usr/bin/env python3
"""CloudFront field-level-encryption test double, speaking CloudFront's REST-XML wire protocol.

WHAT: a small HTTP server for the CloudFront API version 2020-05-31 that implements the
field-level-encryption operations -- FLE profiles (create / get / list / update / delete) and FLE
configurations (same) -- with CloudFront's rules: ETag on every object and IfMatch on update and
delete (InvalidIfMatchVersion, PreconditionFailed), quotas (10 profiles, 10 configurations, 10
field patterns per profile, 5 query-argument mappings), "already exists" on duplicate names or
caller references, referenced public keys / profiles must exist, and the in-use rules (a public
key used by a profile, a profile used by a configuration, a configuration attached to a
distribution cannot be deleted). Every other request is forwarded unchanged to an upstream moto
server, which serves public keys and distributions; on the way the double also enforces IfMatch
and changing ETags on distribution configs (moto ignores IfMatch and never changes the ETag) and
records which FLE configuration each distribution uses, keeps the Lambda@Edge associations of
each cache behavior (moto drops them) and puts them back into what it answers, and turns moto's
HTTP 500 for a missing public key into CloudFront's 404 NoSuchPublicKey. It also answers
CloudWatch Logs' data-protection policy operations (moto has none; point
AWS_ENDPOINT_URL_CLOUDWATCH_LOGS at the double) and forwards the other Logs operations. List answers (profiles,
configurations, and moto's distributions) are paged as CloudFront pages them (MaxItems, Marker,
NextMarker), at most --page-size items a page, so a client that reads only the first page fails.

WHY: moto has no FLE profile or configuration API (it answers 404), and LocalStack's free
edition has no CloudFront at all. Without this double the real aws-sdk-cloudfront client and
fle's own request building would never be exercised end to end for those operations.

It is a test fixture, not an emulator of everything: only what fle calls is implemented, errors
carry CloudFront's error codes and HTTP statuses, and state lives in memory for one run.

Usage: cloudfront_fle_double.py --upstream http://127.0.0.1:PORT [--port 0] [--page-size N]
Prints "listening on PORT" on stdout once ready.
"""

import argparse
import datetime
import http.server
import json
import re
import secrets
import string
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
PREFIX = "/2020-05-31"
MAX_PROFILES = 10
MAX_CONFIGS = 10
MAX_FIELDS = 10
MAX_QUERY_ARGS = 5
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
PROVIDER_RE = re.compile(r"^[A-Za-z0-9:_-]{1,128}$")
PATTERN_RE = re.compile(r"^[A-Za-z0-9._\-\[\]]+\*?$")

LOCK = threading.Lock()
PROFILES = {}  # id -> {"etag", "modified", "config": dict}
CONFIGS = {}  # id -> {"etag", "modified", "config": dict}
PAGE_SIZE = 100  # --page-size: the most items one list page holds (CloudFront's default MaxItems)
DIST_ETAGS = {}  # distribution id -> etag the double hands out
DIST_FLE = {}  # distribution id -> set of FLE config ids its cache behaviors use
MOTO_ETAGS = {}  # distribution id -> the (never changing) ETag moto wants in If-Match
DIST_LAMBDAS = {}  # distribution id -> [LambdaFunctionAssociations XML of each behavior, in order]
LOG_POLICIES = {}  # log group name -> data-protection policy document (JSON text)
LAMBDAS_RE = re.compile(rb"<LambdaFunctionAssociations>.*?</LambdaFunctionAssociations>|<LambdaFunctionAssociations/>", re.S)
UPSTREAM = ""


class CfError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def new_id(prefix):
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(13))


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def strip_ns(el):
    for e in el.iter():
        if "}" in e.tag:
            e.tag = e.tag.split("}", 1)[1]
    return el


def text(el, name, default=""):
    child = el.find(name)
    return child.text or "" if child is not None else default


def items(el, path):
    node = el.find(path)
    return list(node) if node is not None else []


def to_bool(s):
    return s.strip().lower() == "true"


# --- XML <-> dict for the two FLE shapes -------------------------------------------------------

def parse_profile_config(root):
    entities = []
    for ent in items(root, "EncryptionEntities/Items"):
        entities.append({
            "PublicKeyId": text(ent, "PublicKeyId"),
            "ProviderId": text(ent, "ProviderId"),
            "FieldPatterns": [p.text or "" for p in items(ent, "FieldPatterns/Items")],
        })
    return {"Name": text(root, "Name"), "CallerReference": text(root, "CallerReference"),
            "Comment": text(root, "Comment"), "EncryptionEntities": entities}


def profile_config_xml(c, tag="FieldLevelEncryptionProfileConfig"):
    ents = "".join(
        "<EncryptionEntity><PublicKeyId>%s</PublicKeyId><ProviderId>%s</ProviderId>"
        "<FieldPatterns><Quantity>%d</Quantity><Items>%s</Items></FieldPatterns></EncryptionEntity>"
        % (e["PublicKeyId"], e["ProviderId"], len(e["FieldPatterns"]),
           "".join("<FieldPattern>%s</FieldPattern>" % p for p in e["FieldPatterns"]))
        for e in c["EncryptionEntities"])
    body = "<Name>%s</Name>" % c["Name"]
    if tag == "FieldLevelEncryptionProfileConfig":
        body += "<CallerReference>%s</CallerReference>" % c["CallerReference"]
    body += "<Comment>%s</Comment><EncryptionEntities><Quantity>%d</Quantity><Items>%s</Items></EncryptionEntities>" % (
        c["Comment"], len(c["EncryptionEntities"]), ents)
    return body


def parse_fle_config(root):
    qa = root.find("QueryArgProfileConfig")
    ct = root.find("ContentTypeProfileConfig")
    return {
        "CallerReference": text(root, "CallerReference"),
        "Comment": text(root, "Comment"),
        "ForwardWhenQueryArgProfileIsUnknown": to_bool(text(qa, "ForwardWhenQueryArgProfileIsUnknown", "false")) if qa is not None else False,
        "QueryArgProfiles": [{"QueryArg": text(q, "QueryArg"), "ProfileId": text(q, "ProfileId")}
                             for q in (items(qa, "QueryArgProfiles/Items") if qa is not None else [])],
        "ForwardWhenContentTypeIsUnknown": to_bool(text(ct, "ForwardWhenContentTypeIsUnknown", "false")) if ct is not None else False,
        "ContentTypeProfiles": [{"Format": text(m, "Format"), "ProfileId": text(m, "ProfileId", None), "ContentType": text(m, "ContentType")}
                                for m in (items(ct, "ContentTypeProfiles/Items") if ct is not None else [])],
    }


def fle_config_xml(c, with_reference=True):
    qas = "".join("<QueryArgProfile><QueryArg>%s</QueryArg><ProfileId>%s</ProfileId></QueryArgProfile>" % (q["QueryArg"], q["ProfileId"])
                  for q in c["QueryArgProfiles"])
    cts = "".join("<ContentTypeProfile><Format>%s</Format>%s<ContentType>%s</ContentType></ContentTypeProfile>"
                  % (m["Format"], "<ProfileId>%s</ProfileId>" % m["ProfileId"] if m["ProfileId"] else "", m["ContentType"])
                  for m in c["ContentTypeProfiles"])
    out = "<CallerReference>%s</CallerReference>" % c["CallerReference"] if with_reference else ""
    out += ("<Comment>%s</Comment>"
            "<QueryArgProfileConfig><ForwardWhenQueryArgProfileIsUnknown>%s</ForwardWhenQueryArgProfileIsUnknown>"
            "<QueryArgProfiles><Quantity>%d</Quantity><Items>%s</Items></QueryArgProfiles></QueryArgProfileConfig>"
            "<ContentTypeProfileConfig><ForwardWhenContentTypeIsUnknown>%s</ForwardWhenContentTypeIsUnknown>"
            "<ContentTypeProfiles><Quantity>%d</Quantity><Items>%s</Items></ContentTypeProfiles></ContentTypeProfileConfig>") % (
        c["Comment"], str(c["ForwardWhenQueryArgProfileIsUnknown"]).lower(), len(c["QueryArgProfiles"]), qas,
        str(c["ForwardWhenContentTypeIsUnknown"]).lower(), len(c["ContentTypeProfiles"]), cts)
    return out


def doc(tag, inner):
    return '<?xml version="1.0" encoding="UTF-8"?><%s xmlns="%s">%s</%s>' % (tag, NS, inner, tag)


# --- rules -------------------------------------------------------------------------------------

def public_key_exists(key_id):
    # moto routes a request to a service by the credential scope of its Authorization header.
    req = urllib.request.Request(UPSTREAM + PREFIX + "/public-key/" + key_id, headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20200101/us-east-1/cloudfront/aws4_request, SignedHeaders=host, Signature=0"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status == 200
    except urllib.error.HTTPError:
        return False  # moto answers 500 for a missing public key


def check_profile(c, own_id=None):
    if not NAME_RE.match(c["Name"]):
        raise CfError(400, "InvalidArgument", "profile name is invalid")
    if not c["CallerReference"]:
        raise CfError(400, "InvalidArgument", "CallerReference is required")
    for pid, p in PROFILES.items():
        if pid != own_id and p["config"]["Name"] == c["Name"]:
            raise CfError(409, "FieldLevelEncryptionProfileAlreadyExists", "a profile with this name already exists")
        if pid != own_id and p["config"]["CallerReference"] == c["CallerReference"]:
            raise CfError(409, "FieldLevelEncryptionProfileAlreadyExists", "a profile with this caller reference already exists")
    patterns = []
    for e in c["EncryptionEntities"]:
        if not PROVIDER_RE.match(e["ProviderId"]):
            raise CfError(400, "InvalidArgument", "provider id is invalid")
        if not public_key_exists(e["PublicKeyId"]):
            raise CfError(404, "NoSuchPublicKey", "the specified public key does not exist")
        for p in e["FieldPatterns"]:
            if len(p) > 128 or not PATTERN_RE.match(p) or p == "*":
                raise CfError(400, "InvalidArgument", "field pattern is invalid")
            for q in patterns:
                if overlap(p, q):
                    raise CfError(400, "InvalidArgument", "field patterns overlap")
            patterns.append(p)
    if len(patterns) > MAX_FIELDS:
        raise CfError(400, "TooManyFieldLevelEncryptionFieldPatterns", "too many field patterns")


def overlap(a, b):
    pa, pb = a.endswith("*"), b.endswith("*")
    a0, b0 = a.rstrip("*"), b.rstrip("*")
    if not pa and not pb:
        return a == b
    if pa and not pb:
        return b.startswith(a0)
    if pb and not pa:
        return a.startswith(b0)
    return a0.startswith(b0) or b0.startswith(a0)


def check_config(c, own_id=None):
    for cid, x in CONFIGS.items():
        if cid != own_id and x["config"]["CallerReference"] == c["CallerReference"]:
            raise CfError(409, "FieldLevelEncryptionConfigAlreadyExists", "a configuration with this caller reference already exists")
    if len(c["QueryArgProfiles"]) > MAX_QUERY_ARGS:
        raise CfError(400, "TooManyFieldLevelEncryptionQueryArgProfiles", "too many query argument profiles")
    if not c["QueryArgProfiles"] and not c["ContentTypeProfiles"]:
        raise CfError(400, "QueryArgProfileEmpty", "no profile mapping")
    for m in c["ContentTypeProfiles"]:
        if m["Format"] != "URLEncoded":
            raise CfError(400, "InvalidArgument", "content type format must be URLEncoded")
    for pid in [q["ProfileId"] for q in c["QueryArgProfiles"]] + [m["ProfileId"] for m in c["ContentTypeProfiles"] if m["ProfileId"]]:
        if pid not in PROFILES:
            raise CfError(404, "NoSuchFieldLevelEncryptionProfile", "the specified profile does not exist")


def page_of(ids, query):
    """The slice of `ids` one list request gets, as CloudFront pages: items after `Marker`, at
    most `MaxItems` (capped by --page-size). Returns (start, end, next_marker or None)."""
    q = urllib.parse.parse_qs(query)
    size = PAGE_SIZE
    if q.get("MaxItems"):
        size = max(1, min(size, int(q["MaxItems"][0])))
    marker = (q.get("Marker") or [""])[0]
    start = ids.index(marker) + 1 if marker in ids else 0
    end = min(len(ids), start + size)
    return start, end, (ids[end - 1] if end < len(ids) else None)


def list_doc(tag, ids, summaries, query):
    start, end, nxt = page_of(ids, query)
    q = urllib.parse.parse_qs(query)
    marker = (q.get("Marker") or [""])[0]
    inner = "<Marker>%s</Marker>" % marker if marker else ""
    if nxt:
        inner += "<NextMarker>%s</NextMarker>" % nxt
    inner += "<MaxItems>%d</MaxItems><Quantity>%d</Quantity><Items>%s</Items>" % (
        PAGE_SIZE, end - start, "".join(summaries[start:end]))
    return doc(tag, inner)


def page_distributions(payload, query):
    """Pages moto's ListDistributions answer (moto returns every distribution at once)."""
    root = ET.fromstring(payload)
    ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    q = lambda name: "{%s}%s" % (ns, name) if ns else name
    if ns:
        ET.register_namespace("", ns)
    items = root.find(q("Items"))
    summaries = list(items) if items is not None else []
    ids = [el.findtext(q("Id")) for el in summaries]
    start, end, nxt = page_of(ids, query)
    for el in summaries[:start] + summaries[end:]:
        items.remove(el)
    for name in ("NextMarker", "IsTruncated", "Quantity", "MaxItems"):
        el = root.find(q(name))
        if el is None:
            el = ET.SubElement(root, q(name))
        el.text = {"NextMarker": nxt or "", "IsTruncated": "true" if nxt else "false",
                   "Quantity": str(end - start), "MaxItems": str(PAGE_SIZE)}[name]
    if not nxt:
        root.remove(root.find(q("NextMarker")))
    return ET.tostring(root, xml_declaration=True, encoding="utf-8")


def check_if_match(headers, etag):
    got = headers.get("If-Match")
    if not got:
        raise CfError(400, "InvalidIfMatchVersion", "the If-Match version is missing or not valid")
    if got != etag:
        raise CfError(412, "PreconditionFailed", "the precondition given in one or more of the request-header fields evaluated to false")


def profile_uses_key(key_id):
    return any(e["PublicKeyId"] == key_id for p in PROFILES.values() for e in p["config"]["EncryptionEntities"])


def config_uses_profile(profile_id):
    for c in CONFIGS.values():
        ids = [q["ProfileId"] for q in c["config"]["QueryArgProfiles"]] + [m["ProfileId"] for m in c["config"]["ContentTypeProfiles"]]
        if profile_id in ids:
            return True
    return False


# --- HTTP --------------------------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("double: " + fmt % args + "\n")

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, body=b"", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body and not any(k.lower() == "content-type" for k in (headers or {})):
            self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, e):
        self.reply(e.status, doc("ErrorResponse", "<Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId>"
                                 % (e.code, e.message, secrets.token_hex(8))))

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")

    def route(self, method):
        path, _, self.query = self.path.partition("?")
        body = self.body()
        target = self.headers.get("X-Amz-Target", "")
        if target.startswith("Logs_20140328."):
            with LOCK:
                status, payload, headers = self.logs(target.split(".", 1)[1], body)
            self.reply(status, payload, headers)
            return
        try:
            with LOCK:
                handled = self.fle(method, path, body)
                if handled is None:
                    handled = self.guarded_proxy(method, path, body)
            status, payload, headers = handled
            self.reply(status, payload, headers)
        except CfError as e:
            self.error(e)

    def logs(self, op, body):
        """CloudWatch Logs JSON protocol: data-protection policies here, the rest at moto."""
        json_headers = {"Content-Type": "application/x-amz-json-1.1"}
        if op in ("PutDataProtectionPolicy", "GetDataProtectionPolicy", "DeleteDataProtectionPolicy"):
            req = json.loads(body or b"{}")
            group = req.get("logGroupIdentifier", "")
            if op == "PutDataProtectionPolicy":
                LOG_POLICIES[group] = req.get("policyDocument", "")
            elif op == "DeleteDataProtectionPolicy":
                LOG_POLICIES.pop(group, None)
            out = {"logGroupIdentifier": group}
            if op != "DeleteDataProtectionPolicy" and group in LOG_POLICIES:
                out["policyDocument"] = LOG_POLICIES[group]
                out["lastUpdatedTime"] = 0
            return 200, json.dumps(out), json_headers
        status, payload, _ = self.proxy("POST", "/", body)
        return status, payload, json_headers

    def fle(self, method, path, body):
        m = re.fullmatch(PREFIX + r"/field-level-encryption-profile(?:/([A-Z0-9]+)(/config)?)?", path)
        if m:
            return self.profiles(method, m.group(1), m.group(2), body)
        m = re.fullmatch(PREFIX + r"/field-level-encryption(?:/([A-Z0-9]+)(/config)?)?", path)
        if m:
            return self.configs(method, m.group(1), m.group(2), body)
        return None

    def profiles(self, method, pid, sub, body):
        if pid is None and method == "GET":
            summaries = [
                "<FieldLevelEncryptionProfileSummary><Id>%s</Id><LastModifiedTime>%s</LastModifiedTime>%s</FieldLevelEncryptionProfileSummary>"
                % (i, p["modified"], profile_config_xml(p["config"], tag="Summary")) for i, p in PROFILES.items()]
            return 200, list_doc("FieldLevelEncryptionProfileList", list(PROFILES), summaries, self.query), {}
        if pid is None and method == "POST":
            c = parse_profile_config(strip_ns(ET.fromstring(body)))
            if len(PROFILES) >= MAX_PROFILES:
                raise CfError(400, "TooManyFieldLevelEncryptionProfiles", "too many profiles")
            check_profile(c)
            pid = new_id("P")
            PROFILES[pid] = {"etag": new_id("E"), "modified": now(), "config": c}
            return 201, self.profile_doc(pid), {"ETag": PROFILES[pid]["etag"], "Location": "https://cloudfront.amazonaws.com" + PREFIX + "/field-level-encryption-profile/" + pid}
        p = PROFILES.get(pid)
        if p is None:
            raise CfError(404, "NoSuchFieldLevelEncryptionProfile", "the specified profile does not exist")
        if method == "GET" and not sub:
            return 200, self.profile_doc(pid), {"ETag": p["etag"]}
        if method == "GET" and sub:
            return 200, doc("FieldLevelEncryptionProfileConfig", profile_config_xml(p["config"])), {"ETag": p["etag"]}
        if method == "PUT" and sub:
            check_if_match(self.headers, p["etag"])
            c = parse_profile_config(strip_ns(ET.fromstring(body)))
            if c["CallerReference"] != p["config"]["CallerReference"]:
                raise CfError(400, "InvalidArgument", "CallerReference cannot change")
            check_profile(c, own_id=pid)
            p.update(config=c, etag=new_id("E"), modified=now())
            return 200, self.profile_doc(pid), {"ETag": p["etag"]}
        if method == "DELETE" and not sub:
            check_if_match(self.headers, p["etag"])
            if config_uses_profile(pid):
                raise CfError(409, "FieldLevelEncryptionProfileInUse", "the profile is in use by a configuration")
            del PROFILES[pid]
            return 204, b"", {}
        raise CfError(400, "InvalidArgument", "unsupported request")

    def profile_doc(self, pid):
        p = PROFILES[pid]
        return doc("FieldLevelEncryptionProfile", "<Id>%s</Id><LastModifiedTime>%s</LastModifiedTime><FieldLevelEncryptionProfileConfig>%s</FieldLevelEncryptionProfileConfig>"
                   % (pid, p["modified"], profile_config_xml(p["config"])))

    def configs(self, method, cid, sub, body):
        if cid is None and method == "GET":
            summaries = [
                "<FieldLevelEncryptionSummary><Id>%s</Id><LastModifiedTime>%s</LastModifiedTime>%s</FieldLevelEncryptionSummary>"
                % (i, c["modified"], fle_config_xml(c["config"], with_reference=False)) for i, c in CONFIGS.items()]
            return 200, list_doc("FieldLevelEncryptionList", list(CONFIGS), summaries, self.query), {}
        if cid is None and method == "POST":
            c = parse_fle_config(strip_ns(ET.fromstring(body)))
            if len(CONFIGS) >= MAX_CONFIGS:
                raise CfError(400, "TooManyFieldLevelEncryptionConfigs", "too many configurations")
            check_config(c)
            cid = new_id("C")
            CONFIGS[cid] = {"etag": new_id("E"), "modified": now(), "config": c}
            return 201, self.config_doc(cid), {"ETag": CONFIGS[cid]["etag"], "Location": "https://cloudfront.amazonaws.com" + PREFIX + "/field-level-encryption/" + cid}
        c = CONFIGS.get(cid)
        if c is None:
            raise CfError(404, "NoSuchFieldLevelEncryptionConfig", "the specified configuration does not exist")
        if method == "GET" and not sub:
            return 200, self.config_doc(cid), {"ETag": c["etag"]}
        if method == "GET" and sub:
            return 200, doc("FieldLevelEncryptionConfig", fle_config_xml(c["config"])), {"ETag": c["etag"]}
        if method == "PUT" and sub:
            check_if_match(self.headers, c["etag"])
            new = parse_fle_config(strip_ns(ET.fromstring(body)))
            if new["CallerReference"] != c["config"]["CallerReference"]:
                raise CfError(400, "InvalidArgument", "CallerReference cannot change")
            check_config(new, own_id=cid)
            c.update(config=new, etag=new_id("E"), modified=now())
            return 200, self.config_doc(cid), {"ETag": c["etag"]}
        if method == "DELETE" and not sub:
            check_if_match(self.headers, c["etag"])
            if any(cid in used for used in DIST_FLE.values()):
                raise CfError(409, "FieldLevelEncryptionConfigInUse", "the configuration is in use by a distribution")
            del CONFIGS[cid]
            return 204, b"", {}
        raise CfError(400, "InvalidArgument", "unsupported request")

    def config_doc(self, cid):
        c = CONFIGS[cid]
        return doc("FieldLevelEncryption", "<Id>%s</Id><LastModifiedTime>%s</LastModifiedTime><FieldLevelEncryptionConfig>%s</FieldLevelEncryptionConfig>"
                   % (cid, c["modified"], fle_config_xml(c["config"])))

    def guarded_proxy(self, method, path, body):
        pk = re.fullmatch(PREFIX + r"/public-key/([A-Z0-9]+)", path)
        if pk and method == "DELETE" and profile_uses_key(pk.group(1)):
            raise CfError(409, "PublicKeyInUse", "the public key is in use by a field-level encryption profile")
        m = re.fullmatch(PREFIX + r"/distribution/([A-Z0-9]+)/config", path)
        if m and method == "PUT":
            dist = m.group(1)
            if dist not in DIST_ETAGS:
                self.proxy("GET", path, b"")  # learn the distribution's first ETag
            check_if_match(self.headers, DIST_ETAGS.get(dist, ""))
            root = strip_ns(ET.fromstring(body))
            used = {e.text for e in root.iter("FieldLevelEncryptionId") if e.text}
            for cid in used:
                if cid not in CONFIGS:
                    raise CfError(404, "NoSuchFieldLevelEncryptionConfig", "the specified configuration does not exist")
            status, payload, headers = self.proxy(method, path, body, if_match=MOTO_ETAGS.get(dist))
            if status == 200:
                DIST_LAMBDAS[dist] = LAMBDAS_RE.findall(body)
                payload = restore_lambdas(dist, payload)
                DIST_FLE[dist] = used
                DIST_ETAGS[dist] = new_id("E")
                headers["ETag"] = DIST_ETAGS[dist]
            return status, payload, headers
        if method == "GET" and path == PREFIX + "/distribution":
            # moto refuses a Marker and answers every distribution at once: page them here.
            status, payload, headers = self.proxy(method, path, body, query=False)
            if status == 200:
                payload = page_distributions(payload, self.query)
            return status, payload, headers
        status, payload, headers = self.proxy(method, path, body)
        if method == "POST" and re.fullmatch(PREFIX + r"/distribution", path) and status == 201:
            created = re.search(rb"<Id>([A-Z0-9]+)</Id>", payload)
            if created:
                dist = created.group(1).decode()
                DIST_LAMBDAS[dist] = LAMBDAS_RE.findall(body)
                DIST_FLE[dist] = {e.text for e in strip_ns(ET.fromstring(body)).iter("FieldLevelEncryptionId") if e.text}
                payload = restore_lambdas(dist, payload)
        d = re.fullmatch(PREFIX + r"/distribution/([A-Z0-9]+)(/config)?", path)
        if d and method == "GET" and status == 200:
            payload = restore_lambdas(d.group(1), payload)
        if pk and method in ("GET", "DELETE") and status == 500:
            # moto answers 500 for a public key it does not have; CloudFront answers 404 NoSuchPublicKey.
            raise CfError(404, "NoSuchPublicKey", "the specified public key does not exist")
        return status, payload, headers

    def proxy(self, method, path, body, if_match=None, query=True):
        url = UPSTREAM + (self.path if query else path)
        req = urllib.request.Request(url, data=body if body else None, method=method)
        for k, v in self.headers.items():
            if k.lower() in ("host", "content-length") or (if_match and k.lower() == "if-match"):
                continue
            req.add_header(k, v)
        if if_match:
            req.add_header("If-Match", if_match)
        if body and "Content-Type" not in self.headers:
            # urllib would label the body a form, and moto would then route it to S3.
            req.add_header("Content-Type", "application/xml")
        try:
            with urllib.request.urlopen(req) as r:
                status, payload, hdrs = r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            status, payload, hdrs = e.code, e.read(), dict(e.headers)
        canonical = {"etag": "ETag", "location": "Location", "x-amz-request-id": "x-amz-request-id"}
        headers = {canonical[k.lower()]: v for k, v in hdrs.items() if k.lower() in canonical}
        m = re.fullmatch(PREFIX + r"/distribution/([A-Z0-9]+)(/config)?", path)
        if m and status == 200 and "ETag" in headers:
            # moto never changes a distribution's ETag: hand out the double's own.
            MOTO_ETAGS[m.group(1)] = headers["ETag"]
            DIST_ETAGS.setdefault(m.group(1), headers["ETag"])
            headers["ETag"] = DIST_ETAGS[m.group(1)]
        return status, payload, headers


def restore_lambdas(dist, payload):
    """Puts the recorded associations back, behavior by behavior (same order in both documents)."""
    saved = DIST_LAMBDAS.get(dist)
    if not saved:
        return payload
    it = iter(saved)
    return LAMBDAS_RE.sub(lambda m: next(it, m.group(0)), payload)


def main():
    global UPSTREAM, PAGE_SIZE
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--page-size", type=int, default=100,
                    help="most items per list page, to exercise pagination")
    args = ap.parse_args()
    UPSTREAM = args.upstream.rstrip("/")
    PAGE_SIZE = max(1, args.page_size)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print("listening on %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
