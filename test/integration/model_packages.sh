#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# pull --unpack of model packages made here per their specs and pushed to the
# real docker-registry: a CNCF ModelPack artifact (model-spec docs/spec.md:
# artifactType application/vnd.cncf.model.manifest.v1+json, raw, tar, tar+gzip
# and tar+zstd layers placed by org.cncf.model.filepath, modelfs.diffIds) and
# KitOps ModelKits (kitops pkg/lib/constants/mediaType.go, pkg/artifact/kitfile.go:
# the Kitfile as the JSON config, layers matched to its entries as kit unpack
# matches them; a current one whose entries carry digest/diffId and an older one
# placed by the entries' paths) unpack to exactly their files (a listing with the
# sha256 of each file equal to what was packed; the ModelPack config kept verbatim
# as .imgpull-model-config.json, a raw file's mode and mtime from its
# org.cncf.model.file.metadata+json, the Kitfile written as YAML equal to the config
# less digests). Hostile packages: '..', absolute and duplicate paths, a tar entry
# climbing out, a raw file's path through a layer's symbolic link, a diffId or
# a Kitfile digest that lies: exit 6, nothing written outside DIR, DIR not
# marked complete. Through a store capped per connection,
# a layer's blob leaves the temporary layout once it is unpacked.
# The older ModelPack form (model-spec v0.0.1 to v0.0.6, modctl up to v0.0.5:
# application/vnd.cnai.model.* media types, org.cnai.model.filepath and
# org.cnai.model.file.metadata+json, modelfs.diff_ids) unpacks the same, its
# hostile paths exit 6. A ModelKit whose model.path names another ModelKit (kit
# unpack fetches that parent's model too) exits 2 naming it, nothing unpacked;
# datasets with a remotePath (no layer; kit unpack skips them without
# --include-remote) are left out with a warning, the other datasets in place.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir
command -v zstd >/dev/null || t_fail "zstd is missing (scripts/deps.sh installs it)"
"$T_PY" -c 'import yaml' || t_fail "python3-yaml is missing (apt-get install -y python3-yaml)"
t_registry_start MAIN

# mkmodel.py ADDR REPO SPEC_JSON EXPECT_FILE: builds the package SPEC describes,
# pushes it as REPO:v1, and writes the listing DIR should hold ("sha256  path").
# SPEC: {"kind": "modelpack"|"modelpack-cnai"|"kitops", "layers": [{"type": "weight"|"model"|...,
# "format": "raw"|"tar"|"tar+gzip"|"tar+zstd", "filepath": P, "files": {NAME: TEXT},
# "kit": {Kitfile entry fields}, "lie": "diffId"|"digest"}], "kitfile": {...}}
cat >"$T_WORK/mkmodel.py" <<'PY'
import gzip, hashlib, io, json, subprocess, sys, tarfile, urllib.request
addr, repo, spec, expect = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
def sha(b): return "sha256:" + hashlib.sha256(b).hexdigest()
def put(data):
    r = urllib.request.urlopen(urllib.request.Request("http://%s/v2/%s/blobs/uploads/" % (addr, repo), method="POST"))
    loc = r.headers["Location"]
    loc = loc if loc.startswith("http") else "http://%s%s" % (addr, loc)
    urllib.request.urlopen(urllib.request.Request(loc + ("&" if "?" in loc else "?") + "digest=" + sha(data),
                           data=data, method="PUT", headers={"Content-Type": "application/octet-stream"}))
    return sha(data)
