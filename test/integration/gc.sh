#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# imgpull gc: removes exactly the blobs no index.json entry reaches (a tag
# pulled again to a new image leaves the old one's blobs behind), partial
# downloads older than --partial-age with their records and locks, and
# leftover files; keeps everything an image needs (skopeo and imgpull verify
# read the layout afterwards); changes nothing with --dry-run; never runs
# beside a pull (it waits, or gives up after --wait with exit 7); and stops
# before removing anything when an image's manifest cannot be read.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

ip_redirect_setup SLOW SLOW --rate 256k
t_registry_start MAIN --root "$storage"
ip_push_image "$REG_MAIN_ADDR" team/app:v1 --oci "$T_WORK/a" --layer 1M --layer 300K --seed 1
old_blobs="$T_IMG_CONFIG $T_IMG_LAYERS"
old_manifest=$img
ip_push_image "$REG_MAIN_ADDR" team/app:v2 --oci "$T_WORK/b" --layer 2M --layer 200K --seed 2
new_img=$img
ip_push_image "$REG_MAIN_ADDR" team/big:v3 --oci "$T_WORK/c" --layer 6M --seed 3
big=$T_IMG_LAYERS

dest="$T_WORK/layout"
ref="$REG_MAIN_ADDR/team/app:latest"
pull() { t_expect_exit 0 "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --plain-http "$REG_SLOW_ADDR" --progress none --dest "$dest" "$@"; }
skopeo copy -q --dest-tls-verify=false "docker://$REG_MAIN_ADDR/team/app:v1" "docker://$ref" --src-tls-verify=false
pull "$ref"
# The tag moves to another image: pulling it again replaces the index entry.
skopeo copy -q --dest-tls-verify=false "docker://$REG_MAIN_ADDR/team/app:v2" "docker://$ref" --src-tls-verify=false
pull "$ref"
nblobs() { find "$dest/blobs/sha256" -type f | wc -l; }
[[ $(nblobs) -eq 8 ]] || t_fail "expected 8 blobs (two images of 4), found $(nblobs)"

# A partial download (a pull stopped by SIGTERM) and leftovers of a dead process.
"$IMGPULL" pull --plain-http "$REG_SLOW_ADDR" --progress none --dest "$dest" "$REG_SLOW_ADDR/team/big:v3" 2>/dev/null &
pid=$!
hex=${big#sha256:}
t_wait_until 10 test -s "$dest/ingest/$hex.partial" || t_fail "no partial download appeared"

# --- gc never runs beside a pull: it gives up after --wait, removing nothing
t_expect_exit 7 "$IMGPULL" gc --dest "$dest" --wait 1s
t_assert_file_contains "$T_ERR" "still in use by a pull" "gc says why it gave up"
for d in $old_manifest $old_blobs; do
  [[ -e "$dest/blobs/sha256/${d#sha256:}" ]] || t_fail "gc removed $d while a pull ran"
done
kill -TERM "$pid"
wait "$pid" || true
[[ -s "$dest/ingest/$hex.partial" && -f "$dest/ingest/$hex.progress" ]] || t_fail "the interrupted pull kept no partial"
t_ok "gc waits for pulls; gives up after --wait with exit 7"

echo junk >"$dest/blobs/sha256/index.json.tmp.12345"
echo '{}' >"$dest/ingest/0000000000000000000000000000000000000000000000000000000000000000.progress"

# --- --dry-run reports and changes nothing
snapshot() { (cd "$dest" && find . -type f -not -name '.imgpull.*' -printf '%p %s\n' | sort && sha256sum index.json); }
before=$(snapshot)
t_expect_exit 0 "$IMGPULL" gc --dest "$dest" --dry-run
[[ "$(snapshot)" == "$before" ]] || t_fail "--dry-run changed the layout"
for d in $old_manifest $old_blobs; do
  t_assert_file_contains "$T_OUT" "^would remove blob +$d " "the old image's $d would go"
done
t_assert_file_contains "$T_OUT" "^would remove 5 blobs, 0 partial downloads and 2 leftover files" "dry-run summary (and the config the interrupted pull committed)"
t_ok "--dry-run: $(tail -1 "$T_OUT")"

# --- gc: the old image's 4 blobs and the leftovers go; the young partial stays
t_expect_exit 0 "$IMGPULL" gc --dest "$dest"
t_assert_file_contains "$T_OUT" "^removed 5 blobs, 0 partial downloads and 2 leftover files: .*kept 4 blobs .* and 1 partial downloads younger than 86400 s" "summary"
for d in $old_manifest $old_blobs; do
  [[ ! -e "$dest/blobs/sha256/${d#sha256:}" ]] || t_fail "$d is still there"
done
[[ $(nblobs) -eq 4 ]] || t_fail "expected the 4 blobs of the image in index.json, found $(nblobs)"
[[ -s "$dest/ingest/$hex.partial" && -f "$dest/ingest/$hex.progress" ]] || t_fail "gc removed a young partial"
ip_skopeo_check "$dest" "$ref" "$new_img"
t_expect_exit 0 "$IMGPULL" verify --dest "$dest"
t_ok "removed the unreachable image's 4 blobs, the interrupted pull's config and 2 leftovers; the layout verifies and skopeo reads it"

# --- partial downloads older than --partial-age go, with their records and locks
touch -d '2 days ago' "$dest/ingest/$hex.partial"
touch "$dest/ingest/$hex.lock"
t_expect_exit 0 "$IMGPULL" gc --dest "$dest"
t_assert_file_contains "$T_OUT" "^removed partial  $hex.partial " "the old partial is reported"
[[ -z "$(ls "$dest/ingest" | grep -v '^unsynced$' || true)" ]] || t_fail "ingest/ still holds $(ls "$dest/ingest")"
t_assert_file_contains "$T_OUT" "^removed 0 blobs, 1 partial downloads and 2 leftover files" "summary with the partial"
t_ok "a 2-day-old partial went with its record and lock"

# --- a manifest index.json names that cannot be read: nothing is removed
pull "$REG_MAIN_ADDR/team/app:v1"
echo junk >"$dest/blobs/sha256/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
m="$dest/blobs/sha256/${new_img#sha256:}"
cp "$m" "$T_WORK/manifest.good"
chmod u+w "$m" 2>/dev/null || true
# Damaged in place (same size, no longer JSON), then cut short.
"$T_PY" -c 'import sys; f = open(sys.argv[1], "r+b"); f.write(b"\x84")' "$m"
for how in "damaged in place" "cut short"; do
  before=$(snapshot)
  t_expect_exit 6 "$IMGPULL" gc --dest "$dest"
  [[ "$(snapshot)" == "$before" ]] || t_fail "gc removed something although a manifest is $how"
  t_assert_file_contains "$T_ERR" "nothing removed" "the message says nothing was removed"
  t_ok "a manifest $how stops gc before it removes anything: $(tail -1 "$T_ERR")"
  truncate -s 100 "$m"
done

t_expect_exit 2 "$IMGPULL" gc --dest "$dest" --partial-age soon
t_expect_exit 4 "$IMGPULL" gc --dest "$T_WORK/nolayout"
t_pass
