#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A layout of 100 000 index.json entries (distinct reference names, all naming
# one small real image): a pull with nothing to fetch takes under 10 s (issue
# 18's bound; index.json updates were quadratic in the number of entries and
# took minutes here), keeps every entry, and adds no duplicate; verify and gc
# over that layout take seconds, not minutes, and change nothing.
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

N=100000
PULL_BOUND=10   # seconds: issue 18, "a pull with nothing to fetch into 100 000 entries"
OTHER_BOUND=60  # seconds for verify and gc (linear: a few seconds here)

t_registry_start MAIN
t_make_image "$T_WORK/src" v1 --layer 64K --layer 16K
img=$T_IMG_MANIFEST
t_push "$T_WORK/src" v1 "$REG_MAIN_ADDR" team/app:v1
ref="$REG_MAIN_ADDR/team/app:v1"
dest="$T_WORK/layout"
t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --dest "$dest" "$ref"

# N - 1 more entries naming the same image under other names; the pulled
# image's own entry stays in the middle, so a pull must find it among the rest.
"$T_PY" - "$dest/index.json" "$N" <<'EOF'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
idx = json.load(open(path))
(real,) = idx["manifests"]
out = []
for i in range(n - 1):
    e = json.loads(json.dumps(real))
    name = "registry.example/scale/img%06d:t%d" % (i, i % 7)
    e["annotations"] = {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name}
    out.append(e)
out.insert((n - 1) // 2, real)
idx["manifests"] = out
with open(path, "w") as f:
    json.dump(idx, f)
EOF
count() { jq '.manifests | length' "$dest/index.json"; }
t_assert_eq "$(count)" "$N" "the generated index.json"
names_before=$(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$dest/index.json" | sort | sha256sum)

# timed VAR CMD...: runs CMD expecting exit 0, its wall time in seconds in VAR.
timed() {
  local var=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  t_expect_exit 0 "$@"
  t1=$(date +%s.%N)
  printf -v "$var" '%s' "$(echo "$t1 - $t0" | bc)"
}

timed took "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress plain --dest "$dest" "$ref"
t_assert_file_contains "$T_OUT" '\(0 bytes downloaded\)' "the pull fetched nothing"
t_log "pull with nothing to fetch into $N entries: $took s"
(($(echo "$took < $PULL_BOUND" | bc))) || t_fail "the pull took $took s, the bound is $PULL_BOUND s"
t_assert_eq "$(count)" "$N" "index.json still has every entry, and no duplicate of the pulled one"
t_assert_eq "$(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$dest/index.json" | sort | sha256sum)" \
  "$names_before" "the same reference names"
t_assert_eq "$(jq -r --arg r "$ref" '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r)] | length' "$dest/index.json")" \
  1 "one entry for the pulled reference"
t_assert_eq "$(jq -r '[.manifests[].digest] | unique | .[]' "$dest/index.json")" "$img" "every entry names the image"
t_ok "pull: $took s"

timed took "$IMGPULL" verify --dest "$dest"
t_assert_file_contains "$T_OUT" "^verified 4 blobs .* and $N images .*: 0 damaged, 0 missing" "verify checked every entry"
t_log "verify of $N entries: $took s"
(($(echo "$took < $OTHER_BOUND" | bc))) || t_fail "verify took $took s"
t_ok "verify: $took s"

echo junk >"$dest/blobs/sha256/$(printf '%064d' 7)"
timed took "$IMGPULL" gc --dest "$dest"
t_assert_file_contains "$T_OUT" "^removed 1 blobs, 0 partial downloads and 0 leftover files: .*kept 4 blobs" "gc kept the image"
t_log "gc of $N entries: $took s"
(($(echo "$took < $OTHER_BOUND" | bc))) || t_fail "gc took $took s"
t_assert_eq "$(count)" "$N" "gc leaves index.json alone"
t_ok "gc: $took s"
ip_skopeo_check "$dest" "$ref" "$img"
t_pass