def content(name, text):
    if text.startswith("rand:"):  # rand:N: N random bytes seeded by the name
        import random
        return random.Random(name).randbytes(int(text[5:]))
    # big enough to span several reads for the first file of a layer
    return (text * (1 + 300000 // (len(text) + 1))).encode() if text.startswith("big:") else text.encode()
def mktar(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        dirs = set()
        for name in sorted(files):
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs and not d.startswith("..") and d:
                    dirs.add(d)
                    ti = tarfile.TarInfo(d); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; ti.mtime = 1700000000
                    t.addfile(ti)
            if files[name].startswith("symlink:"):
                ti = tarfile.TarInfo(name); ti.type = tarfile.SYMTYPE; ti.linkname = files[name][8:]
                t.addfile(ti)
                continue
            data = content(name, files[name])
            ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644; ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()
kind = spec["kind"]
# modelpack-cnai: model-spec v0.0.1 to v0.0.6 (before the CNCF rename)
ns = {"modelpack": "cncf", "modelpack-cnai": "cnai"}.get(kind)
prefix = "application/vnd.%s.model." % ns if ns else "application/vnd.kitops.modelkit."
layers, diff_ids, listing = [], [], {}
kit = json.loads(json.dumps(spec.get("kitfile", {})))
for l in spec["layers"]:
    fmt = l["format"]
    if fmt == "raw":
        (name, text), = l["files"].items()
        raw = content(name, text)
        blob, diff = raw, sha(raw)
    else:
        raw = mktar(l["files"])
        diff = sha(raw)
        blob = raw if fmt == "tar" else gzip.compress(raw, mtime=0) if fmt == "tar+gzip" else \
            subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
    for name, text in l["files"].items():
        listing[l.get("under", "") + name] = hashlib.sha256(content(name, text)).hexdigest()
    digest = put(blob)
    d = {"mediaType": prefix + l["type"] + ".v1." + fmt, "digest": digest, "size": len(blob)}
    if "filepath" in l:
        d["annotations"] = {"org.%s.model.filepath" % ns: l["filepath"]}
    if "metadata" in l:
        d["annotations"]["org.%s.model.file.metadata+json" % ns] = json.dumps(l["metadata"])
    layers.append(d)
    diff_ids.append(("sha256:" + "0" * 64) if l.get("lie") == "diffId" else diff)
    if "kit" in l:  # the Kitfile entry this layer belongs to gets its digest and diffId
        entry = eval(l["kit"], {}, {"k": kit})
        if l.get("digests", True):
            entry["digest"] = ("sha256:" + "1" * 64) if l.get("lie") == "digest" else digest
            entry["diffId"] = diff
if ns:
    cfg = {"descriptor": {"name": "tiny", "version": "1"}, "config": {"format": "safetensors"},
           "modelfs": {"type": "layers", ("diffIds" if ns == "cncf" else "diff_ids"): diff_ids}}
    cfg_mt = "application/vnd.%s.model.config.v1+json" % ns
else:
    cfg = kit
    cfg_mt = "application/vnd.kitops.modelkit.config.v1+json"
cfg_bytes = json.dumps(cfg).encode()
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "config": {"mediaType": cfg_mt, "digest": put(cfg_bytes), "size": len(cfg_bytes)}, "layers": layers}
if ns:
    m["artifactType"] = "application/vnd.%s.model.manifest.v1+json" % ns
    listing[".imgpull-model-config.json"] = hashlib.sha256(cfg_bytes).hexdigest()
urllib.request.urlopen(urllib.request.Request("http://%s/v2/%s/manifests/v1" % (addr, repo),
                       data=json.dumps(m).encode(), method="PUT",
                       headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}))
with open(expect, "w") as f:
    for p in sorted(listing):
        f.write("%s  %s\n" % (listing[p], p))
with open(expect + ".digests", "w") as f:
    f.write("".join(l["digest"] + "\n" for l in layers))
with open(expect + ".kitfile.json", "w") as f:  # what the Kitfile must say: no digests
    def strip(o):
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items() if k not in ("digest", "diffId")}
        return [strip(v) for v in o] if isinstance(o, list) else o
    json.dump(strip(cfg), f)
PY

