#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Independent Volcano Engine OpenAPI signer, written from the docs
(volcengine.com docs 6369/67269 and 6369/67270) with Python's hashlib/hmac and
nothing from auth/canonical.c or auth/volcsign.c.

It exists to produce expected values for requests the docs have no worked
example of (our cr GetAuthorizationToken POST); test/unit/test_volcsign.c
carries those values as constants, marked as coming from here. Before printing
anything it checks itself against the docs' published vectors, so a value it
prints comes from an implementation that reproduces the official examples.

    python3 test/lib/volcsign_ref.py          # self-check, then the C test's values
"""
import hashlib
import hmac
import sys
from urllib.parse import quote, unquote_to_bytes

# The docs' demo key pair (published, grants nothing).
DOC_AK = "AKLTYWViMTVmZGYzM2E0NDI5Mzk2MDZjNjFmMjc2MjRjMzg"
DOC_SK = "WkRZeE1EQmxPVGhsWWpWak5HVmtNbUUxTXpZeU9UVXlOMlE1TmpZeVlqTQ=="


def rfc3986(b):
    return quote(b, safe="-_.~")


def canonical_query(raw):
    pairs = []
    for piece in (raw or "").split("&"):
        if not piece:
            continue
        k, _, v = piece.partition("=")
        pairs.append((rfc3986(unquote_to_bytes(k)), rfc3986(unquote_to_bytes(v))))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def trimall(v):
    return " ".join(v.split())


def sign(method, path, query, headers, body, ak, sk, region, service, xdate, add_sha256=True):
    """headers: list of (name, value) as sent, Host included. Returns a dict."""
    payload = hashlib.sha256(body).hexdigest()
    hs = list(headers) + [("X-Date", xdate)]
    if add_sha256:
        hs.append(("X-Content-Sha256", payload))
    grouped = {}
    for name, value in hs:
        grouped.setdefault(name.lower(), []).append(trimall(value))
    names = sorted(grouped)
    canon_headers = "".join(f"{n}:{','.join(grouped[n])}\n" for n in names)
    signed = ";".join(names)
    canonical = "\n".join([method, rfc3986(path.encode()).replace("%2F", "/") or "/",
                           canonical_query(query), canon_headers, signed, payload])
    date = xdate[:8]
    scope = f"{date}/{region}/{service}/request"
    sts = "\n".join(["HMAC-SHA256", xdate, scope,
                     hashlib.sha256(canonical.encode()).hexdigest()])
    key = sk.encode()
    for part in (date, region, service, "request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    return {
        "canonical": canonical,
        "canonical_hash": hashlib.sha256(canonical.encode()).hexdigest(),
        "string_to_sign": sts,
        "signing_key": key.hex(),
        "signature": sig,
        "authorization": f"HMAC-SHA256 Credential={ak}/{scope}, SignedHeaders={signed}, Signature={sig}",
        "payload": payload,
    }


def self_check():
    # docs 6369/67270 (current): GET iam ListUsers, signs host;x-date only.
    r = sign("GET", "/", "Action=ListUsers&Version=2018-01-01&Limit=10&Offset=0",
             [("Host", "iam.volcengineapi.com")], b"", DOC_AK, DOC_SK,
             "cn-beijing", "iam", "20240619T071306Z", add_sha256=False)
    assert r["canonical_hash"] == "5ed5bca3905e1fcbf789abb56a17c2d819674a3bcfa468ae476bd1ea80d135cb"
    assert r["signing_key"] == "abee62e533a58934c49954459a3c3237d2fccea517c9a7c8a2651d8ea7779826"
    assert r["signature"] == "e31c4558bcfe08a286001f59cedbf0791ffd0b2362f10e55ee2627467bcdde93"
    # docs 6369/67270 (2020 edition), Authorization also on docs 6469/1126803:
    # content-type;host;x-content-sha256;x-date.
    r = sign("GET", "/", "Action=ListUsers&Version=2018-01-01&Limit=10&Offset=0",
             [("Host", "iam.volcengineapi.com"),
              ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], b"",
             "AKLTMjI2ODVlYzI3ZGY1NGU4ZjhjYWRjMTlmNTM5OTZkYzE",
             "TnpCak5XWXpZV1U0WkRaaE5ERmxaR0ZpTmpjeVkyUXlZek0wTWpJMU1qWQ==",
             "cn-north-1", "iam", "20201230T081805Z")
    assert r["signature"] == "28eeabbbd726b87002e0fe58ad8c1c768e619b06e2646f35b6ad7ed029a6d8a7"
    # docs 6369/67269: GET billing QueryBalanceAcct, host;x-date.
    r = sign("GET", "/", "Action=QueryBalanceAcct&Version=2022-01-01",
             [("Host", "billing.volcengineapi.com")], b"", DOC_AK, DOC_SK,
             "cn-beijing", "billing", "20250329T180937Z", add_sha256=False)
    assert r["canonical_hash"] == "43171c1658c64b5db55c58d54988a4598d2d09a5613136beaa5eef40eae6e2c1"
    assert r["signature"] == "1eda9e7e6b1728151a8e8791fdaf67cfbd28bd5c80d0fce2eb208746cf483105"


def c_string(s):
    return "\n".join('\t"' + line.replace("\\", "\\\\").replace('"', '\\"') + ("\\n" if i < s.count("\n") else "") + '"'
                     for i, line in enumerate(s.split("\n")))


def main():
    self_check()
    print("// self-check against the published vectors: ok", file=sys.stderr)
    cases = {
        # The call imgpull makes (auth/volcengine.c).
        "cr_get_token": ('{"Registry":"myinstance"}', "20240619T071306Z"),
        # One byte of body changed.
        "cr_get_token_other_body": ('{"Registry":"myinstancf"}', "20240619T071306Z"),
    }
    for name, (body, xdate) in cases.items():
        r = sign("POST", "/", "Action=GetAuthorizationToken&Version=2022-05-12",
                 [("Host", "cr.cn-beijing.volcengineapi.com"), ("Content-Type", "application/json")],
                 body.encode(), DOC_AK, DOC_SK, "cn-beijing", "cr", xdate)
        print(f"// {name}: body {body}, X-Date {xdate}")
        print(f"canonical =\n{c_string(r['canonical'])};")
        print(f"string_to_sign =\n{c_string(r['string_to_sign'])};")
        print(f'payload = "{r["payload"]}";')
        print(f'signature = "{r["signature"]}";')
        print()


if __name__ == "__main__":
    main()
