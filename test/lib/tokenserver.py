#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Token server for Docker Registry v2 token auth, for imgpull's integration tests.

Implements GET {realm}?service=S&scope=T:NAME:ACTIONS[&scope=...] as in distribution's
docs/spec/auth/token.md and jwt.md, issuing RS256 JWTs that the real `docker-registry`
(distribution 2.8) accepts with `auth: token` and `rootcertbundle` = our certificate.
Standard library only; signing goes through the openssl CLI so no crypto module is needed.

What distribution 2.8's verifier (registry/auth/token/token.go) wants, and why the
options below look the way they do:
  * header x5c = [base64 (standard, padded) DER of the signing cert]: the leaf is verified
    against rootcertbundle with Go's x509.Verify; a self-signed cert that *is* in the bundle
    forms a one-element chain, so no separate CA is needed. Alternatively header kid = the
    libtrust key ID of a key in the bundle (--key-id-mode kid).
  * "aud" must be a JSON string (ClaimSet.Audience is a Go string in 2.8; a list makes the
    whole token "malformed"), equal to the registry's `service`.
  * "iss" must equal the registry's `issuer`.
  * exp and nbf are checked with a 60 s leeway (token.Leeway), so a JWT whose exp is N s
    away is still accepted for N+60 s. --token-lifetime therefore means "the registry
    stops accepting it after N s": exp = now + N - leeway.
  * access entries must match the requested resource type/name and action exactly;
    a missing one gives 401 error="insufficient_scope".