push() { # NAME SPEC
  "$T_PY" "$T_WORK/mkmodel.py" "$REG_MAIN_ADDR" "models/$1" "$2" "$T_WORK/$1.expect" || t_fail "mkmodel.py $1 failed"
}
pull() { # RC NAME DIR
  t_expect_exit "$1" "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --unpack "$3" \
    "$REG_MAIN_ADDR/models/$2:v1"
}
listing() { # DIR: "sha256  path" of every file but the completion marker; no other entry type than dirs
  (cd "$1" && find . -type f ! -name .imgpull-unpacked -printf '%P\n' | LC_ALL=C sort | while read -r p; do
    printf '%s  %s\n' "$(sha256sum <"$p" | cut -d' ' -f1)" "$p"
  done)
  [[ -z "$(cd "$1" && find . ! -type f ! -type d)" ]] || t_fail "$1 holds other than files and directories"
}
same_files() { # NAME DIR [EXTRA_EXPECT_LINE]
  listing "$2" >"$T_WORK/$1.got"
  { cat "$T_WORK/$1.expect"; [[ -z "${3:-}" ]] || echo "$3"; } | LC_ALL=C sort -k2 >"$T_WORK/$1.want"
  diff -u "$T_WORK/$1.want" "$T_WORK/$1.got" >&2 || t_fail "$1: the files of $2 differ from those packed"
  [[ -f "$2/.imgpull-unpacked" && ! -e "$2/.imgpull-unpacking" ]] || t_fail "$1: $2 not marked complete"
}

# --- ModelPack: raw, tar, tar+gzip, tar+zstd layers of each kind.
push mp '{"kind": "modelpack", "layers": [
 {"type": "weight", "format": "raw", "filepath": "model-00001-of-00002.safetensors",
  "files": {"model-00001-of-00002.safetensors": "big:weights one "}},
 {"type": "weight", "format": "tar", "filepath": "weights/model-00002-of-00002.safetensors",
  "files": {"weights/model-00002-of-00002.safetensors": "big:weights two "}},
 {"type": "weight.config", "format": "tar+gzip", "filepath": "tokenizer.json",
  "files": {"tokenizer.json": "{\"vocab\": {}}"}},
 {"type": "doc", "format": "tar+zstd", "filepath": "docs/README.md", "files": {"docs/README.md": "# tiny\n"}},
 {"type": "code", "format": "raw", "filepath": "src/serve/app.py", "files": {"src/serve/app.py": "print(1)\n"},
  "metadata": {"name": "app.py", "mode": 493, "uid": 0, "gid": 0, "size": 9, "mtime": "2024-05-06T07:08:09.5+02:00",
   "typeflag": 48}},
 {"type": "dataset", "format": "tar", "filepath": "data", "files": {"data/a.csv": "x,y\n", "data/b/c.csv": "1,2\n"}}
]}'
pull 0 mp "$T_WORK/mp"
same_files mp "$T_WORK/mp"
[[ "$(stat -c '%a %Y' "$T_WORK/mp/src/serve/app.py")" == "755 1714972089" ]] ||
  t_fail "the raw file's metadata annotation (mode 755, mtime 2024-05-06T05:08:09Z) not applied: $(stat -c '%a %Y' "$T_WORK/mp/src/serve/app.py")"
[[ "$(stat -c '%a' "$T_WORK/mp/model-00001-of-00002.safetensors")" == 644 ]] || t_fail "a raw file without metadata is not 644"
t_ok "a ModelPack artifact (raw, tar, tar+gzip, tar+zstd layers) unpacked to exactly its files and its config, a raw file's mode and mtime from its metadata"

# --- KitOps, current: Kitfile entries with digest and diffId, tars holding the paths.
kitfile='{"manifestVersion": "1.0",
 "package": {"name": "tiny", "version": "1.0.0", "authors": ["A. Author", "B"], "description": "a \"tiny\" kit: yes"},
 "model": {"name": "tiny", "path": "models/tiny.gguf", "framework": "llama.cpp",
   "parameters": {"temperature": 0.7, "stop": ["</s>", ""], "nested": {"deep": [1, {"k": null}]}, "empty": {}},
   "parts": [{"name": "adapter", "path": "models/adapter.bin", "type": "lora"}]},
 "code": [{"path": "src", "description": "serving code"}],
 "datasets": [{"name": "train", "path": "data/train.csv"}],
 "docs": [{"path": "README.md"}, {"path": "LICENSE"}]}'
