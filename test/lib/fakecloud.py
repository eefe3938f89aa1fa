#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Fake cloud token APIs for imgpull's integration tests: ECR, ECR Public, Volcengine CR.

One HTTP(S) server on 127.0.0.1 that answers, like the real services, the calls that turn
a cloud access key into registry credentials, and checks each request as strictly as they
do, with its own signature verifiers (standard library hmac/hashlib; nothing shared with
imgpull's C code):

  POST /  X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken
      AWS ECR (private). awsJson 1.1; SigV4 with service "ecr" and --region. Answers
      {"authorizationData":[{"authorizationToken": base64("AWS:" + --ecr-password),
      "expiresAt": ..., "proxyEndpoint": "https://ACCOUNT.dkr.ecr.REGION.amazonaws.com"}]}
  POST /  X-Amz-Target: SpencerFrontendService.GetAuthorizationToken
      AWS ECR Public. SigV4 with service "ecr-public", region us-east-1. Answers
      {"authorizationData":{"authorizationToken": JWT, "expiresAt": ...}}: the JWT is a
      registry token minted by tokenserver.py's Issuer (same key, issuer, audience and
      claims as the token server of a t_token_registry_start registry), granting pull on
      the repositories named (--public-repo) or found in the registry's storage
      (--public-repos-root, read at each call), so that registry takes it as a Bearer token.
  POST /?Action=GetAuthorizationToken&Version=2022-05-12
      Volcengine CR. Volcengine's HMAC-SHA256 signature (service "cr", --volc-region),
      X-Content-Sha256 = sha256(body), body {"Registry": --volc-instance}. Answers
      {"ResponseMetadata":{...},"Result":{"Username","Token","ExpireTime"}}.

SigV4 verification (what AWS does; docs "Create a signed AWS API request" and the
aws-c-auth test suite): the Authorization header must be
`AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/REGION/SERVICE/aws4_request,
SignedHeaders=a;b;c, Signature=hex`. The canonical request is rebuilt from what arrived:
method, the path as sent (each byte outside A-Za-z0-9-._~/ percent-encoded, which is the
double encoding AWS wants for non-S3 services), the query (decoded, re-encoded, sorted by
name then value), the headers named in SignedHeaders (lower-case name, values of repeated
headers joined with ',', whitespace runs collapsed), and sha256 of the body as received.
Checks, in order: Authorization present and complete (MissingAuthenticationToken /
IncompleteSignature), X-Amz-Date present, `host` signed, the access key known
(UnrecognizedClient), the scope's date = X-Amz-Date's date, the scope's region, service and
terminator, X-Amz-Date within --max-skew (15 min) of the server clock, then the signature
(InvalidSignature). Volcengine works the same way with its own scheme (kDate = HMAC(SK,
date) without the "AWS4" prefix, terminator "request", algorithm HMAC-SHA256, X-Date,
X-Content-Sha256) and its error codes (BytePlus/Volcengine "common error codes").

--log FILE gets one line per request: time, method, path and query, api=TARGET|Action,
ak=ACCESS_KEY_ID, verdict=ok|ErrorCode[:why], status. Never the secret key, the
signature, the Authorization header or the token handed out.

--selftest DIR runs the SigV4 verifier and signer over the AWS SigV4 test suite (DIR holds
one directory per case with context.json, request.txt, header-*.txt; the suite of
awslabs/aws-c-auth), plus Volcengine's documented signing example, and exits non-zero on
any mismatch.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import json
import os
import re
import sys
import threading
import time
import types
import urllib.parse
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokenserver  # noqa: E402  (registry JWT minting, shared with the token server)

ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
ECR_PUBLIC_TARGET = "SpencerFrontendService.GetAuthorizationToken"
AMZ_JSON = "application/x-amz-json-1.1"
VOLC_VERSION = "2022-05-12"
VOLC_ACTION = "GetAuthorizationToken"

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


# ---------------------------------------------------------------- canonical forms

def uri_encode(data, keep_slash=False):
    """RFC 3986 encoding as SigV4 defines it: every byte but A-Za-z0-9-._~ (and '/' in a
    path) as %XX with upper-case hex."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return "".join(chr(b) if b in _UNRESERVED or (keep_slash and b == 0x2F) else "%%%02X" % b
                   for b in data)


def normalize_path(path):
    """RFC 3986 remove_dot_segments plus empty-segment removal, as AWS's normalization
    (aws-c-auth 'normalize': true) does: //a//./b/../ -> /a/."""
    if not path:
        return b"/"
    segs = path.split(b"/")
    out = []
    for s in segs:
        if s in (b"", b"."):
            continue
        if s == b"..":
            if out:
                out.pop()
            continue
        out.append(s)
    res = b"/" + b"/".join(out)
    last = segs[-1]
    if out and (last in (b"", b".", b"..")):
        res += b"/"
    return res


def canonical_uri(raw_path, normalize=True):
    p = raw_path or b"/"
    if normalize:
        p = normalize_path(p)
    return uri_encode(p, keep_slash=True)


def canonical_query(raw_query):
    """Query as it arrived (bytes) -> name=value pairs decoded, re-encoded and sorted by name
    then value. A parameter without '=' has an empty value."""
    pairs = []
    for part in raw_query.split(b"&") if raw_query else []:
        if not part:
            continue
        k, _, v = part.partition(b"=")
        k = urllib.parse.unquote_to_bytes(k)
        v = urllib.parse.unquote_to_bytes(v)
        pairs.append((uri_encode(k), uri_encode(v)))
    pairs.sort()
    return "&".join("%s=%s" % kv for kv in pairs)


