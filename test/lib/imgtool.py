#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Generate OCI image layouts for imgpull tests and benchmarks (standard library only).

  imgtool.py image OUTDIR TAG --layer SIZE [--layer SIZE ...] [--platform OS/ARCH[/VARIANT]]
                              [--seed N] [--level L]
  imgtool.py index OUTDIR TAG PLATFORM [PLATFORM ...] [--layer SIZE ...] [--seed N] [--level L]

Each layer is a gzip-compressed tar holding one regular file "layerN.bin" of SIZE bytes of
pseudo-random (incompressible) data. SIZE takes K/M/G (powers of 1024) suffixes.
Layers are streamed (never held in memory). --level 0 (the default) writes stored deflate
blocks: valid gzip, ~4 GB/s; note zlib at level 1 also emits stored blocks for random data
(the output is the same shape, ratio 1.0003) but runs at only ~50 MB/s.
--seed S makes the data (and so every digest) reproducible (AES-128-CTR keystream from
`openssl enc`, keyed by S, platform and layer index); without it /dev/urandom is used.

OUTDIR is created as an OCI image layout if needed; existing content is kept and index.json
gets (or replaces) the entry whose org.opencontainers.image.ref.name is TAG.
Prints shell assignments (T_IMG_*) describing the result on stdout.
"""
import hashlib
import json
import os
import queue
import random
import shlex
import shutil
import subprocess
import sys
import tarfile
import threading
import zlib

CHUNK = 1 << 20
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
CREATED = "2024-01-01T00:00:00Z"
MTIME = 1704067200


def die(msg):
    sys.stderr.write("imgtool: %s\n" % msg)
    sys.exit(2)


def parse_size(s):
    s = s.strip()
    mult = 1
    suf = s[-1:].upper()
    if suf in "KMGT" and suf:
        mult = 1024 ** ("KMGT".index(suf) + 1)
        s = s[:-1]
        if s[-1:].upper() == "I":  # tolerate "Mi"
            s = s[:-1]
    elif suf == "B":
        s = s[:-1]
    try:
        v = float(s) if "." in s else int(s)
    except ValueError:
        die("bad size %r" % s)
    return int(v * mult)


def parse_platform(p):
    parts = p.split("/")
    if len(parts) < 2 or len(parts) > 3 or not all(parts):
        die("bad platform %r (want os/arch[/variant])" % p)
    d = {"os": parts[0], "architecture": parts[1]}
    if len(parts) == 3:
        d["variant"] = parts[2]
    return d


class Layout:
    def __init__(self, root):
        self.root = root
        self.blobs = os.path.join(root, "blobs", "sha256")
        os.makedirs(self.blobs, exist_ok=True)
        lay = os.path.join(root, "oci-layout")
        if not os.path.exists(lay):
            with open(lay, "w") as f:
                json.dump({"imageLayoutVersion": "1.0.0"}, f)

    def tmpname(self):
        return os.path.join(self.blobs, ".tmp-%d-%s" % (os.getpid(), os.urandom(6).hex()))

    def put_bytes(self, data, media_type, extra=None):
        dg = hashlib.sha256(data).hexdigest()
        path = os.path.join(self.blobs, dg)
        if not os.path.exists(path):
            tmp = self.tmpname()
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, path)
        desc = {"mediaType": media_type, "digest": "sha256:" + dg, "size": len(data)}
        if extra:
            desc.update(extra)
        return desc

    def put_json(self, obj, media_type, extra=None):
        return self.put_bytes(json.dumps(obj, separators=(",", ":")).encode(), media_type, extra)

    def tag(self, tag, desc):
        path = os.path.join(self.root, "index.json")
        if os.path.exists(path):
            with open(path) as f:
                idx = json.load(f)
        else:
            idx = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": []}
        idx["manifests"] = [m for m in idx.get("manifests", [])
                            if m.get("annotations", {}).get(REF_NAME) != tag]
        d = dict(desc)
        d["annotations"] = {REF_NAME: tag}
        idx["manifests"].append(d)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(idx, f, indent=2)
        os.replace(tmp, path)


class Pipeline:
    """Three stages on their own threads (hashlib, zlib and file I/O release the GIL):
    random data -> [this thread: tar sha256, gzip framing] -> [writer: gz sha256 + write].
    Buffers are recycled so that no page is faulted in twice."""

    def __init__(self, out, seed):
        self.out = out
        self.seed = seed
        self.h_gz = hashlib.sha256()
        self.gz_size = 0
        self.free_in = queue.Queue()
        self.free_out = queue.Queue()
        for _ in range(4):
            self.free_in.put(bytearray(CHUNK))
            self.free_out.put(bytearray(CHUNK + 5 * (CHUNK // 65535 + 2) + 65536))
        self.wq = queue.Queue()
        self.err = None
        self.writer = threading.Thread(target=self._writer, daemon=True)
        self.writer.start()

    def _writer(self):
        while True:
            item = self.wq.get()
            if item is None:
                return
            buf, n = item
            if self.err is None:
                try:
                    mv = memoryview(buf)[:n]
                    self.h_gz.update(mv)
                    while mv:
                        w = self.out.write(mv)
                        mv = mv[w:]
                    self.gz_size += n
                except BaseException as e:  # reported by close(); keep draining
                    self.err = e
            if len(buf) >= CHUNK:
                self.free_out.put(buf)

    def write(self, data):
        """Queue compressed bytes (a copy is made)."""
        if not data:
            return
        buf = bytearray(data)
        self.wq.put((buf, len(buf)))

    def write_buf(self, buf, n):
        self.wq.put((buf, n))

    def close(self):
        self.wq.put(None)
        self.writer.join()
        if self.err:
            raise self.err

    def random_chunks(self, total):
        """Yield (buffer, n) with n random bytes; the buffer must be given back with recycle()."""
        if total == 0:
            return
        q = queue.Queue(maxsize=3)
        nchunks = (total + CHUNK - 1) // CHUNK

        def producer():
            proc = None
            try:
                left = total
                if self.seed is None:
                    f = open("/dev/urandom", "rb", buffering=0)
                elif shutil.which("openssl"):
                    # reproducible and fast: AES-128-CTR keystream keyed by the seed
                    zero = open("/dev/zero", "rb")
                    key = hashlib.sha256(("imgpull-test:%s" % self.seed).encode()).hexdigest()[:32]
                    proc = subprocess.Popen(
                        ["openssl", "enc", "-aes-128-ctr", "-nosalt", "-K", key, "-iv", "0" * 32],
                        stdin=zero,
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
                    zero.close()
                    f = proc.stdout
                else:
                    f = None
                    rng = random.Random(self.seed)
                for _ in range(nchunks):
                    n = min(CHUNK, left)
                    left -= n
                    buf = self.free_in.get()
                    mv = memoryview(buf)
                    if f is None:
                        mv[:n] = rng.randbytes(n)
                    else:
                        got = 0
                        while got < n:
                            r = f.readinto(mv[got:n])
                            if not r:
                                raise IOError("random source ended early")
                            got += r
                    q.put((buf, n))
                if f:
                    f.close()
            except BaseException as e:
                q.put(e)
            finally:
                if proc:
                    proc.kill()
                    proc.wait()

        t = threading.Thread(target=producer, daemon=True)
        t.start()
        for _ in range(nchunks):
            item = q.get()
            if isinstance(item, BaseException):
                raise item
            yield item
        t.join()

    def recycle(self, buf):
        self.free_in.put(buf)


GZIP_HEADER = bytes([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3])  # no name, mtime 0, OS unix


class StoredGzip:
    """gzip member made of stored (level 0) deflate blocks, built without zlib's copy."""

    def __init__(self, pipe):
        self.pipe = pipe
        self.crc = 0
        self.isize = 0
        pipe.write(GZIP_HEADER)

    def feed(self, mv):
        """Frame the bytes of memoryview mv as stored blocks (none of them final)."""
        self.crc = zlib.crc32(mv, self.crc)
        self.isize += len(mv)
        out = self.pipe.free_out.get()
        om = memoryview(out)
        p = 0
        for off in range(0, len(mv), 65535):
            blk = mv[off:off + 65535]
            n = len(blk)
            om[p:p + 5] = bytes((0, n & 255, n >> 8, (~n) & 255, ((~n) >> 8) & 255))
            p += 5
            om[p:p + n] = blk
            p += n
        self.pipe.write_buf(out, p)

    def finish(self):
        tail = bytes((1, 0, 0, 255, 255))  # empty final stored block
        tail += (self.crc & 0xFFFFFFFF).to_bytes(4, "little")
        tail += (self.isize & 0xFFFFFFFF).to_bytes(4, "little")
        self.pipe.write(tail)


