"""Static checks of deploy/template.yaml: every control of docs/deploy.md is in the template.

cfn-lint says the template is valid CloudFormation; this says it is the *protected* one. Each
check is also run against a copy of the template with that control removed, and must then
fail by name, so a check that cannot fail is caught here.

Run: .venv/bin/python tests/deploy/check_template.py   (prints "N passed, N failed")
"""

import copy
import sys
from pathlib import Path

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]


def resources(t, kind):
    return {k: r for k, r in t["Resources"].items() if r.get("Type") == kind}


def props(r):
    return r.get("Properties", {})


def ref_name(v):
    """'X' for {"Ref": "X"} or {"Fn::GetAtt": ["X", ...]}."""
    if isinstance(v, dict):
        if "Ref" in v:
            return v["Ref"]
        if "Fn::GetAtt" in v:
            return v["Fn::GetAtt"][0]
    return None


def check_api_methods(t):
    methods = resources(t, "AWS::ApiGateway::Method")
    assert methods, "no API method"
    for name, m in methods.items():
        p = props(m)
        assert p.get("AuthorizationType") == "AWS_IAM", f"{name}: not AWS_IAM"
        assert p.get("ApiKeyRequired") is True, f"{name}: API key not required"


def check_distribution(t):
    dists = resources(t, "AWS::CloudFront::Distribution")
    assert dists, "no distribution"
    for name, d in dists.items():
        cfg = props(d)["DistributionConfig"]
        behaviors = [cfg["DefaultCacheBehavior"]] + list(cfg.get("CacheBehaviors", []))
        for b in behaviors:
            if "POST" not in b.get("AllowedMethods", []):
                continue
            assert b.get("FieldLevelEncryptionId"), f"{name}: POST behavior without FLE"
            assert b.get("ViewerProtocolPolicy") in ("https-only", "redirect-to-https"), f"{name}: viewer HTTP allowed"
            assocs = [a for a in b.get("LambdaFunctionAssociations", []) if a.get("EventType") == "origin-request"]
            assert assocs, f"{name}: no origin-request signer"
            assert all(a.get("IncludeBody") is True for a in assocs), f"{name}: signer without the body"
            assert b.get("OriginRequestPolicyId") == "b689b0a8-53d0-40ab-baf2-68738e2966ac", f"{name}: viewer Host may be forwarded"
        for o in cfg["Origins"]:
            c = o.get("CustomOriginConfig", {})
            assert c.get("OriginProtocolPolicy") == "https-only", f"{name}: origin not HTTPS only"
            headers = [h["HeaderName"].lower() for h in o.get("OriginCustomHeaders", [])]
            assert "x-api-key" in headers, f"{name}: no x-api-key origin header"


def check_key_policy(t):
    keys = resources(t, "AWS::KMS::Key")
    assert keys, "no KMS key"
    for name, k in keys.items():
        decryptors = []
        for s in props(k)["KeyPolicy"]["Statement"]:
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            if s["Effect"] != "Allow":
                continue
            if any(a in ("kms:Decrypt", "kms:*") or a.startswith("kms:Decrypt") for a in actions):
                principal = s["Principal"]["AWS"]
                via = s.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
                assert via, f"{name}: {s.get('Sid')} may decrypt outside Secrets Manager"
                decryptors.append(ref_name(principal) or principal)
            principal = s["Principal"].get("AWS") if isinstance(s["Principal"], dict) else s["Principal"]
            assert principal != "*" and "root" not in str(principal), f"{name}: {s.get('Sid')} grants the account root or everyone"
        assert sorted(map(str, decryptors)) == sorted(["BackendRole", "KeyCustodianRoleArn"]), f"{name}: decryptors {decryptors}"


def check_backend_role(t):
    role = props(t["Resources"]["BackendRole"])
    stmts = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    reads = [s for s in stmts if "secretsmanager:GetSecretValue" in str(s["Action"])]
    assert reads, "backend cannot read its keyring"
    for s in reads:
        assert "*" not in str(s["Resource"]).replace("-??????", ""), "backend reads more than its keyring"
    assert not any("kms:" in str(s["Action"]) for s in stmts), "backend role has its own KMS grant"


