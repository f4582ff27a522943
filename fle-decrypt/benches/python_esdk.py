#!/usr/bin/env python3
"""Times the AWS Encryption SDK for Python on the messages the criterion bench wrote.

Run after `cargo bench -p fle-decrypt --features encrypt --bench decrypt`, with the test venv:
  .venv/bin/python fle-decrypt/benches/python_esdk.py
Prints one table: per message (one CloudFront field) and per form of 10 fields.
RawMasterKey with a key parsed once: the fastest way to use the Python ESDK.
"""
import base64
import pathlib
import statistics
import time
import urllib.parse

import aws_encryption_sdk
from aws_encryption_sdk.identifiers import CommitmentPolicy, EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKey

root = pathlib.Path(__file__).resolve().parents[2] / "target" / "bench-fixtures"
provider, key_name = (root / "names.txt").read_text().split()
key = RawMasterKey(
    provider_id=provider,
    key_id=key_name.encode(),
    wrapping_key=WrappingKey(
        wrapping_algorithm=WrappingAlgorithm.RSA_OAEP_SHA256_MGF1,
        wrapping_key=(root / "private.pem").read_bytes(),
        wrapping_key_type=EncryptionKeyType.PRIVATE,
    ),
)
client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
message = base64.b64decode((root / "message.b64").read_text())
fields = [
    base64.b64decode(urllib.parse.unquote(v))
    for _, v in (pair.split("=", 1) for pair in (root / "form.txt").read_text().split("&"))
]


def per_call(fn, rounds=7, n=100):
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples)


assert client.decrypt(source=message, key_provider=key)[0] == b"4111111111111111"
one = per_call(lambda: client.decrypt(source=message, key_provider=key))
form = per_call(lambda: [client.decrypt(source=f, key_provider=key) for f in fields], n=10)
print("| Python ESDK (aws-encryption-sdk %s) | median per call |" % aws_encryption_sdk.__version__)
print("|---|---|")
print("| one field (0378, 16-byte value) | %.3f ms |" % (one * 1e3))
print("| form with 10 fields | %.3f ms |" % (form * 1e3))