kit_layers='[
 {"type": "model", "format": "tar+gzip", "kit": "k[\"model\"]", "files": {"models/tiny.gguf": "big:gguf "}},
 {"type": "modelpart", "format": "tar", "kit": "k[\"model\"][\"parts\"][0]", "files": {"models/adapter.bin": "lora"}},
 {"type": "dataset", "format": "tar+gzip", "kit": "k[\"datasets\"][0]", "files": {"data/train.csv": "a,b\n1,2\n"}},
 {"type": "code", "format": "tar", "kit": "k[\"code\"][0]", "files": {"src/app.py": "print(2)\n", "src/lib/u.py": "x=1\n"}},
 {"type": "docs", "format": "tar", "kit": "k[\"docs\"][0]", "files": {"README.md": "# tiny kit\n"}},
 {"type": "docs", "format": "tar+zstd", "kit": "k[\"docs\"][1]", "files": {"LICENSE": "Apache-2.0\n"}}]'
push kit "{\"kind\": \"kitops\", \"kitfile\": $kitfile, \"layers\": $kit_layers}"
pull 0 kit "$T_WORK/kit"
same_files kit "$T_WORK/kit" "$(sha256sum <"$T_WORK/kit/Kitfile" | cut -d' ' -f1)  Kitfile"
"$T_PY" -c 'import json, sys, yaml
got = yaml.safe_load(open(sys.argv[1])); want = json.load(open(sys.argv[2]))
sys.exit(0 if got == want else "Kitfile %r != %r" % (got, want))' "$T_WORK/kit/Kitfile" "$T_WORK/kit.expect.kitfile.json" ||
  t_fail "the Kitfile is not the ModelKit's config less its digests"
t_ok "a KitOps ModelKit unpacked to exactly its files, the Kitfile as YAML equal to its config less digests"

# --- KitOps, older: entries without digests, each tar extracted beside its path.
old_layers='[
 {"type": "model", "format": "tar", "kit": "k[\"model\"]", "digests": false, "under": "models/",
  "files": {"tiny.gguf": "old gguf"}},
 {"type": "code", "format": "tar+gzip", "kit": "k[\"code\"][0]", "digests": false,
  "files": {"src/app.py": "print(3)\n"}}]'
push kitold '{"kind": "kitops", "kitfile": {"manifestVersion": "1.0", "model": {"path": "models/tiny.gguf"},
 "code": [{"path": "src"}]}, "layers": '"$old_layers"'}'
pull 0 kitold "$T_WORK/kitold"
same_files kitold "$T_WORK/kitold" "$(sha256sum <"$T_WORK/kitold/Kitfile" | cut -d' ' -f1)  Kitfile"
t_ok "an older ModelKit (no digests in its Kitfile) unpacked by the entries' paths"

# --- ModelPack's older CNAI form: the same files, placed the same way.
push mpcnai '{"kind": "modelpack-cnai", "layers": [
 {"type": "weight", "format": "raw", "filepath": "model.safetensors", "files": {"model.safetensors": "big:cnai weights "}},
 {"type": "weight.config", "format": "tar", "filepath": "config.json", "files": {"config.json": "{\"arch\": 1}"}},
 {"type": "doc", "format": "tar+gzip", "filepath": "docs", "files": {"docs/README.md": "# old\n", "docs/LICENSE": "MIT\n"}},
 {"type": "dataset", "format": "tar+zstd", "filepath": "data/a.csv", "files": {"data/a.csv": "x\n"}},
 {"type": "code", "format": "raw", "filepath": "src/run.sh", "files": {"src/run.sh": "echo 1\n"},
  "metadata": {"name": "run.sh", "mode": 448, "uid": 0, "gid": 0, "size": 7, "mtime": "2025-03-01T00:00:00Z",
   "typeflag": 48}}
]}'
pull 0 mpcnai "$T_WORK/mpcnai"
same_files mpcnai "$T_WORK/mpcnai"
[[ "$(stat -c '%a %Y' "$T_WORK/mpcnai/src/run.sh")" == "700 1740787200" ]] ||
  t_fail "org.cnai.model.file.metadata+json (mode 700, mtime 2025-03-01) not applied: $(stat -c '%a %Y' "$T_WORK/mpcnai/src/run.sh")"
