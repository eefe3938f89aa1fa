#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sha512 end to end: an image whose config and layers are named by sha512
# digests, pushed to the real docker-registry through its blob upload API, is
# pulled by tag into blobs/sha512/ (each file checked with sha512sum), the layout verifies (imgpull verify), gc keeps
# it all, a byte flipped by the fault proxy in a sha512 layer fails the pull
# with exit 6, and a kill and rerun resumes a sha512 blob (pull_faults.sh
# checks that other algorithms are refused).
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

ip_redirect_setup S3 MAIN --rate 2m --fault-proxy STORE

# push512 REPO TAG LAYER_BYTES...: pushes an image whose config and layers are
# named by sha512 digests (docker-registry files a manifest under its sha256
# only: it cannot be asked for by a sha512 digest); prints the manifest's sha512
# digest, then each layer's "digest size".
push512() {
  "$T_PY" - "$REG_MAIN_ADDR" "$@" <<'PY'
import hashlib, json, os, random, sys, urllib.request
addr, repo, tag, sizes = sys.argv[1], sys.argv[2], sys.argv[3], [int(s) for s in sys.argv[4:]]
def d512(b):
    return "sha512:" + hashlib.sha512(b).hexdigest()
def put_blob(data):
    r = urllib.request.urlopen(urllib.request.Request(
        "http://%s/v2/%s/blobs/uploads/" % (addr, repo), method="POST"))
    loc = r.headers["Location"]
    if not loc.startswith("http"):
        loc = "http://%s%s" % (addr, loc)
    d = d512(data)
    urllib.request.urlopen(urllib.request.Request(
        loc + ("&" if "?" in loc else "?") + "digest=" + d, data=data, method="PUT",
        headers={"Content-Type": "application/octet-stream"}))
    return d
rnd = random.Random(512)
layers = []
for n in sizes:
    data = rnd.randbytes(n)
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": put_blob(data), "size": n})
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": put_blob(config), "size": len(config)},
                       "layers": layers}).encode()
urllib.request.urlopen(urllib.request.Request(
    "http://%s/v2/%s/manifests/%s" % (addr, repo, tag), data=manifest, method="PUT",
    headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}))
print(d512(manifest))
for l in layers:
    print(l["digest"], l["size"])
PY
}
push512 ml/s512 v1 12000000 70000 >"$T_WORK/pushed"
mdigest=$(head -1 "$T_WORK/pushed")
big=$(sed -n 2p "$T_WORK/pushed" | cut -d' ' -f1)
ref="$REG_MAIN_ADDR/ml/s512:v1"
pull=("$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --chunk-size 1M --connections 4)

# check512 DIR: every file in blobs/sha512 hashes to its name.
check512() {
  local n=0 f
  for f in "$1"/blobs/sha512/*; do
    [[ "$(sha512sum <"$f" | cut -d' ' -f1)" == "$(basename "$f")" ]] || t_fail "blobs/sha512/$(basename "$f") does not hash to its name"
    n=$((n + 1))
  done
  echo "$n"
}

t_expect_exit 0 "${pull[@]}" --dest "$T_WORK/o1" "$ref"
n=$(check512 "$T_WORK/o1")
t_assert_eq "$n" 3 "the config and both layers are in blobs/sha512"
[[ -e "$T_WORK/o1/blobs/sha512/${big#sha512:}" ]] || t_fail "the big layer is not in blobs/sha512"
t_expect_exit 0 "$IMGPULL" verify --dest "$T_WORK/o1"
t_assert_file_contains "$T_OUT" "4 blobs" "verify hashed the sha256 manifest and the three sha512 blobs"
t_expect_exit 0 "$IMGPULL" gc --dest "$T_WORK/o1"
t_assert_eq "$(check512 "$T_WORK/o1")" 3 "gc kept the referenced sha512 blobs"
t_ok "pulled by tag: 3 sha512 blobs (sha512sum), verify and gc agree"

# One flipped byte in the sha512 layer: exit 6, nothing of it kept.
# (the store files blobs under their sha256: only the big layer has a range at 1 MiB)
printf '/data corrupt 1000 at=1048576\n' >"$FAULT_STORE_RULES"
t_expect_exit 6 "${pull[@]}" --dest "$T_WORK/o3" "$ref"
t_assert_file_contains "$T_ERR" "blob $big from .* has digest sha512:" "the mismatch names both sha512 digests"
[[ ! -e "$T_WORK/o3/blobs/sha512/${big#sha512:}" ]] || t_fail "a corrupt sha512 blob entered the layout"
: >"$FAULT_STORE_RULES"
t_ok "a flipped byte in a sha512 layer: exit 6"

# Kill and rerun: the sha512 blob resumes, its record's prefix digest in sha512.
"${pull[@]}" --dest "$T_WORK/o4" --connections 2 --chunk-size 4M "$ref" 2>"$T_WORK/kill.err" &
pid=$!
t_wait_until 10 t_exists "$T_WORK/o4/ingest/*.progress" || t_fail "no progress record appeared"
sleep 0.5
kill -KILL "$pid" 2>/dev/null || t_fail "the pull ended before it was killed"
wait "$pid" 2>/dev/null || true
grep -q '"hashed_digest":"sha512:' "$T_WORK"/o4/ingest/*.progress || t_fail "the record's prefix digest is not sha512: $(head -c 300 "$T_WORK"/o4/ingest/*.progress)"
t_expect_exit 0 "${pull[@]}" -v --dest "$T_WORK/o4" "$ref"
t_assert_file_contains "$T_ERR" "blob $big: resuming with [0-9]+ bytes kept" "the sha512 blob resumed"
t_assert_eq "$(check512 "$T_WORK/o4")" 3 "the resumed layout's sha512 blobs"
t_ok "killed and rerun: the sha512 blob resumed"

t_pass