def check_log_masking(t):
    fn = props(t["Resources"]["BackendFunction"])
    group = ref_name(fn.get("LoggingConfig", {}).get("LogGroup"))
    assert group, "backend logs to an unmanaged log group"
    policy = props(t["Resources"][group]).get("DataProtectionPolicy")
    assert policy, "backend log group without a data-protection policy"
    ops = [list(s["Operation"]) for s in policy["Statement"]]
    assert ["Deidentify"] in ops, "data-protection policy does not mask"


def check_edge_role(t):
    role = props(t["Resources"]["EdgeRole"])
    trusted = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
    assert sorted(trusted) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"], "edge role trust"
    stmts = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    invokes = [s for s in stmts if "execute-api:Invoke" in str(s["Action"])]
    assert invokes, "edge role cannot invoke the API"
    for s in invokes:
        assert "${Api}" in str(s["Resource"]), "edge role may invoke other APIs"


def check_api_key_not_owned(t):
    """Rotation is `fle api-keys rotate`'s job: a stack-owned key (or usage-plan key) would be
    deleted by the rotation and put back, old, by the next stack update. The origin header
    resolves from the secret the rotation keeps current (--value-secret), given as an output."""
    for kind in ("AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlanKey"):
        assert not resources(t, kind), f"the stack owns an {kind}: drift on every fle api-keys rotate"
    secret_out = ref_name(t["Outputs"]["ApiKeyValueSecretArn"]["Value"])
    assert secret_out, "no ApiKeyValueSecretArn output for --value-secret"
    headers = [(name, h) for name, d in resources(t, "AWS::CloudFront::Distribution").items()
               for o in props(d)["DistributionConfig"]["Origins"]
               for h in o.get("OriginCustomHeaders", []) if h["HeaderName"].lower() == "x-api-key"]
    assert headers, "no origin sends x-api-key"
    for name, h in headers:
        value = str(h["HeaderValue"])
        assert f"resolve:secretsmanager:${{{secret_out}}}" in value, \
            f"{name}: x-api-key is not resolved from {secret_out}"


CHECKS = [check_api_methods, check_distribution, check_key_policy, check_backend_role, check_log_masking, check_edge_role,
          check_api_key_not_owned]


def without(t, path, key):
    """A copy of t with t[path...][key] removed."""
    t = copy.deepcopy(t)
    node = t
    for p in path:
        node = node[p]
    del node[key]
    return t


def replaced(t, path, key, value):
    t = copy.deepcopy(t)
    node = t
    for p in path:
        node = node[p]
    node[key] = value
    return t


def main():
    template, matches = decode(str(ROOT / "deploy" / "template.yaml"))
    if matches:
        print(f"cannot read the template: {matches}")
        return 1
    R = ["Resources"]
    dcb = R + ["Distribution", "Properties", "DistributionConfig", "DefaultCacheBehavior"]
    weakened = {
        check_api_methods: replaced(template, R + ["ApiProxyMethod", "Properties"], "AuthorizationType", "NONE"),
        check_distribution: without(template, dcb, "FieldLevelEncryptionId"),
        check_key_policy: replaced(
            template, R + ["KeyringKey", "Properties", "KeyPolicy", "Statement", 0], "Action", "kms:*"),
        check_backend_role: replaced(
            template, R + ["BackendRole", "Properties", "Policies", 0, "PolicyDocument", "Statement", 0], "Resource", "*"),
        check_log_masking: without(template, R + ["BackendLogGroup", "Properties"], "DataProtectionPolicy"),
        check_edge_role: replaced(
            template, R + ["EdgeRole", "Properties", "Policies", 0, "PolicyDocument", "Statement", 0], "Resource", "*"),
        check_api_key_not_owned: replaced(template, R, "ApiKey", {
            "Type": "AWS::ApiGateway::ApiKey",
            "Properties": {"Enabled": True, "Value": {"Fn::Sub": "{{resolve:secretsmanager:${ApiKeyValue}:SecretString}}"}}}),
    }
    passed = failed = 0
    for check in CHECKS:
        try:
            check(template)
            print(f"ok   {check.__name__}")
            passed += 1
        except AssertionError as e:
            print(f"FAIL {check.__name__}: {e}")
            failed += 1
        try:
            check(weakened[check])
            print(f"FAIL {check.__name__} accepts a weakened template")
            failed += 1
        except AssertionError as e:
            print(f"ok   {check.__name__} refuses a weakened template ({e})")
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