t_ok "a ModelPack artifact of the older CNAI form (vnd.cnai media types, org.cnai annotations, diff_ids) unpacked to exactly its files and its config"
"$T_PY" "$T_WORK/mkmodel.py" "$REG_MAIN_ADDR" models/mpcnai-lie '{"kind": "modelpack-cnai", "layers": [
 {"type": "weight", "format": "tar", "filepath": "w.bin", "lie": "diffId", "files": {"w.bin": "w"}}]}' \
  "$T_WORK/mpcnai-lie.expect" || t_fail "mkmodel.py mpcnai-lie failed"
pull 6 mpcnai-lie "$T_WORK/mpcnai-lie"
t_assert_file_contains "$T_ERR" "the config says sha256:0000" "the older form's diff_ids checked"
t_ok "the older form's modelfs.diff_ids checked: a lying one exits 6"

# --- KitOps: a ModelKit whose model is another ModelKit (kit's parent).
push kitparent '{"kind": "kitops", "kitfile": {"manifestVersion": "1.0.0", "model": {"path": "models/base.gguf"}},
 "layers": [{"type": "model", "format": "tar", "kit": "k[\"model\"]", "files": {"models/base.gguf": "base"}}]}'
push kitchild "{\"kind\": \"kitops\", \"kitfile\": {\"manifestVersion\": \"1.0.0\",
 \"model\": {\"name\": \"tuned\", \"path\": \"$REG_MAIN_ADDR/models/kitparent:v1\",
  \"parts\": [{\"path\": \"models/lora.bin\"}]}, \"docs\": [{\"path\": \"README.md\"}]},
 \"layers\": [{\"type\": \"modelpart\", \"format\": \"tar\", \"kit\": \"k['model']['parts'][0]\",
  \"files\": {\"models/lora.bin\": \"lora\"}},
  {\"type\": \"docs\", \"format\": \"tar\", \"kit\": \"k['docs'][0]\", \"files\": {\"README.md\": \"child\"}}]}"
pull 2 kitchild "$T_WORK/kitchild"
t_assert_file_contains "$T_ERR" "names another ModelKit, '$REG_MAIN_ADDR/models/kitparent:v1'" "the parent named"
t_assert_file_contains "$T_ERR" "not supported" "the parent refused as not supported"
left=$(cd "$T_WORK/kitchild" 2>/dev/null && find . -mindepth 1 ! -name .imgpull-unpacking -printf '%P\n' || true)
[[ -z "$left" && ! -e "$T_WORK/kitchild/.imgpull-unpacked" ]] || t_fail "a child ModelKit's files were unpacked without its parent's: $left"
t_ok "a ModelKit naming a parent ModelKit (kit unpack would add the parent's model): exit 2, named, nothing unpacked"

# --- KitOps: datasets with a remotePath (no layer): left out as kit unpack leaves them.
push kitremote '{"kind": "kitops", "kitfile": {"manifestVersion": "1.0.0",
 "datasets": [{"name": "big", "path": "remote/big", "remotePath": "s3://bucket/big.parquet", "remoteHash": "abc"},
  {"name": "train", "path": "data/train.csv"}]},
 "layers": [{"type": "dataset", "format": "tar", "kit": "k[\"datasets\"][1]", "files": {"data/train.csv": "a,b\n"}}]}'
pull 0 kitremote "$T_WORK/kitremote"
same_files kitremote "$T_WORK/kitremote" "$(sha256sum <"$T_WORK/kitremote/Kitfile" | cut -d' ' -f1)  Kitfile"
t_assert_file_contains "$T_ERR" "1 remote dataset\\(s\\).*not unpacked" "the remote dataset's warning"
"$T_PY" -c 'import json, sys, yaml
got = yaml.safe_load(open(sys.argv[1])); want = json.load(open(sys.argv[2]))
sys.exit(0 if got == want else "Kitfile %r != %r" % (got, want))' "$T_WORK/kitremote/Kitfile" "$T_WORK/kitremote.expect.kitfile.json" ||
  t_fail "the Kitfile is not the ModelKit's config less its digests"
