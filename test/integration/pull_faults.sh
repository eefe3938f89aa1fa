#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One fault on one range of a blob, from a registry of the tests' own
# (test/lib/hostile.py): a body cut short with a clean close, a 206 whose
# Content-Range is one byte off, a 200 with the whole blob where a range was
# asked, a 503, a TCP reset. Each is retried (the range is asked for again, the
# cause logged) or, for the 200, answered by taking the whole stream; the pull
# completes and skopeo reads the result. A flipped byte is never accepted: the
# pull fails with exit 6, keeps nothing of that blob, and a rerun is whole.
# A manifest naming a digest of another algorithm (sha384, md5) is refused with
# exit 6 before any blob is fetched.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

t_make_image "$T_WORK/src" v1 --layer 4M --layer 64K
img=$T_IMG_MANIFEST
big=$(echo "$T_IMG_LAYERS" | cut -d' ' -f1)
off=1048576 # the second 1 MiB range of the 4 MiB layer

for fault in short badrange whole 503 reset corrupt; do
  ip_hostile_start "$fault" "$T_WORK/src" --blob "once:$off:$fault"
  addr_var="HOSTILE_${fault}_ADDR"
  log_var="HOSTILE_${fault}_LOG"
  addr=${!addr_var}
  log=${!log_var}
  ref="$addr/team/app:v1"
  dest="$T_WORK/out-$fault"
  pull=("$IMGPULL" pull -v --plain-http "$addr" --progress none --chunk-size 1M --connections 4 --dest "$dest" "$ref")
  if [[ $fault == corrupt ]]; then
    t_expect_exit 6 "${pull[@]}"
    t_assert_file_contains "$T_ERR" "$big from .* has digest sha256:" "the message names the blob and what it hashed to"
    cp "$T_ERR" "$T_WORK/corrupt.err"
    [[ ! -e "$dest/blobs/sha256/${big#sha256:}" ]] || t_fail "the corrupted blob entered the layout"
    [[ -z "$(ls "$dest/ingest/${big#sha256:}".* 2>/dev/null)" ]] || t_fail "the corrupted partial was kept for a resume"
    t_expect_exit 0 "${pull[@]}" # the fault came once: the rerun is whole
  else
    t_expect_exit 0 "${pull[@]}"
  fi
  ip_check_layout "$dest"
  ip_skopeo_check "$dest" "$ref" "$img"
  # Requests for the faulty range (a retry asks only for what is still missing).
  n=$(grep "blobs/$big range=bytes=" "$log" | sed 's/.*range=bytes=\([0-9]*\)-.*/\1/' |
    awk -v a="$off" -v b=$((off + 1048576)) '$1 >= a && $1 < b' | wc -l)
  case $fault in
  whole)
    # The answer that ignored the range carried the whole blob: one stream from then on.
    grep -q "mode=once:whole" "$log" || t_fail "the fault was not served"
    t_assert_file_contains "$T_ERR" "source ignores Range, using one stream" "imgpull says why it switched"
    ;;
  corrupt) ((n >= 2)) || t_fail "the corrupt range was asked for $n times over two runs" ;;
  *)
    ((n == 2)) || t_fail "the range at $off was asked for $n times, expected 2 (the fault, then the retry of what was missing)"
    t_assert_file_contains "$T_ERR" "retry [0-9]/5" "the retry is logged with its cause"
    ;;
  esac
  t_ok "$fault: $(cat "$T_ERR" "$T_WORK/corrupt.err" 2>/dev/null | grep -m1 -o '[^:]*; retry [0-9]/5.*\|source ignores Range.*\|has digest.*' | cut -c1-110)"
done
# --- digests of algorithms other than sha256 and sha512 in a manifest (a
# registered one the OCI spec does not list, an unknown one) are refused with
# exit 6 before any blob is fetched, naming the algorithm
for alg in sha384 md5; do
  cp -r "$T_WORK/src" "$T_WORK/src-$alg"
  "$T_PY" - "$T_WORK/src-$alg" "$alg" <<'PY'
import hashlib, json, os, sys
d, alg = sys.argv[1], sys.argv[2]
idx = json.load(open(os.path.join(d, "index.json")))
ent = idx["manifests"][0]
old = ent["digest"].split(":", 1)[1]
m = json.load(open(os.path.join(d, "blobs", "sha256", old)))
fake = {"sha384": "ab" * 48, "md5": "cd" * 16}[alg]
m["layers"][0]["digest"] = "%s:%s" % (alg, fake)
body = json.dumps(m).encode()
new = hashlib.sha256(body).hexdigest()
open(os.path.join(d, "blobs", "sha256", new), "wb").write(body)
ent["digest"], ent["size"] = "sha256:" + new, len(body)
json.dump(idx, open(os.path.join(d, "index.json"), "w"))
PY
  ip_hostile_start "alg$alg" "$T_WORK/src-$alg"
  addr_var="HOSTILE_alg${alg}_ADDR"
  log_var="HOSTILE_alg${alg}_LOG"
  t_expect_exit 6 "$IMGPULL" pull --plain-http "${!addr_var}" --progress none --dest "$T_WORK/out-$alg" \
    "${!addr_var}/team/app:v1"
  t_assert_file_contains "$T_ERR" "digest algorithm \"$alg\"" "the message names the algorithm"
  ! grep -q "/blobs/" "${!log_var}" || t_fail "a blob was asked for although the manifest was refused"
  t_ok "$alg digest in a manifest: exit 6 before any blob: $(tail -1 "$T_ERR" | cut -c1-140)"
done
t_pass
