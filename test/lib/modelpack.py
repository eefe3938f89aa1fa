# SPDX-License-Identifier: Apache-2.0
"""A small model package, pushed as modctl pushes one (CNCF model-spec
docs/spec.md): artifactType application/vnd.cncf.model.manifest.v1+json, the
model config, one raw layer per file placed by its org.cncf.model.filepath
annotation, and a tar+gzip layer of a directory; the files a vLLM-style
server reads from an HF-style model directory.

  modelpack.py ADDR REPO:TAG USER:PASS LISTING

Pushes to the registry at http://ADDR (Basic auth) and writes LISTING, the
files the unpacked directory must hold ("sha256  path", sha256sum -c's form).
"""
import base64
import gzip
import hashlib
import io
import json
import random
import sys
import tarfile
import urllib.request

addr, ref, creds, listing_path = sys.argv[1:5]
repo, tag = ref.rsplit(":", 1)
auth = {"Authorization": "Basic " + base64.b64encode(creds.encode()).decode()}


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def req(url, data=None, method="GET", headers=None):
    h = dict(auth, **(headers or {}))
    return urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=h))


def put_blob(data):
    r = req("http://%s/v2/%s/blobs/uploads/" % (addr, repo), method="POST")
    loc = r.headers["Location"]
    loc = loc if loc.startswith("http") else "http://%s%s" % (addr, loc)
    req(loc + ("&" if "?" in loc else "?") + "digest=" + sha(data), data=data, method="PUT",
        headers={"Content-Type": "application/octet-stream"})
    return sha(data)


rnd = random.Random(20)
files = {  # path in the model directory -> (layer type, bytes)
    "config.json": ("weight.config", json.dumps({"architectures": ["LlamaForCausalLM"], "hidden_size": 64}).encode()),
    "generation_config.json": ("weight.config", b'{"max_new_tokens": 64}'),
    "model-00001-of-00002.safetensors": ("weight", rnd.randbytes(3 << 20)),
    "model-00002-of-00002.safetensors": ("weight", rnd.randbytes(1 << 20)),
    "README.md": ("doc", b"# tiny\nA model made by imgpull's tests.\n"),
}
layers, diff_ids, listing = [], [], {}
for path, (kind, data) in files.items():
    d = put_blob(data)
    meta = {"name": path, "mode": 0o644, "uid": 0, "gid": 0, "size": len(data),
            "mtime": "2026-11-01T10:00:00Z", "typeflag": 48}
    layers.append({"mediaType": "application/vnd.cncf.model.%s.v1.raw" % kind, "digest": d, "size": len(data),
                   "annotations": {"org.cncf.model.filepath": path,
                                   "org.cncf.model.file.metadata+json": json.dumps(meta)}})
    diff_ids.append(d)
    listing[path] = hashlib.sha256(data).hexdigest()
# The tokenizer files as one tar+gzip layer (modctl's form for a directory).
tok = {"tokenizer/tokenizer.json": json.dumps({"model": {"type": "BPE"}}).encode(),
       "tokenizer/tokenizer_config.json": b'{"bos_token": "<s>"}'}
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo("tokenizer")
    ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 1700000000
    t.addfile(ti)
    for name, data in tok.items():
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode, ti.mtime = len(data), 0o644, 1700000000
        t.addfile(ti, io.BytesIO(data))
        listing[name] = hashlib.sha256(data).hexdigest()
raw = buf.getvalue()
blob = gzip.compress(raw, mtime=0)
layers.append({"mediaType": "application/vnd.cncf.model.weight.config.v1.tar+gzip", "digest": put_blob(blob),
               "size": len(blob), "annotations": {"org.cncf.model.filepath": "tokenizer"}})
diff_ids.append(sha(raw))
cfg = json.dumps({"descriptor": {"name": "tiny-llama", "version": "1"},
                  "config": {"architecture": "transformer", "format": "safetensors"},
                  "modelfs": {"type": "layers", "diffIds": diff_ids}}).encode()
listing[".imgpull-model-config.json"] = hashlib.sha256(cfg).hexdigest()
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "artifactType": "application/vnd.cncf.model.manifest.v1+json",
     "config": {"mediaType": "application/vnd.cncf.model.config.v1+json", "digest": put_blob(cfg), "size": len(cfg)},
     "layers": layers}
req("http://%s/v2/%s/manifests/%s" % (addr, repo, tag), data=json.dumps(m).encode(), method="PUT",
    headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
with open(listing_path, "w") as f:
    f.write("".join("%s  %s\n" % (listing[p], p) for p in sorted(listing)))