t_ok "a ModelKit with a remote dataset: its local dataset in place, the remote one left out with a warning"

# --- Streamed: through a store capped per connection, layer 1 is in place and
# its blob gone from the temporary layout while layer 2 (24 MB) still downloads.
ip_redirect_setup SLOW SLOWREG --storage "$T_WORK/slow-storage" --rate 2m
"$T_PY" "$T_WORK/mkmodel.py" "$REG_SLOWREG_ADDR" models/stream '{"kind": "modelpack", "layers": [
 {"type": "weight.config", "format": "tar", "filepath": "config.json", "files": {"config.json": "rand:3000000"}},
 {"type": "weight", "format": "raw", "filepath": "w.safetensors", "files": {"w.safetensors": "rand:24000000"}}]}' \
  "$T_WORK/stream.expect" || t_fail "mkmodel.py stream failed"
"$IMGPULL" pull -v --plain-http "$REG_SLOWREG_ADDR" --progress none --connections 2 --chunk-size 4M \
  --unpack "$T_WORK/stream" "$REG_SLOWREG_ADDR/models/stream:v1" 2>"$T_WORK/stream.err" &
pid=$!
t_wait_until 30 grep -q "unpack: layer 1/2" "$T_WORK/stream.err" || t_fail "layer 1 was not unpacked in 30 s"
first=$(head -1 "$T_WORK/stream.expect.digests")
{ [[ -d "$T_WORK/stream.imgpull-layout" ]] && kill -0 "$pid" 2>/dev/null; } ||
  t_fail "the pull was over before layer 2 downloaded: nothing shown"
[[ ! -e "$T_WORK/stream.imgpull-layout/blobs/sha256/${first#sha256:}" ]] ||
  t_fail "layer 1's blob stayed in the temporary layout after it was unpacked"
wait "$pid" || t_fail "the streamed pull failed: $(tail -n 5 "$T_WORK/stream.err")"
same_files stream "$T_WORK/stream"
[[ ! -e "$T_WORK/stream.imgpull-layout" ]] || t_fail "the temporary layout was left behind"
t_ok "a ModelPack streamed: layer 1 unpacked and its blob dropped while layer 2 downloaded"

# --- Hostile packages: exit 6, nothing outside DIR, DIR not complete.
hostile() { # NAME SPEC MESSAGE
  push "$1" "$2"
  mkdir -p "$T_WORK/jail-$1"
  pull 6 "$1" "$T_WORK/jail-$1/root"
  t_assert_file_contains "$T_ERR" "$3" "$1: the reason"
  local out
  out=$(cd "$T_WORK/jail-$1" && find . -path ./root -prune -o -path ./root.imgpull-layout -prune -o -print)
  [[ "$out" == "." ]] || t_fail "$1: written outside DIR: $out"
  [[ ! -e "$T_WORK/evil" && ! -e "$T_WORK/jail-$1/root/.imgpull-unpacked" ]] || t_fail "$1: escaped or marked complete"
  t_ok "$1: exit 6 ($3), nothing outside DIR"
}
hostile mp-dotdot '{"kind": "modelpack", "layers": [
 {"type": "weight", "format": "raw", "filepath": "ok.bin", "files": {"ok.bin": "ok"}},
 {"type": "weight", "format": "raw", "filepath": "../evil", "files": {"../evil": "evil"}}]}' \
  "org.cncf.model.filepath '../evil' refused"
hostile mp-abs "{\"kind\": \"modelpack\", \"layers\": [
 {\"type\": \"doc\", \"format\": \"raw\", \"filepath\": \"$T_WORK/evil\", \"files\": {\"x\": \"evil\"}}]}" \
  "refused: absolute"
hostile mp-dup '{"kind": "modelpack", "layers": [
 {"type": "weight", "format": "raw", "filepath": "w.bin", "files": {"w.bin": "one"}},
 {"type": "weight", "format": "raw", "filepath": "./w.bin", "files": {"w.bin2": "two"}}]}' \
  "model layers 1 and 2 have the same path 'w.bin'"
