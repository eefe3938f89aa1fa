#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A registry that misbehaves on purpose, for imgpull's time-bound tests.

  hostile.py --port PORT --layout OCI_DIR --log FILE [--manifest MODE] [--blob MODE]

Serves the images of an OCI image layout (as t_make_image writes it) under any
repository name: GET /v2/, manifests by tag (the layout's ref names) or digest,
blobs by digest with Range support (206). Each manifest or blob answer sends its
headers normally and then its body as MODE says:

  ok            the whole body at once
  stall         nothing more: the connection stays open, silent, until the client leaves
  trickle:S     one byte every S seconds
  reset:N       N bytes, then a TCP reset
  rate:B        B bytes per second, steadily
  long:N        (blobs) 200 with the whole blob plus N more bytes, Content-Length to match
  longstream:N  (blobs) the same without Content-Length: the body ends when the connection closes
  stall1:OFF    (blobs) the first request whose range starts at byte OFF stalls; all
                others are served normally
  once:OFF:F    (blobs) the first request whose range starts at byte OFF meets fault F,
                all others are served normally. F: short (half the body, then a clean
                close), badrange (a 206 whose Content-Range is one byte off), whole (a
                200 with the whole blob where a range was asked), corrupt (one byte of
                the body flipped), 503 (Service Unavailable), reset (a TCP reset after
                a few bytes)
  status:N      answer HTTP N with a registry error body instead
  status:N:RA   the same with "Retry-After: RA" (e.g. status:429:300, throttled forever)

--blob-min BYTES applies the blob mode only to blobs of at least that size (the
others are served normally), e.g. to stall a large layer but not the config.

One log line per request: "METHOD PATH range=R status=S sent=N port=P mode=M".
Standard library only; stops after an hour at most.
"""
import argparse
import hashlib
import json
import os
import select
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LIFETIME = 3600


class State:
    def __init__(self, args):
        self.layout = args.layout
        self.manifest_mode = args.manifest
        self.blob_mode = args.blob
        self.blob_min = args.blob_min
        self.log = open(args.log, "a", buffering=1)
        self.lock = threading.Lock()
        self.stalled_once = set()
        with open(os.path.join(args.layout, "index.json")) as f:
            idx = json.load(f)
        self.tags = {}
        for m in idx.get("manifests", []):
            name = m.get("annotations", {}).get("org.opencontainers.image.ref.name")
            if name:
                self.tags[name] = m

    def blob_path(self, digest):
        if not digest.startswith("sha256:") or len(digest) != 71:
            return None
        hexd = digest[7:]
        if any(c not in "0123456789abcdef" for c in hexd):
            return None
        p = os.path.join(self.layout, "blobs", "sha256", hexd)
        return p if os.path.isfile(p) else None

    def write_log(self, line):
        with self.lock:
            self.log.write(line + "\n")


def parse_range(h, size):
    if not h or not h.startswith("bytes="):
        return None
    first, _, last = h[6:].partition("-")
    try:
        first = int(first)
        last = int(last) if last else size - 1
    except ValueError:
        return None
    if first > last or first >= size:
        return None
    return first, min(last, size - 1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostile"

    def log_message(self, fmt, *args):
        pass

    def record(self, status, sent, mode):
        st = self.server.st
        st.write_log("%s %s range=%s status=%d sent=%d port=%d mode=%s" % (
            self.command, self.path, self.headers.get("Range", "-"), status, sent,
            self.client_address[1], mode))

    def blob_mode_for(self, digest):
        """The blob mode, for blobs of at least --blob-min bytes (smaller ones: ok)."""
        st = self.server.st
        if st.blob_min:
            p = st.blob_path(digest)
            if p and os.path.getsize(p) < st.blob_min:
                return "ok"
        return st.blob_mode

    def plain(self, status, body=b"", ctype="application/json", retry_after=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.record(status, len(body), "ok")

    def gone(self):
        """True once the client closed its end (EOF or error on the socket)."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if r:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True
        return False

    def send_body(self, body, mode):
        """Sends body as mode says; returns bytes sent."""
        sent = 0
        deadline = time.monotonic() + LIFETIME
        kind, _, arg = mode.partition(":")
        try:
            if kind in ("ok", "long", "longstream"):
                self.wfile.write(body)
                return len(body)
            if kind == "stall":
                self.wfile.flush()
                while time.monotonic() < deadline and not self.gone():
                    time.sleep(0.2)
                self.close_connection = True
                return 0
            if kind == "trickle":
                every = float(arg)
                while sent < len(body) and time.monotonic() < deadline:
                    self.wfile.write(body[sent:sent + 1])
                    self.wfile.flush()
                    sent += 1
                    t_end = time.monotonic() + every
                    while time.monotonic() < t_end:
                        if self.gone():
                            self.close_connection = True
                            return sent
                        time.sleep(0.1)
                return sent
            if kind == "reset":
                n = min(int(arg), len(body))
                self.wfile.write(body[:n])
                self.wfile.flush()
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
                return n
            if kind == "rate":
                rate = int(arg)
                piece = max(1, rate // 10)
                t0 = time.monotonic()
                while sent < len(body):
                    self.wfile.write(body[sent:sent + piece])
                    sent += len(body[sent:sent + piece])
                    ahead = sent / rate - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
                return sent
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
            return sent
        raise ValueError("unknown mode %r" % mode)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        st = self.server.st
        path = self.path.split("?", 1)[0]
        if path in ("/v2", "/v2/"):
            return self.plain(200, b"{}")
        parts = path.split("/")
        # /v2/<repo...>/manifests/<ref> or /v2/<repo...>/blobs/<digest>
        if len(parts) < 5 or parts[1] != "v2" or parts[-2] not in ("manifests", "blobs"):
            return self.plain(404, b'{"errors":[{"code":"NOT_FOUND"}]}')
        kind, ref = parts[-2], parts[-1]
        mode = st.manifest_mode if kind == "manifests" else self.blob_mode_for(ref)
        if mode.startswith("status:"):
            code, _, ra = mode[7:].partition(":")
            return self.plain(int(code), b'{"errors":[{"code":"DENIED","message":"on purpose"}]}',
                              retry_after=ra or None)
        if kind == "manifests":
            desc = st.tags.get(ref)
            digest = desc["digest"] if desc else ref
            p = st.blob_path(digest)
            if not p:
                return self.plain(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
            body = open(p, "rb").read()
            mt = json.loads(body).get("mediaType", "application/vnd.oci.image.manifest.v1+json")
            self.send_response(200)
            self.send_header("Content-Type", mt)
            self.send_header("Docker-Content-Digest", digest)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            mode = st.manifest_mode
            sent = 0 if self.command == "HEAD" else self.send_body(body, mode)
            return self.record(200, sent, mode)
        p = st.blob_path(ref)
        if not p:
            return self.plain(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')
        data = open(p, "rb").read()
        size = len(data)
        mode = self.blob_mode_for(ref)
        kind_, _, arg = mode.partition(":")
        rng = None if kind_.startswith("long") else parse_range(self.headers.get("Range"), size)
        if kind_ == "stall1":
            start = rng[0] if rng else 0
            with st.lock:
                first = start == int(arg) and start not in st.stalled_once
                if first:
                    st.stalled_once.add(start)
            mode = "stall" if first else "ok"
        fault = None
        if kind_ == "once":
            off, _, what = arg.partition(":")
            start = rng[0] if rng else 0
            with st.lock:
                if start == int(off) and start not in st.stalled_once:
                    st.stalled_once.add(start)
                    fault = what
            mode = "ok"
            if fault == "503":
                return self.plain(503, b'{"errors":[{"code":"UNAVAILABLE","message":"on purpose"}]}')
            if fault == "whole":
                rng = None
            if fault == "reset":
                mode = "reset:1000"
        if kind_.startswith("long"):
            body = data + b"\0" * int(arg)
            status = 200
        elif rng:
            body = data[rng[0]:rng[1] + 1]
            status = 206
        else:
            body = data
            status = 200
        if fault == "corrupt":
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Docker-Content-Digest", ref)
        self.send_header("Accept-Ranges", "bytes")
        if kind_ == "longstream":
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        if status == 206:
            shift = 1 if fault == "badrange" and rng[1] + 1 < size else 0
            self.send_header("Content-Range", "bytes %d-%d/%d" % (rng[0] + shift, rng[1] + shift, size))
        self.end_headers()
        if fault == "short" and self.command != "HEAD":
            half = len(body) // 2
            self.wfile.write(body[:half])
            self.wfile.flush()
            self.close_connection = True
            return self.record(status, half, "once:short")
        sent = 0 if self.command == "HEAD" else self.send_body(body, mode)
        self.record(status, sent, ("once:" + fault) if fault else mode)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--layout", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--manifest", default="ok")
    ap.add_argument("--blob", default="ok")
    ap.add_argument("--blob-min", type=int, default=0)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.st = State(args)
    threading.Timer(LIFETIME, lambda: os._exit(0)).start()
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
