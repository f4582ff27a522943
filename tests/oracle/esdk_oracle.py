#!/usr/bin/env python3
"""Independent ESDK oracle: the AWS Encryption SDK for Python, driven by JSON on stdin.

Used by tests/tests/esdk_interop.rs to cross-check fle-decrypt against an implementation
nobody on this project wrote. RawMasterKey + RSA-OAEP-SHA256/MGF1-SHA256 is exactly the
wrapping CloudFront field-level encryption uses.

  encrypt:  {"public_key": PEM, "provider": P, "key_name": K,
             "others": [{"public_key": PEM, "provider": P, "key_name": K}, ...]  # EDKs before ours
             "cases": [{"suite": 888, "frame_length": 4096, "plaintext_b64": "...",
                        "context": {"k": "v"}}]}
            -> {"messages_b64": [...], "edk_key_names": [[names in header order], ...]}
  decrypt:  {"private_key": PEM, "provider": P, "key_name": K, "messages_b64": [...]}
            -> {"results": [{"ok": true, "plaintext_b64": "..."} | {"ok": false, "error": "..."}]}
  suites:   -> {"suites": [ids the installed ESDK can encrypt with]}
"""
import base64
import io
import json
import sys

import aws_encryption_sdk
from aws_encryption_sdk.identifiers import (
    Algorithm,
    CommitmentPolicy,
    EncryptionKeyType,
    WrappingAlgorithm,
)
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.internal.formatting.deserialize import deserialize_header
from aws_encryption_sdk.key_providers.base import MasterKeyProvider, MasterKeyProviderConfig
from aws_encryption_sdk.key_providers.raw import RawMasterKey


def master_key(pem, provider, key_name, private):
    kind = EncryptionKeyType.PRIVATE if private else EncryptionKeyType.PUBLIC
    return RawMasterKey(
        provider_id=provider,
        key_id=key_name.encode(),
        wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.RSA_OAEP_SHA256_MGF1,
            wrapping_key=pem.encode(),
            wrapping_key_type=kind,
        ),
    )


class FixedKeys(MasterKeyProvider):
    """Encrypts under a fixed list of master keys, in order: the first writes the first EDK."""

    provider_id = "fle-oracle-fixed-keys"
    _config_class = MasterKeyProviderConfig

    def __init__(self, **kwargs):  # pylint: disable=unused-argument
        self._keys = []

    def _new_master_key(self, key_id):
        raise NotImplementedError("encryption only")

    def master_keys_for_encryption(self, encryption_context, plaintext_rostream, plaintext_length=None):
        return self._keys[0], list(self._keys)


def client(policy):
    return aws_encryption_sdk.EncryptionSDKClient(commitment_policy=policy, max_encrypted_data_keys=10)


def encrypt(req):
    ours = master_key(req["public_key"], req["provider"], req["key_name"], private=False)
    others = [master_key(o["public_key"], o["provider"], o["key_name"], private=False) for o in req.get("others", [])]
    # Ours goes last so that a decryptor has to look past the others.
    provider = ours
    if others:
        provider = FixedKeys()
        provider._keys = others + [ours]  # pylint: disable=protected-access
    out, order = [], []
    for case in req["cases"]:
        suite = Algorithm.get_by_id(case["suite"])
        policy = (
            CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
            if suite.is_committing()
            else CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
        )
        # The ESDK keeps EDKs in a set, so their order in the header is arbitrary: with other
        # keys present, encrypt again until ours is not the first one.
        for _attempt in range(64):
            ciphertext, _ = client(policy).encrypt(
                source=base64.b64decode(case["plaintext_b64"]),
                key_provider=provider,
                algorithm=suite,
                frame_length=case["frame_length"],
                encryption_context=case.get("context", {}),
            )
            header, _ = deserialize_header(io.BytesIO(ciphertext))
            names = [e.key_provider.key_info.decode() for e in header.encrypted_data_keys]
            if not others or names[0] != req["key_name"]:
                break
        order.append(names)
        out.append(base64.b64encode(ciphertext).decode())
    return {"messages_b64": out, "edk_key_names": order}


def decrypt(req):
    mk = master_key(req["private_key"], req["provider"], req["key_name"], private=True)
    c = client(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
    results = []
    for b64 in req["messages_b64"]:
        try:
            plaintext, _ = c.decrypt(source=base64.b64decode(b64), key_provider=mk)
            results.append({"ok": True, "plaintext_b64": base64.b64encode(plaintext).decode()})
        except Exception as e:  # the test wants to see every failure, whatever its class
            results.append({"ok": False, "error": type(e).__name__})
    return {"results": results}


def suites(_req):
    return {"suites": sorted(a.algorithm_id for a in Algorithm)}


def main():
    command = sys.argv[1]
    req = json.load(sys.stdin) if command != "suites" else {}
    json.dump({"encrypt": encrypt, "decrypt": decrypt, "suites": suites}[command](req), sys.stdout)


if __name__ == "__main__":
    main()