hostile mp-tarclimb '{"kind": "modelpack", "layers": [
 {"type": "code", "format": "tar", "filepath": "x.py", "files": {"../../evil": "evil"}}]}' "evil"
hostile mp-symlink "{\"kind\": \"modelpack\", \"layers\": [
 {\"type\": \"code\", \"format\": \"tar\", \"filepath\": \"out\", \"files\": {\"out\": \"symlink:$T_WORK\"}},
 {\"type\": \"weight\", \"format\": \"raw\", \"filepath\": \"out/evil\", \"files\": {\"x\": \"evil\"}}]}" \
  "its directory is not a plain one inside ROOTFS"
hostile mp-difflie '{"kind": "modelpack", "layers": [
 {"type": "weight", "format": "tar+gzip", "filepath": "w.bin", "lie": "diffId", "files": {"w.bin": "w"}}]}' \
  "the config says sha256:0000"
hostile mpcnai-dotdot '{"kind": "modelpack-cnai", "layers": [
 {"type": "weight", "format": "raw", "filepath": "ok.bin", "files": {"ok.bin": "ok"}},
 {"type": "weight", "format": "raw", "filepath": "../evil", "files": {"../evil": "evil"}}]}' \
  "org.cnai.model.filepath '../evil' refused"
hostile mpcnai-abs "{\"kind\": \"modelpack-cnai\", \"layers\": [
 {\"type\": \"code\", \"format\": \"raw\", \"filepath\": \"$T_WORK/evil\", \"files\": {\"x\": \"evil\"}}]}" \
  "refused: absolute"
hostile mpcnai-dup '{"kind": "modelpack-cnai", "layers": [
 {"type": "weight", "format": "raw", "filepath": "w.bin", "files": {"w.bin": "one"}},
 {"type": "doc", "format": "raw", "filepath": "w.bin/", "files": {"w.bin2": "two"}}]}' \
  "model layers 1 and 2 have the same path 'w.bin'"
hostile mpcnai-tarclimb '{"kind": "modelpack-cnai", "layers": [
 {"type": "code", "format": "tar+gzip", "filepath": "x.py", "files": {"../../evil": "evil"}}]}' "evil"
hostile kit-dotdot '{"kind": "kitops", "kitfile": {"manifestVersion": "1.0", "model": {"path": "../evil"}},
 "layers": [{"type": "model", "format": "tar", "kit": "k[\"model\"]", "digests": false, "files": {"evil": "x"}}]}' \
  "Kitfile path '../evil' refused"
hostile kit-abs "{\"kind\": \"kitops\", \"kitfile\": {\"manifestVersion\": \"1.0\", \"model\": {\"path\": \"$T_WORK/evil\"}},
 \"layers\": [{\"type\": \"model\", \"format\": \"tar\", \"kit\": \"k['model']\", \"files\": {\"evil\": \"x\"}}]}" \
  "refused: absolute"
hostile kit-dup '{"kind": "kitops", "kitfile": {"manifestVersion": "1.0", "code": [{"path": "src"}, {"path": "src/"}]},
 "layers": [{"type": "code", "format": "tar", "kit": "k[\"code\"][0]", "files": {"src/a": "a"}},
  {"type": "code", "format": "tar", "kit": "k[\"code\"][1]", "files": {"src/b": "b"}}]}' \
  "model layers 1 and 2 have the same path 'src'"
hostile kit-digestlie '{"kind": "kitops", "kitfile": {"manifestVersion": "1.0", "docs": [{"path": "README.md"}]},
 "layers": [{"type": "docs", "format": "tar", "kit": "k[\"docs\"][0]", "lie": "digest", "files": {"README.md": "x"}}]}' \
  "the Kitfile says digest sha256:1111"
t_pass