class ZlibGzip:
    def __init__(self, pipe, level):
        self.pipe = pipe
        self.comp = zlib.compressobj(level, zlib.DEFLATED, 31, 9)

    def feed(self, mv):
        self.pipe.write(self.comp.compress(mv))

    def finish(self):
        self.pipe.write(self.comp.flush())


def write_layer(layout, index, size, seed, level):
    """Stream a gzip(tar(one file)) layer into the layout. Returns (descriptor, diff_id, tar size)."""
    h_tar = hashlib.sha256()
    tmp = layout.tmpname()
    tar_size = 0
    with open(tmp, "wb", buffering=0) as out:
        pipe = Pipeline(out, seed)
        gz = StoredGzip(pipe) if level == 0 else ZlibGzip(pipe, level)

        def emit_tar(b):
            nonlocal tar_size
            mv = memoryview(b)
            tar_size += len(mv)
            h_tar.update(mv)
            gz.feed(mv)

        ti = tarfile.TarInfo("layer%d.bin" % index)
        ti.size = size
        ti.mode = 0o644
        ti.mtime = MTIME
        ti.uname = ti.gname = "root"
        emit_tar(ti.tobuf(format=tarfile.PAX_FORMAT))
        for buf, n in pipe.random_chunks(size):
            emit_tar(memoryview(buf)[:n])
            pipe.recycle(buf)
        pad = (-size) % 512
        emit_tar(b"\0" * (pad + 1024))  # padding + two zero end-of-archive blocks
        emit_tar(b"\0" * ((-tar_size) % tarfile.RECORDSIZE))
        gz.finish()
        pipe.close()
    dg = pipe.h_gz.hexdigest()
    os.rename(tmp, os.path.join(layout.blobs, dg))
    return ({"mediaType": MT_LAYER_GZ, "digest": "sha256:" + dg, "size": pipe.gz_size},
            "sha256:" + h_tar.hexdigest(), tar_size)


