#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A fault-injecting HTTP proxy for imgpull's tests.

  faultproxy.py --port PORT --upstream HOST:PORT --rules FILE --log FILE
                [--expire-redirects SECONDS]

It stands between imgpull and a real server (docker-registry, the nginx blob store),
forwards each request and streams the answer back, and breaks the answers its rules
name. The upstream sees every request as the client sent it (Host, Authorization,
Range), except where a rule says otherwise.

Rules: one per line in FILE, read again whenever the file changes (a test rewrites it
between pulls); '#' starts a comment. A rule is

  PATH_REGEX FAULT [ARG ...] [times=N] [at=OFFSET]

PATH_REGEX is searched in the request path (without the query); at=OFFSET only
matches requests whose Range starts at byte OFFSET (at=0 also matches a request
without Range); the rule fires N times (default 1), later matches pass untouched.
The first rule that matches and has firings left applies. FAULT is one of:

  reset N          the answer's headers and N body bytes, then a TCP reset
  stall N S        N body bytes, then silence for S seconds (the connection open), then close
  status CODE [RA] answer CODE without asking the upstream (a registry error body);
                   RA: a Retry-After header with that value (429 and 503 as throttles send)
  norange          forward without the Range header: the upstream answers 200 and the whole
                   body where a range was asked
  short N          N body bytes, then a clean close, although Content-Length said more
  corrupt N        the answer's body byte at position N flipped (bitwise not)
  badrange         a 206's Content-Range start moved one byte (the body unchanged)
  rate B           the body at B bytes per second (a slow path; give it times=N)

--expire-redirects S: each Location the upstream answers with gets `fpexp=<unix time
+ S>` added to its query, as a registry signs an expiring presigned URL. Any request
whose query carries an fpexp in the past is answered 403 with S3's "Request has
expired" body without asking the upstream; that check is always on, so a second proxy
in front of the blob store enforces the expiry the first one wrote.