_WS = re.compile(r"\s+")


def header_values(headers, name):
    """All values of header `name` (case-insensitive), in arrival order."""
    return [v for k, v in headers if k.lower() == name]


def canonical_header_value(values, collapse=True):
    vals = [_WS.sub(" ", v).strip() if collapse else v.strip() for v in values]
    return ",".join(vals)


def hmac256(key, msg):
    if isinstance(msg, str):
        msg = msg.encode("utf-8")
    return hmac.new(key, msg, hashlib.sha256).digest()


def sha256_hex(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def parse_amz_date(value):
    try:
        return datetime.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- request model

class Request:
    """What a verifier looks at: method, raw target (bytes, path?query as on the wire),
    headers as (name, value) in arrival order, body bytes."""

    def __init__(self, method, target, headers, body):
        self.method = method
        self.target = target if isinstance(target, bytes) else target.encode("latin-1")
        self.headers = headers
        self.body = body or b""
        path, _, query = self.target.partition(b"?")
        self.raw_path = path
        self.raw_query = query

    def header(self, name):
        vals = header_values(self.headers, name.lower())
        return vals[-1] if vals else None


def parse_raw_request(data):
    """A request as the AWS suite writes it (request.txt): request line, headers (obsolete
    line folding allowed), blank line, body. The path may hold spaces and raw UTF-8."""
    head, sep, body = data.partition(b"\n\n")
    if not sep:
        head, body = data.rstrip(b"\n"), b""
    lines = head.split(b"\n")
    first = lines[0].rstrip(b"\r")
    method, _, rest = first.partition(b" ")
    target, _, _version = rest.rpartition(b" ")
    headers = []
    for line in lines[1:]:
        line = line.rstrip(b"\r")
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and headers:
            k, v = headers[-1]
            headers[-1] = (k, v + " " + line.decode("utf-8"))  # collapsed when signing
            continue
        k, _, v = line.partition(b":")
        headers.append((k.decode("utf-8"), v.decode("utf-8").strip()))
    return Request(method.decode("ascii"), target, headers, body)


# ---------------------------------------------------------------- AWS SigV4

class Verdict:
    def __init__(self, ok, status=200, code="", message="", ak="-", why=""):
        self.ok = ok
        self.status = status
        self.code = code
        self.message = message
        self.ak = ak
        self.why = why  # short reason for the log (no secrets)
        self.canonical_request = None
        self.string_to_sign = None
        self.signature = None  # the one we computed


def _fail(status, code, message, ak="-", why=""):
    return Verdict(False, status, code, message, ak, why)


AUTH_PARAM = re.compile(r"\s*([A-Za-z]+)\s*=\s*([^,\s]*)\s*(?:,|$)")


def parse_authorization(value, algorithm):
    """'ALG Credential=..., SignedHeaders=..., Signature=...' -> dict or None."""
    if not value or not value.startswith(algorithm + " "):
        return None
    params = {}
    rest = value[len(algorithm) + 1:]
    pos = 0
    while pos < len(rest):
        m = AUTH_PARAM.match(rest, pos)
        if not m or m.end() == pos:
            return params  # what could be parsed; the caller names what is missing
        params[m.group(1)] = m.group(2)
        pos = m.end()
    return params


def sigv4_canonical_request(req, signed_headers, normalize=True):
    names = signed_headers.split(";")
    lines = []
    for n in names:
        vals = header_values(req.headers, n)
        lines.append("%s:%s\n" % (n, canonical_header_value(vals)))
    return "\n".join([
        req.method,
        canonical_uri(req.raw_path, normalize),
        canonical_query(req.raw_query),
        "".join(lines),
        signed_headers,
        sha256_hex(req.body),
    ])


def sigv4_signing_key(secret, date, region, service):
    k = hmac256(("AWS4" + secret).encode("utf-8"), date)
    k = hmac256(k, region)
    k = hmac256(k, service)
    return hmac256(k, "aws4_request")


def sigv4_verify(req, keys, now, region, service, max_skew=900, normalize=True):
    """Check req's SigV4 Authorization. keys: {akid: secret}. region/service: what the
    endpoint expects (None: accept any, for an operation that is refused anyway)."""
    auth = req.header("Authorization")
    if auth is None:
        return _fail(400, "MissingAuthenticationTokenException", "Missing Authentication Token",
                     why="no-authorization")
    params = parse_authorization(auth.strip(), "AWS4-HMAC-SHA256")
    if params is None:
        return _fail(400, "IncompleteSignatureException",
                     "Authorization header requires 'Credential' parameter. Authorization "
                     "header requires 'Signature' parameter. Authorization header requires "
                     "'SignedHeaders' parameter.", why="not-aws4-hmac-sha256")
    missing = [p for p in ("Credential", "SignedHeaders", "Signature") if not params.get(p)]
    if missing:
        return _fail(400, "IncompleteSignatureException",
                     " ".join("Authorization header requires '%s' parameter." % p
                              for p in missing), why="missing-" + ",".join(missing))
    cred = params["Credential"].split("/")
    if len(cred) != 5 or not all(cred):
        return _fail(400, "IncompleteSignatureException",
                     "Credential should be scoped to a valid region, service and terminator "
                     "(AKID/YYYYMMDD/REGION/SERVICE/aws4_request).", why="credential-format")
    ak, sdate, sregion, sservice, term = cred
    amz_date = req.header("X-Amz-Date")
    if amz_date is None:
        return _fail(400, "IncompleteSignatureException",
                     "Authorization header requires existence of either a 'X-Amz-Date' or a "
                     "'Date' header.", ak, "no-x-amz-date")
    when = parse_amz_date(amz_date.strip())
    if when is None:
        return _fail(400, "IncompleteSignatureException",
                     "X-Amz-Date must be in the ISO8601 basic format YYYYMMDD'T'HHMMSS'Z'.",
                     ak, "bad-x-amz-date")
    signed = params["SignedHeaders"]
    names = signed.split(";")
    if "host" not in names:
        return _fail(400, "IncompleteSignatureException",
                     "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
                     ak, "host-not-signed")
    if ak not in keys:
        return _fail(400, "UnrecognizedClientException",
                     "The security token included in the request is invalid.", ak, "unknown-key")
    if sdate != amz_date.strip()[:8]:
        return _fail(403, "InvalidSignatureException",
                     "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                     "date from HTTP: '%s' != '%s', from '%s'." % (sdate, amz_date[:8], amz_date),
                     ak, "scope-date")
    if region is not None and sregion != region:
        return _fail(403, "InvalidSignatureException",
                     "Credential should be scoped to a valid region, not '%s'. " % sregion,
                     ak, "scope-region:" + sregion)
    if service is not None and sservice != service:
        return _fail(403, "InvalidSignatureException",
                     "Credential should be scoped to correct service: '%s'. " % service,
                     ak, "scope-service:" + sservice)
    if term != "aws4_request":
        return _fail(403, "InvalidSignatureException",
                     "Credential should be scoped with a valid terminator: 'aws4_request', "
                     "not '%s'. " % term, ak, "scope-terminator")
    skew = (when - now).total_seconds()
    fmt = "%Y%m%dT%H%M%SZ"
    if skew < -max_skew:
        return _fail(403, "InvalidSignatureException",
                     "Signature expired: %s is now earlier than %s (%s - %d min.)" % (
                         amz_date, (now - datetime.timedelta(seconds=max_skew)).strftime(fmt),
                         now.strftime(fmt), max_skew // 60), ak, "expired")
    if skew > max_skew:
        return _fail(403, "InvalidSignatureException",
                     "Signature not yet current: %s is still later than %s (%s + %d min.)" % (
                         amz_date, (now + datetime.timedelta(seconds=max_skew)).strftime(fmt),
                         now.strftime(fmt), max_skew // 60), ak, "not-yet-current")
    creq = sigv4_canonical_request(req, signed, normalize)
    scope = "/".join((sdate, sregion, sservice, term))
    sts = "\n".join(("AWS4-HMAC-SHA256", amz_date.strip(), scope, sha256_hex(creq)))
    sig = hmac.new(sigv4_signing_key(keys[ak], sdate, sregion, sservice), sts.encode("utf-8"),
                   hashlib.sha256).hexdigest()
    if signed != ";".join(sorted(set(names))):
        # AWS computes over sorted, lower-case names: another order cannot match.
        v = _fail(403, "InvalidSignatureException", SIG_MISMATCH_AWS, ak, "signedheaders-order")
    elif any(not header_values(req.headers, n) for n in names):
        v = _fail(403, "InvalidSignatureException", SIG_MISMATCH_AWS, ak, "signed-header-absent")
    elif not hmac.compare_digest(sig, params["Signature"]):
        v = _fail(403, "InvalidSignatureException", SIG_MISMATCH_AWS, ak, "signature")
    else:
        v = Verdict(True, ak=ak)
    v.canonical_request, v.string_to_sign, v.signature = creq, sts, sig
    return v


SIG_MISMATCH_AWS = ("The request signature we calculated does not match the signature you "
                    "provided. Check your AWS Secret Access Key and signing method. Consult the "
                    "service documentation for details.")


def sigv4_sign(req, ak, secret, region, service, when, session_token=None,
               omit_session_token=False, sign_body=False, normalize=True):
    """Sign req in place the way the AWS suite's signer does (every header present is
    signed); -> (canonical request, string to sign, signature)."""
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    req.headers.append(("X-Amz-Date", amz_date))
    if sign_body:
        req.headers.append(("x-amz-content-sha256", sha256_hex(req.body)))
    if session_token and not omit_session_token:
        req.headers.append(("X-Amz-Security-Token", session_token))
    signed = ";".join(sorted({k.lower() for k, _ in req.headers}))
    creq = sigv4_canonical_request(req, signed, normalize)
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    sts = "\n".join(("AWS4-HMAC-SHA256", amz_date, scope, sha256_hex(creq)))
    sig = hmac.new(sigv4_signing_key(secret, amz_date[:8], region, service), sts.encode(),
                   hashlib.sha256).hexdigest()
    if session_token and omit_session_token:
        req.headers.append(("X-Amz-Security-Token", session_token))
    req.headers.append(("Authorization", "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                        "Signature=%s" % (ak, scope, signed, sig)))
    return creq, sts, sig


# ---------------------------------------------------------------- Volcengine

VOLC_REQUIRED_SIGNED = ("content-type", "host", "x-content-sha256", "x-date")

# name -> (CodeN, HTTP status), BytePlus/Volcengine OpenAPI common error codes.
VOLC_ERRORS = {
    "MissingParameter": (100002, 400),
    "MissingAuthenticationToken": (100003, 401),
    "MissingRequestInfo": (100004, 400),
    "MissingSignature": (100005, 401),
    "InvalidTimestamp": (100006, 400),
    "InvalidActionOrVersion": (100008, 404),
    "InvalidAccessKey": (100009, 401),
    "SignatureDoesNotMatch": (100010, 401),
    "AccessDenied": (100013, 403),
}
SIG_MISMATCH_VOLC = ("The request signature we calculated does not match the signature you "
                     "provided. Check your Secret Access Key and signing method. Consult the "
                     "service documentation for details.")


def _vfail(code, message, ak="-", why="", status=None):
    return _fail(status or VOLC_ERRORS.get(code, (0, 400))[1], code, message, ak, why)


def volc_signing_key(secret, date, region, service):
    k = hmac256(secret.encode("utf-8"), date)
    k = hmac256(k, region)
    k = hmac256(k, service)
    return hmac256(k, "request")


def volc_canonical_request(req, signed_headers, payload_hash):
    lines = []
    for n in signed_headers.split(";"):
        lines.append("%s:%s\n" % (n, canonical_header_value(header_values(req.headers, n),
                                                            collapse=False)))
    return "\n".join([
        req.method,
        canonical_uri(req.raw_path, normalize=False),
        canonical_query(req.raw_query),
        "".join(lines),
        signed_headers,
        payload_hash,
    ])


def volc_verify(req, keys, now, region, service, max_skew=900,
                required=VOLC_REQUIRED_SIGNED):
    auth = req.header("Authorization")
    if auth is None:
        return _vfail("MissingAuthenticationToken", "Request is missing Authentication Token.",
                      why="no-authorization")
    params = parse_authorization(auth.strip(), "HMAC-SHA256")
    if params is None or not params.get("Credential"):
        return _vfail("MissingRequestInfo", "The request is missing Credential information.",
                      why="malformed-authorization")
    if not params.get("Signature"):
        return _vfail("MissingSignature", "The request is missing signature.",
                      why="no-signature")
    cred = params["Credential"].split("/")
    if len(cred) != 5 or not all(cred):
        return _vfail("MissingRequestInfo",
                      "The request is missing AccessKey, Date, Region or Service information.",
                      why="credential-format")
    ak, sdate, sregion, sservice, term = cred
    xdate = req.header("X-Date")
    when = parse_amz_date((xdate or "").strip())
    if when is None:
        return _vfail("MissingRequestInfo", "The request is missing X-Date information.", ak,
                      "no-x-date")
    signed = params.get("SignedHeaders", "")
    names = signed.split(";") if signed else []
    lacking = [n for n in required if n not in names]
    if lacking:
        return _vfail("SignatureDoesNotMatch", "SignedHeaders must include %s." % ";".join(
            lacking), ak, "unsigned:" + ",".join(lacking))
    if ak not in keys:
        return _vfail("InvalidAccessKey",
                      "The accesskey [%s] included in the request is invalid." % ak, ak,
                      "unknown-key")
    body_hash = sha256_hex(req.body)
    declared = req.header("X-Content-Sha256")
    if "x-content-sha256" in required and (declared or "").strip().lower() != body_hash:
        return _vfail("SignatureDoesNotMatch",
                      "X-Content-Sha256 does not match the SHA-256 of the request body.", ak,
                      "content-sha256")
    if sdate != xdate.strip()[:8] or sregion != region or sservice != service or \
            term != "request":
        return _vfail("SignatureDoesNotMatch", "Credential scope %s/%s/%s/%s is not "
                      "%s/%s/%s/request." % (sdate, sregion, sservice, term, xdate.strip()[:8],
                                             region, service), ak,
                      "scope:%s/%s/%s/%s" % (sdate, sregion, sservice, term))
    if abs((when - now).total_seconds()) > max_skew:
        return _vfail("InvalidTimestamp", "The signature of the request is expired.", ak,
                      "skew")
    creq = volc_canonical_request(req, signed, body_hash)
    scope = "/".join((sdate, sregion, sservice, term))
    sts = "\n".join(("HMAC-SHA256", xdate.strip(), scope, sha256_hex(creq)))
    sig = hmac.new(volc_signing_key(keys[ak], sdate, sregion, sservice), sts.encode(),
                   hashlib.sha256).hexdigest()
    if signed != ";".join(sorted(set(names))) or \
            any(not header_values(req.headers, n) for n in names):
        v = _vfail("SignatureDoesNotMatch", SIG_MISMATCH_VOLC, ak, "signedheaders")
    elif not hmac.compare_digest(sig, params["Signature"]):
        v = _vfail("SignatureDoesNotMatch", SIG_MISMATCH_VOLC, ak, "signature")
    else:
        v = Verdict(True, ak=ak)
    v.canonical_request, v.string_to_sign, v.signature = creq, sts, sig
    return v


# ---------------------------------------------------------------- formatting helpers

def rfc3339(ts, offset_minutes=0):
    tz = datetime.timezone(datetime.timedelta(minutes=offset_minutes))
    d = datetime.datetime.fromtimestamp(int(ts), tz)
    s = d.strftime("%Y-%m-%dT%H:%M:%S")
    if offset_minutes == 0:
        return s + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    m = abs(offset_minutes)
    return "%s%s%02d:%02d" % (s, sign, m // 60, m % 60)


class Raw:
    """A JSON number written exactly as given (e.g. 1.718823186123E9)."""

    def __init__(self, text):
        self.text = text


def dumps(obj):
    """json.dumps that writes Raw values unquoted."""
    raws = {}

    def default(o):
        if isinstance(o, Raw):
            key = "@@raw%d@@" % len(raws)
            raws[key] = o.text
            return key
        raise TypeError(type(o))

    s = json.dumps(obj, default=default)
    for key, text in raws.items():
        s = s.replace('"%s"' % key, text)
    return s


EXPIRES_FORMATS = ("number", "float", "sci", "string", "alternate")


def expires_at(ts, fmt, seq):
    """ECR's expiresAt. number: 1718823186; float: 1718823186.123; sci: 1.718823186123E9 (how
    the AWS JSON protocol writes timestamps on the wire); string: RFC 3339;
    alternate: number, string, sci, float in turn, one per request."""
    if fmt == "alternate":
        fmt = ("number", "string", "sci", "float")[seq % 4]
    if fmt == "number":
        return int(ts)
    if fmt == "float":
        return Raw("%.3f" % ts)
    if fmt == "sci":
        return Raw(("%.12f" % (ts / 1e9)).rstrip("0").rstrip(".") + "E9")
    return rfc3339(ts)


# ---------------------------------------------------------------- the server

class State:
    def __init__(self, args):
        self.args = args
        self.keys = dict(args.key_pairs)
        self.volc_keys = dict(args.volc_key_pairs or args.key_pairs)
        self.lock = threading.Lock()
        self.seq = 0
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None
        self.issuer = None
        if args.public_jwt_key:
            self.issuer = tokenserver.Issuer(types.SimpleNamespace(
                cert=args.public_jwt_cert, key=args.public_jwt_key,
                key_id_mode=args.public_jwt_key_id_mode))

    def next_seq(self):
        with self.lock:
            n = self.seq
            self.seq += 1
            return n

    def write_log(self, line):
        with self.lock:
            if self.log:
                self.log.write(line + "\n")
                self.log.flush()

    def now(self):
        return datetime.datetime.fromtimestamp(time.time() + self.args.clock_offset,
                                               datetime.timezone.utc)


def public_repos(args):
    repos = set(args.public_repo)
    root = args.public_repos_root
    if root:
        base = os.path.join(root, "docker", "registry", "v2", "repositories")
        for dirpath, dirnames, _ in os.walk(base):
            if "_manifests" in dirnames:
                repos.add(os.path.relpath(dirpath, base).replace(os.sep, "/"))
            dirnames[:] = [d for d in dirnames if not d.startswith("_")]
    return sorted(repos)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "imgpull-fakecloud/1"
    state = None

    def log_message(self, fmt, *a):  # the --log file is the record
        pass

    def _send(self, status, body, ctype, api, verdict, ak, extra=()):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId" if ctype.startswith("application/x-amz") else
                         "X-Tt-Logid", str(uuid.uuid4()))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.state.write_log("%s %s %s api=%s ak=%s verdict=%s status=%d" % (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), self.command,
            self.path.replace(" ", "%20"), api or "-", ak or "-", verdict, status))

    def _read_body(self):
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(length or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _request(self, body):
        return Request(self.command, self.path, list(self.headers.items()), body)

    # -------------------------------------------------------- AWS

    def _aws_error(self, status, code, message, api, ak, why=""):
        body = json.dumps({"__type": code, "message": message})
        self._send(status, body, AMZ_JSON, api, code + (":" + why if why else ""), ak)

    def _aws(self, body):
        st = self.state
        args = st.args
        target = self.headers.get("X-Amz-Target")
        if target == ECR_TARGET:
            region, service = args.region, "ecr"
        elif target == ECR_PUBLIC_TARGET:
            region, service = "us-east-1", "ecr-public"
        else:
            region, service = None, None
        v = sigv4_verify(self._request(body), st.keys, st.now(), region, service,
                         args.max_skew)
        if not v.ok:
            self._aws_error(v.status, v.code, v.message, target, v.ak, v.why)
            return
        if target not in (ECR_TARGET, ECR_PUBLIC_TARGET):
            self._aws_error(400, "UnknownOperationException",
                            "Unknown operation %s" % (target or "(no X-Amz-Target)"), target,
                            v.ak, "target")
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != AMZ_JSON:
            self._aws_error(400, "UnknownOperationException",
                            "Unsupported Content-Type %r: the AWS JSON 1.1 protocol wants %s"
                            % (ctype, AMZ_JSON), target, v.ak, "content-type")
            return
        try:
            req = json.loads(body.decode("utf-8") if body else "{}")
            if not isinstance(req, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            self._aws_error(400, "SerializationException",
                            "Start of structure or map found where not expected.", target, v.ak,
                            "body")
            return
        seq = st.next_seq()
        now = time.time()
        if target == ECR_TARGET:
            ids = req.get("registryIds")
            if ids is None:
                ids = [args.account]
            if not isinstance(ids, list) or not ids or not all(
                    isinstance(i, str) and re.fullmatch(r"[0-9]{12}", i) for i in ids):
                self._aws_error(400, "InvalidParameterException",
                                "Invalid parameter at 'registryIds' failed to satisfy "
                                "constraint: 'Member must satisfy constraint: [Member must "
                                "satisfy regular expression pattern: [0-9]{12}]'", target, v.ak,
                                "registryIds")
                return
            token = base64.b64encode(("AWS:" + args.ecr_password).encode()).decode()
            exp = expires_at(now + args.ecr_token_lifetime, args.expires_at_format, seq)
            data = []
            for rid in ids:
                endpoint = args.proxy_endpoint or "https://%s.dkr.ecr.%s.amazonaws.com" % (
                    rid, args.region)
                data.append({"authorizationToken": token, "expiresAt": exp,
                             "proxyEndpoint": endpoint})
            self._send(200, dumps({"authorizationData": data}), AMZ_JSON, target, "ok", v.ak)
            return
        # ECR Public
        if st.issuer is None:
            self._aws_error(500, "ServerException",
                            "fakecloud started without --public-jwt-key", target, v.ak,
                            "no-issuer")
            return
        access = [{"type": "repository", "name": r, "actions": ["pull"]}
                  for r in public_repos(args)]
        jwt, iat = st.issuer.mint(args.public_jwt_issuer, args.public_jwt_service, "AWS",
                                  access, args.public_token_lifetime, args.public_leeway)
        reported = args.public_reported_lifetime
        if reported is None:
            reported = args.public_token_lifetime
        exp = expires_at(iat + reported, args.expires_at_format, seq)
        self._send(200, dumps({"authorizationData": {"authorizationToken": jwt,
                                                     "expiresAt": exp}}),
                   AMZ_JSON, target, "ok repos=%d" % len(access), v.ak)

    # -------------------------------------------------------- Volcengine

    def _volc_reply(self, status, action, version, result=None, error=None, ak="-",
                    verdict="ok"):
        meta = {"RequestId": time.strftime("%Y%m%d%H%M%S", time.gmtime()) +
                uuid.uuid4().hex[:18].upper(),
                "Action": action or "", "Version": version or "", "Service": "cr",
                "Region": self.state.args.volc_region}
        obj = {"ResponseMetadata": meta}
        if error is not None:
            code, message = error
            meta["Error"] = {"CodeN": VOLC_ERRORS.get(code, (0, 0))[0], "Code": code,
                             "Message": message}
        if result is not None:
            obj["Result"] = result
        self._send(status, json.dumps(obj), "application/json; charset=utf-8",
                   action, verdict, ak)

    def _volc(self, body, query):
        st = self.state
        args = st.args
        action = (query.get("Action") or [""])[-1]
        version = (query.get("Version") or [""])[-1]
        v = volc_verify(self._request(body), st.volc_keys, st.now(), args.volc_region, "cr",
                        args.max_skew)
        if not v.ok:
            self._volc_reply(v.status, action, version, error=(v.code, v.message), ak=v.ak,
                             verdict=v.code + (":" + v.why if v.why else ""))
            return
        if action != VOLC_ACTION or version != VOLC_VERSION:
            self._volc_reply(404, action, version, error=(
                "InvalidActionOrVersion", "Could not find operation %s for version %s." % (
                    action, version)), ak=v.ak, verdict="InvalidActionOrVersion")
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if ctype != "application/json":
                raise ValueError("content type")
            req = json.loads(body.decode("utf-8"))
            if not isinstance(req, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            self._volc_reply(400, action, version, error=(
                "InvalidParameter", "The request body must be a JSON object (%s)." % (
                    "Content-Type application/json" if ctype != "application/json" else
                    "malformed JSON")), ak=v.ak, verdict="InvalidParameter:body")
            return
        reg = req.get("Registry")
        if not isinstance(reg, str) or not reg:
            self._volc_reply(400, action, version, error=(
                "MissingParameter", "The request is missing Registry parameter."),
                ak=v.ak, verdict="MissingParameter:Registry")
            return
        if reg != args.volc_instance:
            self._volc_reply(404, action, version, error=(
                "NotFound.Registry", "The specified registry %s is not found." % reg),
                ak=v.ak, verdict="NotFound.Registry")
            return
        exp = rfc3339(time.time() + args.volc_token_lifetime, args.volc_expire_offset)
        self._volc_reply(200, action, version, result={
            "Username": args.volc_user, "Token": args.volc_token, "ExpireTime": exp},
            ak=v.ak)

    # -------------------------------------------------------- dispatch

    def do_POST(self):
        body = self._read_body()
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        if "Action" in query or "Version" in query:
            self._volc(body, query)
        elif url.path == "/":
            self._aws(body)
        else:
            self._aws_error(404, "UnknownOperationException", "No such path", None, None,
                            "path")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        if "Action" in query:
            self._volc(b"", query)
            return
        self._aws_error(404, "UnknownOperationException",
                        "The AWS JSON protocol wants POST /", None, None, "method")


def parse_key(spec):
    if ":" not in spec:
        raise argparse.ArgumentTypeError("want ACCESS_KEY_ID:SECRET, got no ':'")
    ak, sk = spec.split(":", 1)
    if not ak or not sk:
        raise argparse.ArgumentTypeError("empty access key id or secret")
    return ak, sk


# ---------------------------------------------------------------- selftest

# Volcengine's worked example (volcengine.com docs 6369/67270, "签名过程Demo"): GET iam
# ListUsers. The docs give the canonical request's hash, the signing key and the signature.
VOLC_DOC_CASE = {
    "ak": "AKLTYWViMTVmZGYzM2E0NDI5Mzk2MDZjNjFmMjc2MjRjMzg",
    "sk": "WkRZeE1EQmxPVGhsWWpWak5HVmtNbUUxTXpZeU9UVXlOMlE1TmpZeVlqTQ==",
    "request": b"GET /?Action=ListUsers&Version=2018-01-01&Limit=10&Offset=0 HTTP/1.1\n"
               b"Host:iam.volcengineapi.com\nX-Date:20240619T071306Z\n\n",
    "region": "cn-beijing",
    "service": "iam",
    "signed": "host;x-date",
    "creq_sha256": "5ed5bca3905e1fcbf789abb56a17c2d819674a3bcfa468ae476bd1ea80d135cb",
    "signing_key": "abee62e533a58934c49954459a3c3237d2fccea517c9a7c8a2651d8ea7779826",
    "signature": "e31c4558bcfe08a286001f59cedbf0791ffd0b2362f10e55ee2627467bcdde93",
}


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def selftest(suite, verbose=False):
    failures = []
    if not os.path.exists(os.path.join(suite, "get-vanilla")) and \
            os.path.isdir(os.path.join(suite, "v4")):
        suite = os.path.join(suite, "v4")  # the suite's top directory was given
    cases = sorted(d for d in os.listdir(suite) if os.path.isdir(os.path.join(suite, d)))
    checked = 0
    for name in cases:
        d = os.path.join(suite, name)
        need = ("context.json", "request.txt", "header-signed-request.txt",
                "header-canonical-request.txt", "header-string-to-sign.txt",
                "header-signature.txt")
        if not all(os.path.exists(os.path.join(d, f)) for f in need):
            failures.append("%s: incomplete case directory" % name)
            continue
        ctx = json.loads(_read(os.path.join(d, "context.json")))
        cred = ctx["credentials"]
        keys = {cred["access_key_id"]: cred["secret_access_key"]}
        when = datetime.datetime.strptime(ctx["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
        norm = ctx.get("normalize", True)
        want_creq = _read(os.path.join(d, "header-canonical-request.txt")).decode("utf-8")
        want_sts = _read(os.path.join(d, "header-string-to-sign.txt")).decode("utf-8")
        want_sig = _read(os.path.join(d, "header-signature.txt")).decode("ascii").strip()
        problems = []

        # 1. The verifier on the signed request, as a server sees it.
        signed_req = parse_raw_request(_read(os.path.join(d, "header-signed-request.txt")))
        v = sigv4_verify(signed_req, keys, when, ctx["region"], ctx["service"],
                         normalize=norm)
        if not v.ok:
            problems.append("verifier refused the suite's signed request: %s %s" % (v.code,
                                                                                    v.why))
        if v.canonical_request != want_creq:
            problems.append("canonical request differs:\n--- got\n%s\n--- want\n%s" % (
                v.canonical_request, want_creq))
        if v.string_to_sign != want_sts:
            problems.append("string to sign differs:\n--- got\n%s\n--- want\n%s" % (
                v.string_to_sign, want_sts))
        if v.signature != want_sig:
            problems.append("signature %s, want %s" % (v.signature, want_sig))

        # 2. It refuses the same request altered: one signature digit, the secret, the time,
        #    the region.
        auth = signed_req.header("Authorization")
        flipped = auth[:-1] + ("0" if auth[-1] != "0" else "1")
        bad = Request(signed_req.method, signed_req.target,
                      [(k, flipped if k.lower() == "authorization" else val)
                       for k, val in signed_req.headers], signed_req.body)
        if sigv4_verify(bad, keys, when, ctx["region"], ctx["service"],
                        normalize=norm).code != "InvalidSignatureException":
            problems.append("a changed signature digit was not refused")
        wrong = {cred["access_key_id"]: cred["secret_access_key"] + "x"}
        if sigv4_verify(signed_req, wrong, when, ctx["region"], ctx["service"],
                        normalize=norm).code != "InvalidSignatureException":
            problems.append("a wrong secret was not refused")
        late = when + datetime.timedelta(minutes=16)
        if sigv4_verify(signed_req, keys, late, ctx["region"], ctx["service"],
                        normalize=norm).why != "expired":
            problems.append("a 16 min old signature was not refused as expired")
        if sigv4_verify(signed_req, keys, when, "eu-west-1", ctx["service"],
                        normalize=norm).why != "scope-region:" + ctx["region"]:
            problems.append("a wrong region was not refused")
        if sigv4_verify(signed_req, {"OTHER": "x"}, when, ctx["region"], ctx["service"],
                        normalize=norm).code != "UnrecognizedClientException":
            problems.append("an unknown key was not refused")

        # 3. The signer on the unsigned request gives the suite's signature.
        raw = parse_raw_request(_read(os.path.join(d, "request.txt")))
        creq, sts, sig = sigv4_sign(raw, cred["access_key_id"], cred["secret_access_key"],
                                    ctx["region"], ctx["service"], when,
                                    session_token=cred.get("token"),
                                    omit_session_token=ctx.get("omit_session_token", False),
                                    sign_body=ctx.get("sign_body", False), normalize=norm)
        if (creq, sts, sig) != (want_creq, want_sts, want_sig):
            problems.append("signer: canonical request/string to sign/signature differ "
                            "(got signature %s)" % sig)
        elif not sigv4_verify(raw, keys, when, ctx["region"], ctx["service"],
                              normalize=norm).ok:
            problems.append("verifier refused the signer's own request")
        checked += 1
        if problems:
            failures.extend("%s: %s" % (name, p) for p in problems)
        elif verbose:
            print("ok   %s" % name)

    # Volcengine's documented example.
    c = VOLC_DOC_CASE
    req = parse_raw_request(c["request"])
    date = "20240619"
    key = volc_signing_key(c["sk"], date, c["region"], c["service"])
    creq = volc_canonical_request(req, c["signed"], sha256_hex(b""))
    problems = []
    if sha256_hex(creq) != c["creq_sha256"]:
        problems.append("canonical request hash %s:\n%s" % (sha256_hex(creq), creq))
    if key.hex() != c["signing_key"]:
        problems.append("signing key %s" % key.hex())
    req.headers.append(("Authorization", "HMAC-SHA256 Credential=%s/%s/%s/%s/request, "
                        "SignedHeaders=%s, Signature=%s" % (c["ak"], date, c["region"],
                                                            c["service"], c["signed"],
                                                            c["signature"])))
    when = datetime.datetime(2024, 6, 19, 7, 13, 6, tzinfo=datetime.timezone.utc)
    v = volc_verify(req, {c["ak"]: c["sk"]}, when, c["region"], c["service"], required=())
    if not v.ok or v.signature != c["signature"]:
        problems.append("verifier: %s %s, signature %s" % (v.code, v.why, v.signature))
    v = volc_verify(req, {c["ak"]: c["sk"] + "x"}, when, c["region"], c["service"],
                    required=())
    if v.code != "SignatureDoesNotMatch":
        problems.append("a wrong secret was not refused")
    failures.extend("volcengine-doc-example: %s" % p for p in problems)
    if verbose and not problems:
        print("ok   volcengine-doc-example")

    for f in failures:
        print("FAIL " + f)
    print("%d aws-sigv4 cases + 1 volcengine example: %d passed, %d failed" % (
        checked, checked + 1 - len({f.split(":")[0] for f in failures}),
        len({f.split(":")[0] for f in failures})))
    if checked == 0:
        print("no test cases under %s" % suite)
        return 1
    return 1 if failures else 0


# ---------------------------------------------------------------- main

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--selftest", metavar="SUITE_DIR",
                   help="check the verifiers against the AWS SigV4 suite and exit")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--port", type=int)
    p.add_argument("--key", action="append", default=[], type=parse_key, dest="key_pairs",
                   metavar="AKID:SECRET", help="a known AWS key (repeatable)")
    p.add_argument("--volc-key", action="append", default=[], type=parse_key,
                   dest="volc_key_pairs", metavar="AK:SK",
                   help="a known Volcengine key (repeatable; default: the --key ones)")
    p.add_argument("--region", default="us-west-2", help="the ECR region (scope)")
    p.add_argument("--account", default="123456789012", help="ECR registry id by default")
    p.add_argument("--ecr-password", default="ecr-password",
                   help="the password inside authorizationToken (base64 AWS:PASSWORD)")
    p.add_argument("--ecr-token-lifetime", type=int, default=43200,
                   help="seconds from now to expiresAt (ECR: 12 h)")
    p.add_argument("--proxy-endpoint", default=None,
                   help="proxyEndpoint (default https://ACCOUNT.dkr.ecr.REGION.amazonaws.com)")
    p.add_argument("--expires-at-format", choices=EXPIRES_FORMATS, default="number")
    p.add_argument("--public-jwt-key", help="RSA key that signs ECR Public tokens")
    p.add_argument("--public-jwt-cert", help="its certificate (the registry's rootcertbundle)")
    p.add_argument("--public-jwt-issuer", default="imgpull-token-issuer")
    p.add_argument("--public-jwt-service", default="imgpull-registry",
                   help="the registry's service: the tokens' aud")
    p.add_argument("--public-jwt-key-id-mode", choices=("x5c", "kid", "both"), default="x5c")
    p.add_argument("--public-repo", action="append", default=[],
                   help="repository the ECR Public token may pull (repeatable)")
    p.add_argument("--public-repos-root", default=None,
                   help="registry storage root: every repository in it may be pulled")
    p.add_argument("--public-token-lifetime", type=int, default=43200,
                   help="seconds the registry accepts the token (exp = now + N - leeway)")
    p.add_argument("--public-reported-lifetime", type=int, default=None,
                   help="seconds to the expiresAt reported (default: --public-token-lifetime)")
    p.add_argument("--public-leeway", type=int, default=tokenserver.DISTRIBUTION_LEEWAY)
    p.add_argument("--volc-region", default="cn-beijing")
    p.add_argument("--volc-instance", default="imgpull")
    p.add_argument("--volc-user", default="volc-user")
    p.add_argument("--volc-token", default="volc-token")
    p.add_argument("--volc-token-lifetime", type=int, default=43200)
    p.add_argument("--volc-expire-offset", type=int, default=0,
                   help="ExpireTime's UTC offset in minutes (e.g. 480 = +08:00)")
    p.add_argument("--max-skew", type=int, default=900,
                   help="seconds a signature's date may be off the server clock (15 min)")
    p.add_argument("--clock-offset", type=float, default=0,
                   help="seconds added to the server's clock (a server whose clock is off)")
    p.add_argument("--log", default=None)
    p.add_argument("--tls-cert", default=None)
    p.add_argument("--tls-key", default=None)
    args = p.parse_args()

    if args.selftest:
        return selftest(args.selftest, args.verbose)
    if not args.port:
        p.error("--port is required")
    if bool(args.public_jwt_key) != bool(args.public_jwt_cert):
        p.error("--public-jwt-key and --public-jwt-cert go together")

    state = State(args)
    Handler.state = state

    def ready(scheme):
        state.write_log("listening %s://127.0.0.1:%d region=%s keys=%s volc=%s/%s public=%s" % (
            scheme, args.port, args.region, ",".join(sorted(state.keys)) or "-",
            args.volc_region, args.volc_instance, "jwt" if state.issuer else "-"))
        print("fakecloud on %s://127.0.0.1:%d" % (scheme, args.port), flush=True)

    tokenserver.serve(args.port, Handler, args.tls_cert, args.tls_key,
                      on_stop=lambda: state.write_log("shutdown"), on_ready=ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