def make_image(layout, sizes, platform, seed, level, label=None):
    layers, diff_ids, history, tar_sizes = [], [], [], []
    for i, size in enumerate(sizes):
        lseed = None if seed is None else "%s/%s/%d" % (seed, json.dumps(platform, sort_keys=True), i)
        desc, diff_id, tsz = write_layer(layout, i, size, lseed, level)
        layers.append(desc)
        diff_ids.append(diff_id)
        tar_sizes.append(tsz)
        history.append({"created": CREATED, "created_by": "imgpull-test layer%d.bin (%d bytes)" % (i, size)})
    config = dict(platform)
    config.update({
        "created": CREATED,
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/layer0.bin"], "Labels": {"imgpull.test": label or "image"}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    })
    cdesc = layout.put_json(config, MT_CONFIG)
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cdesc, "layers": layers}
    mdesc = layout.put_json(manifest, MT_MANIFEST)
    return mdesc, cdesc, layers, diff_ids


def main(argv):
    if len(argv) < 3 or argv[0] not in ("image", "index"):
        die(__doc__)
    mode, outdir, tag = argv[0], argv[1], argv[2]
    sizes, platforms, seed, level = [], [], None, 0
    args = argv[3:]
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--layer", "--platform", "--seed", "--level"):
            if i + 1 >= len(args):
                die("%s needs a value" % a)
            v = args[i + 1]
            i += 2
            if a == "--layer":
                sizes.append(parse_size(v))
            elif a == "--platform":
                platforms.append(v)
            elif a == "--seed":
                seed = v
            else:
                level = int(v)
        elif a.startswith("--"):
            die("unknown option %s" % a)
        else:
            platforms.append(a)
            i += 1
    layout = Layout(outdir)
    out = {}
    if mode == "image":
        if not sizes:
            die("image: at least one --layer SIZE is required")
        if len(platforms) > 1:
            die("image: at most one --platform")
        plat = parse_platform(platforms[0] if platforms else "linux/amd64")
        mdesc, cdesc, layers, diff_ids = make_image(layout, sizes, plat, seed, level)
        layout.tag(tag, mdesc)
        out["T_IMG_MANIFEST"] = mdesc["digest"]
        out["T_IMG_MANIFEST_SIZE"] = str(mdesc["size"])
        out["T_IMG_CONFIG"] = cdesc["digest"]
        out["T_IMG_LAYERS"] = " ".join(l["digest"] for l in layers)
        out["T_IMG_LAYER_SIZES"] = " ".join(str(l["size"]) for l in layers)
        out["T_IMG_DIFF_IDS"] = " ".join(diff_ids)
    else:
        if not platforms:
            die("index: at least one platform is required")
        if not sizes:
            sizes = [64 * 1024]
        entries, layers_all, mds = [], [], []
        for p in platforms:
            plat = parse_platform(p)
            mdesc, cdesc, layers, _ = make_image(layout, sizes, plat, seed, level, label=p)
            d = dict(mdesc)
            d["platform"] = plat
            entries.append(d)
            mds.append(mdesc["digest"])
            layers_all += [l["digest"] for l in layers]
        index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": entries}
        idesc = layout.put_json(index, MT_INDEX)
        layout.tag(tag, idesc)
        out["T_IMG_INDEX"] = idesc["digest"]
        out["T_IMG_MANIFEST"] = idesc["digest"]
        out["T_IMG_MANIFEST_SIZE"] = str(idesc["size"])
        out["T_IMG_PLATFORM_MANIFESTS"] = " ".join(mds)
        out["T_IMG_LAYERS"] = " ".join(layers_all)
    for k, v in out.items():
        print("%s=%s" % (k, shlex.quote(v)))


if __name__ == "__main__":
    main(sys.argv[1:])
