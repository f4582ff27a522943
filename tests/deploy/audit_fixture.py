"""Builds the deployment of deploy/template.yaml in moto (+ the CloudFront double), compliant or
with one control broken, for the `fle audit` tests. Prints one JSON object: the distribution id,
the custodian role ARN and the names it made.

Usage: audit_fixture.py --moto URL --double URL --suffix S [--break CONTROL]
CONTROL is a control name of `fle audit` (fle-audit/src/lib.rs).
"""

import argparse
import datetime
import io
import json
import sys
import zipfile

import boto3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ACCOUNT = "123456789012"
REGION = "us-east-1"
STAGE = "prod"
PROVIDER = "checkout"
CONTROLS = [
    "post-behaviors-encrypt-fields",
    "post-behaviors-signed-with-body",
    "api-requires-iam-and-api-key",
    "edge-role-invokes-only-this-api",
    "profile-keys-in-keyring",
    "no-key-past-retirement",
    "keyring-secret-customer-managed-key",
    "kms-only-expected-decryptors",
    "backend-logs-masked",
]


def clients(moto, double):
    kw = dict(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    c = {n: boto3.client(n, endpoint_url=moto, **kw) for n in ("iam", "kms", "secretsmanager", "lambda", "apigateway")}
    c["cloudfront"] = boto3.client("cloudfront", endpoint_url=double, **kw)
    c["logs"] = boto3.client("logs", endpoint_url=double, **kw)
    return c


def role(iam, name, services):
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": services}, "Action": "sts:AssumeRole"}]}
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def rsa_pair():
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    pub = k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return pem, pub


def rfc3339(delta):
    t = datetime.datetime.now(datetime.timezone.utc) + delta
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def zipped(name, text):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr(name, text)
    return b.getvalue()


def build(c, s, broken):
    iam, kms, sm, lam, ag, cf, logs = (c[n] for n in ("iam", "kms", "secretsmanager", "lambda", "apigateway", "cloudfront", "logs"))
    admin = role(iam, f"fle-admin-{s}", "ec2.amazonaws.com")
    custodian = role(iam, f"fle-custodian-{s}", "ec2.amazonaws.com")
    backend_role = role(iam, f"fle-backend-{s}", "lambda.amazonaws.com")
    edge_role = role(iam, f"fle-edge-{s}", ["lambda.amazonaws.com", "edgelambda.amazonaws.com"])

    # The KMS key: administration to the admin, decryption to the backend and the custodian only.
    admin_actions = ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                     "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"]
    if broken == "kms-only-expected-decryptors":
        admin_actions = ["kms:*"]
    via = {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}}
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "AdministrationOnly", "Effect": "Allow", "Principal": {"AWS": admin}, "Action": admin_actions, "Resource": "*"},
        {"Sid": "Backend", "Effect": "Allow", "Principal": {"AWS": backend_role}, "Action": "kms:Decrypt", "Resource": "*", "Condition": via},
        {"Sid": "Custodian", "Effect": "Allow", "Principal": {"AWS": custodian}, "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*", "Condition": via},
    ]}
    key = kms.create_key(Policy=json.dumps(policy), Description="fle keyring")["KeyMetadata"]["Arn"]

    # Keys: the current one (used by the profile) and a previous one still at CloudFront.
    current_pem, current_pub = rsa_pair()
    previous_pem, previous_pub = rsa_pair()
    other_pem, _ = rsa_pair()
    current_name, previous_name = f"checkout-{s}-b", f"checkout-{s}-a"
    retire_after = rfc3339(datetime.timedelta(hours=-1) if broken == "no-key-past-retirement" else datetime.timedelta(hours=24))
    keys = [
        {"keyName": previous_name, "status": "previous", "retireAfter": retire_after, "created": rfc3339(datetime.timedelta(days=-30)), "privateKeyPem": previous_pem},
        {"keyName": current_name, "status": "current", "created": rfc3339(datetime.timedelta(days=-1)),
         "privateKeyPem": other_pem if broken == "profile-keys-in-keyring" else current_pem},
    ]
    secret_name = f"fle/keyring/{s}/{PROVIDER}"
    secret = {"Name": secret_name, "SecretString": json.dumps({"format": 1, "providerId": PROVIDER, "keys": keys})}
    if broken != "keyring-secret-customer-managed-key":
        secret["KmsKeyId"] = key
    sm.create_secret(**secret)

    # CloudFront: public keys, the FLE profile and configuration (the double).
    ids = {}
    for name, pub in ((previous_name, previous_pub), (current_name, current_pub)):
        ids[name] = cf.create_public_key(PublicKeyConfig={"CallerReference": name, "Name": name, "EncodedKey": pub})["PublicKey"]["Id"]
    profile = cf.create_field_level_encryption_profile(FieldLevelEncryptionProfileConfig={
        "Name": f"checkout-{s}", "CallerReference": f"p-{s}",
        "EncryptionEntities": {"Quantity": 1, "Items": [{"PublicKeyId": ids[current_name], "ProviderId": PROVIDER,
                                                          "FieldPatterns": {"Quantity": 2, "Items": ["card_*", "ssn"]}}]}})
    config = cf.create_field_level_encryption_config(FieldLevelEncryptionConfig={
        "CallerReference": f"c-{s}",
        "ContentTypeProfileConfig": {"ForwardWhenContentTypeIsUnknown": False, "ContentTypeProfiles": {"Quantity": 1, "Items": [
            {"Format": "URLEncoded", "ProfileId": profile["FieldLevelEncryptionProfile"]["Id"], "ContentType": "application/x-www-form-urlencoded"}]}}})
    config_id = config["FieldLevelEncryption"]["Id"]

    # The backend function and its masked log group.
    backend = lam.create_function(FunctionName=f"checkout-backend-{s}", Runtime="provided.al2023", Role=backend_role,
                                  Handler="bootstrap", Code={"ZipFile": zipped("bootstrap", "#!/bin/sh\n")},
                                  Environment={"Variables": {"FLE_KEYRING_SECRET": secret_name, "FLE_FIELDS": "card_*,ssn"}})
    group = f"/aws/lambda/checkout-backend-{s}"
    logs.create_log_group(logGroupName=group)
    if broken != "backend-logs-masked":
        logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=json.dumps({
            "Name": "fle", "Version": "2021-06-01",
            "Statement": [
                {"Sid": "audit", "DataIdentifier": ["arn:aws:dataprotection::aws:data-identifier/CreditCardNumber"], "Operation": {"Audit": {"FindingsDestination": {}}}},
                {"Sid": "redact", "DataIdentifier": ["arn:aws:dataprotection::aws:data-identifier/CreditCardNumber"], "Operation": {"Deidentify": {"MaskConfig": {}}}}]}))

    # The REST API: IAM + API key on every method, proxying to the backend.
    api = ag.create_rest_api(name=f"checkout-{s}")["id"]
    root = ag.get_resources(restApiId=api)["items"][0]["id"]
    proxy = ag.create_resource(restApiId=api, parentId=root, pathPart="{proxy+}")["id"]
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{backend['FunctionArn']}/invocations"
    for i, res in enumerate((root, proxy)):
        auth = "NONE" if broken == "api-requires-iam-and-api-key" and i == 1 else "AWS_IAM"
        ag.put_method(restApiId=api, resourceId=res, httpMethod="ANY", authorizationType=auth, apiKeyRequired=True)
        ag.put_integration(restApiId=api, resourceId=res, httpMethod="ANY", type="AWS_PROXY", integrationHttpMethod="POST", uri=uri)

    # The edge signer: its role may invoke this API only.
    invoke = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/{STAGE}/*"
    if broken == "edge-role-invokes-only-this-api":
        invoke = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*"
    iam.put_role_policy(RoleName=f"fle-edge-{s}", PolicyName="invoke-this-api-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": invoke}]}))
    edge = lam.create_function(FunctionName=f"edge-signer-{s}", Runtime="nodejs22.x", Role=edge_role, Handler="index.handler",
                               Code={"ZipFile": zipped("index.mjs", "export const handler = async (e) => e;\n")}, Publish=True)
    edge_version = lam.publish_version(FunctionName=edge["FunctionName"])["FunctionArn"]

    # The distribution.
    behavior = {
        "TargetOriginId": "api", "ViewerProtocolPolicy": "https-only",
        "AllowedMethods": {"Quantity": 7, "Items": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                           "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}},
        "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", "OriginRequestPolicyId": "b689b0a8-53d0-40ab-baf2-68738e2966ac",
        "LambdaFunctionAssociations": {"Quantity": 1, "Items": [{
            "LambdaFunctionARN": edge_version, "EventType": "origin-request",
            "IncludeBody": broken != "post-behaviors-signed-with-body"}]},
    }
    if broken != "post-behaviors-encrypt-fields":
        behavior["FieldLevelEncryptionId"] = config_id
    dist = cf.create_distribution(DistributionConfig={
        "CallerReference": f"d-{s}", "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "api", "DomainName": f"{api}.execute-api.{REGION}.amazonaws.com", "OriginPath": f"/{STAGE}",
            "CustomHeaders": {"Quantity": 1, "Items": [{"HeaderName": "x-api-key", "HeaderValue": "k" * 40}]},
            "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": behavior})["Distribution"]["Id"]
    return {"distribution": dist, "custodian": custodian, "backendRole": backend_role, "api": api,
            "secret": secret_name, "keyNames": [previous_name, current_name]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--moto", required=True)
    ap.add_argument("--double", required=True)
    ap.add_argument("--suffix", required=True)
    ap.add_argument("--break", dest="broken", choices=CONTROLS)
    a = ap.parse_args()
    print(json.dumps(build(clients(a.moto, a.double), a.suffix, a.broken)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