Log: one line per request, written when it ends (a stall's when its silence starts):
  t=<unix start>-<unix end> METHOD PATH range=R status=S sent=N port=P fault=F
(PATH without its query: a presigned query is a credential). Standard library only.
"""

import argparse
import http.client
import os
import re
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse

CHUNK = 64 << 10
HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"}


class Rules:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.sig = None
        self.rules = []

    def _load(self):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self.rules, self.sig = [], None
            return
        sig = (st.st_mtime_ns, st.st_size, st.st_ino)
        if sig == self.sig:
            return
        rules = []
        with open(self.path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                words = line.split()
                opts = {}
                while words and re.match(r"^(times|at)=\d+$", words[-1]):
                    k, v = words.pop().split("=")
                    opts[k] = int(v)
                if len(words) < 2:
                    raise SystemExit("%s:%d: want PATH_REGEX FAULT [ARG...]" % (self.path, n))
                rules.append({"re": re.compile(words[0]), "fault": words[1], "args": words[2:],
                              "left": opts.get("times", 1), "at": opts.get("at"), "line": n})
        self.rules, self.sig = rules, sig

    def take(self, path, range_start):
        """The rule that fires for this request (its firing counted), or None."""
        with self.lock:
            self._load()
            for r in self.rules:
                if r["left"] <= 0 or not r["re"].search(path):
                    continue
                if r["at"] is not None and range_start != r["at"]:
                    continue
                r["left"] -= 1
                return r
        return None


def range_start(value):
    m = re.match(r"^\s*bytes=(\d+)-", value or "")
    return int(m.group(1)) if m else (0 if not value else None)


class Handler(socketserver.StreamRequestHandler):
    """One client connection; HTTP/1.1 requests on it one after the other."""

    def handle(self):
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            try:
                if not self.one_request():
                    return
            except (ConnectionError, BrokenPipeError, socket.timeout, OSError):
                return

    def read_head(self):
        line = self.rfile.readline(65537)
        if not line:
            return None
        parts = line.decode("latin-1").rstrip("\r\n").split()
        if len(parts) != 3:
            return None
        headers = []
        while True:
            h = self.rfile.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers.append((k.strip(), v.strip()))
        return parts, headers

    def one_request(self):
        head = self.read_head()
        if head is None:
            return False
        (method, target, _version), headers = head
        t0 = time.time()
        url = urllib.parse.urlsplit(target)
        hmap = {k.lower(): v for k, v in headers}
        body = b""
        if "content-length" in hmap:
            body = self.rfile.read(int(hmap["content-length"]))
        rng = hmap.get("range")
        rule = self.server.rules.take(url.path, range_start(rng))
        fault = rule["fault"] if rule else "-"
        args = rule["args"] if rule else []
        st = {"status": 0, "sent": 0, "logged": False}

        def log():
            if st["logged"]:
                return
            st["logged"] = True
            self.server.log("t=%.3f-%.3f %s %s range=%s status=%d sent=%d port=%d fault=%s" % (
                t0, time.time(), method, url.path, rng or "-", st["status"], st["sent"],
                self.client_address[1], fault + ("" if not args else ":" + ":".join(args))))

        exp = urllib.parse.parse_qs(url.query).get("fpexp")
        if exp and exp[-1].isdigit() and int(exp[-1]) < time.time():
            fault, args = "expired", []
            xml = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                   b'<Message>Request has expired</Message></Error>')
            self.answer(403, [("Content-Type", "application/xml")], xml, method, st)
            log()
            return True
        if fault == "status":
            code = int(args[0])
            extra = [("Retry-After", args[1])] if len(args) > 1 else []
            err = ('{"errors":[{"code":"UNAVAILABLE","message":"injected %d","detail":null}]}' % code).encode()
            self.answer(code, [("Content-Type", "application/json")] + extra, err, method, st)
            log()
            return True

        fwd = [(k, v) for k, v in headers if k.lower() not in HOP]
        if fault == "norange":
            fwd = [(k, v) for k, v in fwd if k.lower() != "range"]
        up = http.client.HTTPConnection(self.server.upstream, timeout=120)
        try:
            up.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for k, v in fwd:
                up.putheader(k, v)
            up.endheaders(body or None)
            resp = up.getresponse()
        except (OSError, http.client.HTTPException) as e:
            self.answer(502, [("Content-Type", "text/plain")], ("upstream: %s" % e).encode(), method, st)
            log()
            return True
        st["status"] = resp.status
        out = []
        length = None
        for k, v in resp.getheaders():
            kl = k.lower()
            if kl in HOP or kl == "transfer-encoding":
                continue
            if kl == "content-length":
                length = int(v)
                continue
            if kl == "location" and self.server.expire is not None:
                v = add_query(v, "fpexp=%d" % int(time.time() + self.server.expire))
            if kl == "content-range" and fault == "badrange":
                m = re.match(r"^bytes (\d+)-(\d+)/(\S+)$", v)
                if m:
                    v = "bytes %d-%d/%s" % (int(m.group(1)) + 1, int(m.group(2)) + 1, m.group(3))
            out.append((k, v))
        chunked = length is None and method != "HEAD" and resp.status not in (204, 304)
        self.send_head(resp.status, resp.reason, out, length, chunked)
        keep = True
        limit = None
        if fault in ("reset", "stall", "short"):
            limit = int(args[0])
        step, pace = CHUNK, None
        if fault == "rate":
            pace = float(args[0])
            step = max(1, min(CHUNK, int(pace / 20)))
        pos = 0
        try:
            while method != "HEAD":
                want = step if limit is None else min(step, limit - pos)
                if want <= 0:
                    break
                data = resp.read(want)
                if not data:
                    break
                if fault == "corrupt":
                    at = int(args[0])
                    if pos <= at < pos + len(data):
                        b = bytearray(data)
                        b[at - pos] ^= 0xFF
                        data = bytes(b)
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)
                pos += len(data)
                st["sent"] = pos
                if pace:
                    ahead = t0 + pos / pace - time.time()
                    if ahead > 0:
                        time.sleep(ahead)
            if limit is not None and pos >= limit:
                self.wfile.flush()
                if fault == "stall":
                    log()  # when the silence starts: a client may leave long before it ends
                    time.sleep(float(args[1]))
                elif fault == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                keep = False
            elif chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        finally:
            up.close()
            log()
        if not keep:
            self.connection.close()
        return keep

    def send_head(self, status, reason, headers, length, chunked):
        lines = ["HTTP/1.1 %d %s" % (status, reason or "")]
        lines += ["%s: %s" % (k, v) for k, v in headers]
        if length is not None:
            lines.append("Content-Length: %d" % length)
        elif chunked:
            lines.append("Transfer-Encoding: chunked")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def answer(self, status, headers, body, method, st):
        st["status"] = status
        self.send_head(status, http.client.responses.get(status, ""), headers, len(body), False)
        if method != "HEAD":
            self.wfile.write(body)
            st["sent"] = len(body)
        self.wfile.flush()


def add_query(url, param):
    u = urllib.parse.urlsplit(url)
    q = u.query + ("&" if u.query else "") + param
    return urllib.parse.urlunsplit((u.scheme, u.netloc, u.path, q, u.fragment))


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True, help="HOST:PORT of the real server")
    p.add_argument("--rules", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--expire-redirects", type=float, default=None)
    args = p.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.upstream = args.upstream
    srv.rules = Rules(args.rules)
    srv.expire = args.expire_redirects
    logf = open(args.log, "a", encoding="utf-8")
    lock = threading.Lock()

    def log(line):
        with lock:
            logf.write(line + "\n")
            logf.flush()

    srv.log = log
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    signal.alarm(3600)  # never outlive a test run by much
    print("listening http://127.0.0.1:%d upstream %s" % (args.port, args.upstream), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
