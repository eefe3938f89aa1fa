#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes an OCI image layout holding one image whose layers are file trees.

  fsimage.py OUTDIR TAG SPEC.json

SPEC is a list of layers: {"compression": "gzip"|"zstd"|"none", "entries": [...]},
each entry {"name", "type": "file"|"dir"|"symlink"|"hardlink"|"fifo"|"char",
"data" (file text) or "random" (that many incompressible bytes), "link" (symlink or hard link target), "mode", "uid", "gid",
"mtime", "major", "minor", "xattrs": {name: value}}; names are taken as given
(hostile ones too); "diff_id": "sha256:..." on a layer overrides
the config's value (a lying config); "tar": PATH on a layer takes that tar as it
is. Layers are PAX tars as Go's archive/tar
writes them (UTF-8 names); zstd through the zstd command. Prints the manifest digest.
Standard library only.
"""

import gzip
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tarfile


def blob(out, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d


def make_tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.mode = e.get("mode", 0o644 if e["type"] != "dir" else 0o755)
            ti.uid, ti.gid = e.get("uid", 0), e.get("gid", 0)
            ti.mtime = e.get("mtime", 1700000000)
            kind = e["type"]
            data = None
            if kind == "file":
                data = e.get("data", "").encode()
                if "random" in e:  # incompressible bytes, the same for the same name
                    data = random.Random(e["name"]).randbytes(e["random"])
                ti.size = len(data)
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, e["link"]
            elif kind == "hardlink":
                ti.type, ti.linkname = tarfile.LNKTYPE, e["link"]
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            elif kind == "char":
                ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, e["major"], e["minor"]
            if e.get("xattrs"):
                ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in e["xattrs"].items()}
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
    if how == "zstd":
        z = subprocess.run(["zstd", "-q", "-c", "-3"], input=data, check=True, capture_output=True).stdout
        return z, "application/vnd.oci.image.layer.v1.tar+zstd"
    return data, "application/vnd.oci.image.layer.v1.tar"


def main():
    out, tag, spec = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
    layers, diff_ids = [], []
    for layer in spec:
        if "tar" in layer:  # a tar made elsewhere (GNU tar --sparse, say)
            with open(layer["tar"], "rb") as f:
                tar = f.read()
        else:
            tar = make_tar(layer["entries"])
        diff_ids.append(layer.get("diff_id") or "sha256:" + hashlib.sha256(tar).hexdigest())
        data, mt = compress(tar, layer.get("compression", "gzip"))
        layers.append({"mediaType": mt, "digest": blob(out, data), "size": len(data)})
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids},
                         "history": [{"created_by": "fsimage.py"} for _ in layers]}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": blob(out, config), "size": len(config)},
                           "layers": layers}).encode()
    md = blob(out, manifest)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(manifest),
            "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
    print(md)


if __name__ == "__main__":
    main()