Registry quirks it can stand in for (see test/lib/cloud.sh, t_registry_front_start):
  * a request without `service` (nvcr.io's challenge names none) still gets a token whose
    aud is --service, the audience the registry checks;
  * --realm-path may be given several times (e.g. /token and /proxy_auth), all serving
    tokens; --deny-path PATH always answers 401 (an authn.nvidia.com that refuses).
  * other programs mint with the same key and claims through Issuer.mint (fakecloud.py
    hands out ECR Public tokens that way).
"""

import argparse
import base64
import fnmatch
import hashlib
import http.server
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

# distribution/registry/auth/token/token.go: Leeway = 60 * time.Second
DISTRIBUTION_LEEWAY = 60


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def libtrust_key_id(der_spki):
    # libtrust keyIDFromCryptoKey: base32 of the first 240 bits of sha256(PKIX DER),
    # unpadded, in 12 groups of 4 joined by ':'.
    enc = base64.b32encode(hashlib.sha256(der_spki).digest()[:30]).decode("ascii").rstrip("=")
    return ":".join(enc[i:i + 4] for i in range(0, len(enc), 4))


class Policy:
    """Who may do what: users with passwords, their actions and repository globs."""

    def __init__(self):
        self.users = {}  # name -> (password, set of actions, repo glob)
        self.anonymous = False
        self.sources = []  # how users were added, in order, for reloads
        self.mtimes = {}   # --users file -> mtime_ns when last read
        self.lock = threading.Lock()

    def add(self, spec, actions="pull", repos="*"):
        if ":" not in spec:
            raise ValueError("user %r: want USER:PASS" % spec)
        name, password = spec.split(":", 1)
        acts = {a for a in actions.split(",") if a}
        if not name or not acts:
            raise ValueError("user %r: empty name or actions" % spec)
        self.users[name] = (password, acts, repos)

    def source(self, kind, *a):
        """Adds users (kind "file" path, or "spec" spec[, actions]) and remembers how."""
        self.sources.append((kind, a))
        if kind == "file":
            self.mtimes[a[0]] = os.stat(a[0]).st_mtime_ns
            self.load(a[0])
        else:
            self.add(*a)

    def maybe_reload(self):
        """Re-reads every --users file when one changed (a password rotated)."""
        with self.lock:
            try:
                changed = any(os.stat(p).st_mtime_ns != m for p, m in self.mtimes.items())
            except OSError:
                return
            if not changed:
                return
            old, self.users, sources, self.sources = self.users, {}, self.sources, []
            try:
                for kind, a in sources:
                    self.source(kind, *a)
            except (OSError, ValueError):
                self.users, self.sources = old, sources

    def load(self, path):
        # Lines: USER:PASS [ACTIONS [REPO_GLOB]]; '#' starts a comment.
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split()
                if len(parts) > 3:
                    raise ValueError("%s:%d: too many fields" % (path, lineno))
                self.add(*parts)

    def grant(self, user, rtype, name, wanted):
        """Actions of `wanted` that `user` (None = anonymous) gets on rtype:name."""
        if user is None:
            allowed, repos = ({"pull"}, "*") if self.anonymous else (set(), "*")
        else:
            _, allowed, repos = self.users[user]
        if rtype == "repository":
            if not fnmatch.fnmatchcase(name, repos):
                return []
            if "*" in allowed:
                return list(wanted)
            return [a for a in wanted if a in allowed]
        if rtype == "registry" and name == "catalog" and ("push" in allowed or "*" in allowed):
            # Listing the catalog is an administrative action: only pushers get it.
            return [a for a in wanted if a == "*"]
        return []


def parse_scope(scope):
    """'repository:host:5000/a/b:pull,push' -> ('repository', 'host:5000/a/b', [...]).

    The name may itself hold a ':port', so split the type off the front and the actions
    off the back. A resource class ('repository(plugin)') is dropped: 2.8 ignores it.
    """
    first = scope.find(":")
    last = scope.rfind(":")
    if first <= 0 or last == first:
        return None
    rtype = scope[:first]
    if "(" in rtype and rtype.endswith(")"):
        rtype = rtype[: rtype.index("(")]
    name = scope[first + 1:last]
    actions = [a for a in scope[last + 1:].split(",") if a]
    if not name:
        return None
    return rtype, name, actions


class Issuer:
    def __init__(self, args):
        self.args = args
        with open(args.cert, encoding="ascii") as f:
            pem = f.read()
        self.cert_der = ssl.PEM_cert_to_DER_cert(pem)
        spki = subprocess.run(
            ["openssl", "x509", "-noout", "-pubkey"], input=pem.encode(), check=True,
            capture_output=True).stdout
        spki_der = subprocess.run(
            ["openssl", "pkey", "-pubin", "-outform", "DER"], input=spki, check=True,
            capture_output=True).stdout
        self.kid = libtrust_key_id(spki_der)
        header = {"typ": "JWT", "alg": "RS256"}
        if args.key_id_mode in ("x5c", "both"):
            header["x5c"] = [base64.b64encode(self.cert_der).decode("ascii")]
        if args.key_id_mode in ("kid", "both"):
            header["kid"] = self.kid
        self.header_b64 = b64url(json.dumps(header, separators=(",", ":")).encode())

    def mint(self, issuer, audience, subject, access, lifetime, leeway=DISTRIBUTION_LEEWAY,
             now=None):
        """-> (JWT, now): a registry token as distribution 2.8 wants it. The registry refuses
        it `lifetime` s after `now` (exp = now + lifetime - leeway, see the module doc)."""
        now = int(time.time()) if now is None else int(now)
        claims = {
            "iss": issuer,
            "sub": subject,
            "aud": audience,
            "exp": now + lifetime - leeway,
            "nbf": now,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        return self.sign(claims), now

    def sign(self, claims):
        signing_input = self.header_b64 + "." + b64url(
            json.dumps(claims, separators=(",", ":")).encode())
        # RS256 = RSASSA-PKCS1-v1_5 with SHA-256, which is what `openssl dgst -sign` does
        # with an RSA key.
        sig = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", self.args.key], input=signing_input.encode(),
            check=True, capture_output=True).stdout
        return signing_input + "." + b64url(sig)


class State:
    def __init__(self, args, policy, issuer):
        self.args = args
        self.policy = policy
        self.issuer = issuer
        self.lock = threading.Lock()
        self.issued = 0
        self.issued_to = {}  # user (None: anonymous) -> tokens issued
        self.requests = 0
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None

    def write_log(self, line):
        with self.lock:
            if self.log:
                self.log.write(line + "\n")
                self.log.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.1 so clients can keep the connection open, as real token servers allow.
    protocol_version = "HTTP/1.1"
    server_version = "imgpull-tokenserver/1"
    state = None  # set in main()

    def log_message(self, fmt, *a):  # the --log file is the record; keep stderr quiet
        pass

    def _reply(self, status, obj, extra_headers=(), note=""):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        auth = self.headers.get("Authorization")
        # Only the scheme: the rest is a credential or a token and must never be logged.
        scheme = auth.split(None, 1)[0] if auth and auth.strip() else ("none" if auth is None else "empty")
        # t=: when the request arrived and when it was answered (epoch seconds).
        self.state.write_log("%s %s %s auth=%s status=%d%s t=%.3f-%.3f" % (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), self.command, self.path,
            scheme, status, note, getattr(self, "t_begin", time.time()), time.time()))

    def _error(self, status, code, message, challenge=False):
        hdrs = []
        if challenge:
            hdrs.append(("WWW-Authenticate", 'Basic realm="%s"' % self.state.args.issuer))
        self._reply(status, {"errors": [{"code": code, "message": message, "detail": None}]},
                    hdrs, " token=-")

    def _authenticate(self):
        """-> (ok, user or None). Basic only; bad or unknown schemes fail."""
        auth = self.headers.get("Authorization")
        if auth is None:
            return True, None
        parts = auth.strip().split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "basic":
            return False, None
        try:
            user, password = base64.b64decode(parts[1], validate=True).decode("utf-8").split(":", 1)
        except (ValueError, UnicodeDecodeError):
            return False, None
        self.state.policy.maybe_reload()
        entry = self.state.policy.users.get(user)
        if entry is None or entry[0] != password:
            return False, None
        return True, user

    def do_GET(self):
        self.t_begin = time.time()
        st = self.state
        args = st.args
        url = urllib.parse.urlsplit(self.path)
        if url.path in args.deny_path:
            # Stands in for another authentication service that refuses whatever it gets.
            self._error(401, "UNAUTHORIZED", "authentication failed", challenge=True)
            return
        if url.path not in args.realm_path:
            self._error(404, "NOT_FOUND", "no such endpoint")
            return
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        services = query.get("service", [])
        if services and services[-1] != args.service:
            # Real token servers refuse an audience they do not serve; a client that sends
            # the wrong service would otherwise only fail later at the registry.
            self._error(400, "DENIED", "unknown service %r" % services[-1])
            return
        ok, user = self._authenticate()
        if not ok:
            self._error(401, "UNAUTHORIZED", "incorrect username or password", challenge=True)
            return
        if user is None and not st.policy.anonymous:
            self._error(401, "UNAUTHORIZED", "authentication required", challenge=True)
            return

        access = []
        for value in query.get("scope", []):
            # OAuth2 clients may join several scopes with spaces in one parameter.
            for scope in value.split():
                parsed = parse_scope(scope)
                if parsed is None:
                    self._error(400, "INVALID_REQUEST", "malformed scope %r" % scope)
                    return
                rtype, name, wanted = parsed
                granted = st.policy.grant(user, rtype, name, wanted)
                # Like docker/auth servers: a scope the user may not have is left out
                # (access: [] or fewer actions); the registry then answers
                # insufficient_scope, which is what a client sees in the wild.
                access.append({"type": rtype, "name": name, "actions": granted})

        with st.lock:
            st.issued_to[user] = st.issued_to.get(user, 0) + 1
            nth = st.issued_to[user]
        if args.slow_after is not None and nth > args.slow_after and user == args.slow_user:
            time.sleep(args.slow)  # before minting: the token's life starts when it is sent
        # No service parameter (nvcr.io's challenge has none): the audience is still ours.
        token, now = st.issuer.mint(args.issuer, args.service, user or "", access,
                                    args.token_lifetime, args.leeway)
        expires_in = args.expires_in if args.expires_in is not None else args.token_lifetime
        issued_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        body = {}
        if args.shape in ("docker", "both"):
            body["token"] = token
        if args.shape in ("acr", "both"):
            body["access_token"] = token
        if args.shape in ("docker", "both"):
            body["expires_in"] = expires_in
            body["issued_at"] = issued_at
        with st.lock:
            st.issued += 1
            seq = st.issued
        # ';' between scopes: ',' already separates actions inside one.
        granted = ";".join("%s:%s:%s" % (a["type"], a["name"], ",".join(a["actions"]))
                           for a in access) or "-"
        self._reply(200, body, note=" token=%d granted=%s" % (seq, granted))

    def do_HEAD(self):
        self._error(405, "UNSUPPORTED", "HEAD not supported")

    def do_POST(self):
        # The OAuth2 password/refresh_token form is not served: like ACR, answer 400, so
        # a client must fall back to GET + Basic. Drain the body to keep the connection sane.
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(min(length, 1 << 20))
        self._error(400, "UNSUPPORTED", "use GET with Basic authentication")


class TLSServer(http.server.ThreadingHTTPServer):
    """HTTPS with the handshake in the request's thread, not in accept(): a client that
    connects and stalls must not block everyone else."""

    ctx = None

    def finish_request(self, request, client_address):
        try:
            request = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)


def serve(port, handler, tls_cert=None, tls_key=None, on_stop=None, on_ready=None):
    """Serve handler on 127.0.0.1:port (HTTPS with tls_cert and tls_key, the handshake in
    the request's thread) until SIGTERM or SIGINT. on_ready(scheme) runs once the port is
    bound, before serving; at the signal on_stop() runs and the process exits 0 at once.
    (fakecloud.py serves this way too.)"""
    scheme = "http"
    server_cls = http.server.ThreadingHTTPServer
    ctx = None
    if tls_cert:
        scheme = "https"
        server_cls = TLSServer
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls_cert, tls_key)
    srv = server_cls(("127.0.0.1", port), handler)
    srv.ctx = ctx
    srv.daemon_threads = True

    def stop(signum, frame):
        if on_stop:
            on_stop()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if on_ready:
        on_ready(scheme)
    srv.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--key", required=True, help="RSA private key (PEM) that signs tokens")
    p.add_argument("--cert", required=True, help="its certificate; put it in rootcertbundle")
    p.add_argument("--issuer", default="imgpull-token-issuer")
    p.add_argument("--service", default="imgpull-registry")
    p.add_argument("--users", action="append", default=[],
                   help="file of 'USER:PASS [ACTIONS [REPO_GLOB]]' lines")
    p.add_argument("--user", action="append", default=[], help="USER:PASS granted pull")
    p.add_argument("--pusher", action="append", default=[],
                   help="USER:PASS granted pull,push,delete (for skopeo pushes)")
    p.add_argument("--anonymous", action="store_true", help="grant pull without credentials")
    p.add_argument("--shape", choices=("docker", "acr", "both"), default="docker")
    p.add_argument("--expires-in", type=int, default=None,
                   help="expires_in to report (default: --token-lifetime)")
    p.add_argument("--token-lifetime", type=int, default=300,
                   help="seconds the registry accepts a token for (exp = now + N - leeway)")
    p.add_argument("--leeway", type=int, default=DISTRIBUTION_LEEWAY,
                   help="the registry's exp leeway to compensate for (distribution: 60)")
    p.add_argument("--key-id-mode", choices=("x5c", "kid", "both"), default="x5c")
    p.add_argument("--realm-path", action="append", default=None,
                   help="path that serves tokens (repeatable; default /token)")
    p.add_argument("--deny-path", action="append", default=[],
                   help="path that always answers 401 (repeatable)")
    p.add_argument("--log", default=None)
    p.add_argument("--slow-after", type=int, default=None,
                   help="answer every token for --slow-user after its first N only after --slow seconds")
    p.add_argument("--slow-user", default=None)
    p.add_argument("--slow", type=float, default=3.0)
    p.add_argument("--tls-cert", default=None, help="serve HTTPS with this cert (and --tls-key)")
    p.add_argument("--tls-key", default=None)
    args = p.parse_args()
    args.realm_path = args.realm_path or ["/token"]
    for path in args.realm_path + args.deny_path:
        if not path.startswith("/"):
            p.error("paths must start with /: %r" % path)

    policy = Policy()
    try:
        for path in args.users:
            policy.source("file", path)
        for spec in args.user:
            policy.source("spec", spec)
        for spec in args.pusher:
            policy.source("spec", spec, "pull,push,delete")
    except (OSError, ValueError) as e:
        p.error(str(e))
    policy.anonymous = args.anonymous

    state = State(args, policy, Issuer(args))
    Handler.state = state

    def ready(scheme):
        state.write_log("listening %s://127.0.0.1:%d%s service=%s issuer=%s kid=%s%s" % (
            scheme, args.port, ",".join(args.realm_path), args.service, args.issuer,
            state.issuer.kid, "".join(" deny=" + d for d in args.deny_path)))
        print("tokenserver on %s://127.0.0.1:%d%s" % (scheme, args.port, args.realm_path[0]),
              flush=True)

    serve(args.port, Handler, args.tls_cert, args.tls_key,
          on_stop=lambda: state.write_log("shutdown tokens_issued=%d" % state.issued),
          on_ready=ready)


if __name__ == "__main__":
    sys.exit(main())
