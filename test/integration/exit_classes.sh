#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One exit class per kind of failure, as README's "Exit status" table lists
# them: this walks the table, one case per kind of failure, against real local
# servers (a registry with TLS and a password, test/lib/hostile.py), across
# pull, verify, gc, bench, auth and the option parsers. Each case checks the
# exit status and the error record (--log-format json): exactly one record of
# level error, with the class's name and that exit code. Elsewhere: a full
# disk and --min-free (7) in pull_failures.sh and pull_diskfull.sh, SIGTERM and
# SIGINT (143, 130) in pull_resume.sh and bench.sh, output paths that are not
# regular files (2) in output_paths.sh.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir
export IMGPULL_LOG_FORMAT=json

declare -A seen=()
# expect CODE CLASS WHAT MSG-REGEX CMD...: CMD exits CODE within 60 s; its
# stderr holds one error record, of CLASS and CODE, whose message matches.
expect() {
  local code=$1 class=$2 what=$3 msg=$4
  shift 4
  t_expect_exit "$code" timeout -k 5 60 "$@"
  grep '^{' "$T_ERR" >"$T_ERR.json" || true
  jq -e -s --argjson c "$code" --arg k "$class" --arg m "$msg" \
    'map(select(.level == "error")) | length == 1 and .[0].class == $k and .[0].exit_code == $c and
     (.[0].msg | test($m))' "$T_ERR.json" >/dev/null ||
    t_fail "$what: expected one error record of class '$class', exit_code $code, message /$msg/; stderr:
$(cat "$T_ERR")"
  seen[$code]=1
  t_ok "$code $class: $what"
}

# A registry with TLS and a password; an image in it.
t_registry_start REG --tls --htpasswd bob:right-pw
t_make_image "$T_WORK/src" v1 --layer 256K --layer 64K
layer=$(echo "$T_IMG_LAYERS" | cut -d' ' -f1)
t_push "$T_WORK/src" v1 "$REG_REG_ADDR" team/app:v1
ref="$REG_REG_ADDR/team/app:v1"
tls=(--ca-file "$REG_REG_CA")
ok=(--creds bob:right-pw "${tls[@]}")
pull=("$IMGPULL" pull --progress none --retries 0)
d="$T_WORK/layout"

# The same image served by hostile.py, and beside it (each with its right
# digest) tag big: a manifest over the 4 MiB cap (a 5 MiB annotation); tag
# junk: a manifest whose config is no descriptor; tag s1: a Docker schema 1
# manifest; tag multi: an index with linux/arm64 only.
t_make_index "$T_WORK/src" multi linux/arm64
"$T_PY" - "$T_WORK/src" <<'PY'
import hashlib, json, os, sys
root = sys.argv[1]
idx = json.load(open(os.path.join(root, "index.json")))
desc = next(d for d in idx["manifests"] if d["annotations"]["org.opencontainers.image.ref.name"] == "v1")
alg, hexd = desc["digest"].split(":")
m = json.load(open(os.path.join(root, "blobs", alg, hexd)))
big = dict(m, annotations={"pad": "x" * (5 << 20)})
junk = dict(m, config="nope")
s1 = {"schemaVersion": 1, "mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws",
      "name": "team/app", "tag": "s1", "fsLayers": [], "history": []}
for tag, doc in (("big", big), ("junk", junk), ("s1", s1)):
    body = json.dumps(doc).encode()
    h = hashlib.sha256(body).hexdigest()
    open(os.path.join(root, "blobs", "sha256", h), "wb").write(body)
    idx["manifests"].append({"mediaType": doc["mediaType"], "digest": "sha256:" + h, "size": len(body),
                             "annotations": {"org.opencontainers.image.ref.name": tag}})
json.dump(idx, open(os.path.join(root, "index.json"), "w"))
PY
ip_hostile_start OK "$T_WORK/src"
ip_hostile_start BAD "$T_WORK/src" --blob once:0:corrupt
ip_hostile_start ERR "$T_WORK/src" --manifest status:503
h_ok=(--plain-http "$HOSTILE_OK_ADDR")

# ---- 2 usage: the command line, before any request
expect 2 usage "unknown command" "unknown command 'frobnicate'" "$IMGPULL" frobnicate
expect 2 usage "unknown option" "unknown or incomplete option '--bogus'" "${pull[@]}" --dest "$d" --bogus "$ref"
expect 2 usage "bad option value" "--connections must be 1..256" "${pull[@]}" --dest "$d" --connections 0 "$ref"
expect 2 usage "malformed reference" "lowercase|invalid" "${pull[@]}" --dest "$d" "$REG_REG_ADDR/Team/App:v1"
expect 2 usage "no --dest" "--dest DIR" "${pull[@]}" "$ref"
expect 2 usage "--plain-http with port -5" "--plain-http wants HOST\\[:PORT\\]" \
  "${pull[@]}" --dest "$d" --plain-http 127.0.0.1:-5 "$ref"
expect 2 usage "--connect-to with port 99999" "--connect-to must be" \
  "${pull[@]}" --dest "$d" --connect-to "registry.example.com:443:127.0.0.1:99999" "registry.example.com/team/app:v1"
expect 2 usage "IMGPULL_PLATFORM=linux" "^IMGPULL_PLATFORM: .*invalid platform 'linux'" \
  env IMGPULL_PLATFORM=linux "${pull[@]}" --dest "$d" "$ref"
expect 2 usage "--platform linux/" "^--platform: invalid platform" "${pull[@]}" --dest "$d" --platform linux/ "$ref"
expect 2 usage "IMGPULL_CONNECTIONS=x" "^IMGPULL_CONNECTIONS: " env IMGPULL_CONNECTIONS=x "${pull[@]}" --dest "$d" "$ref"
expect 2 usage "--ca-file missing" "--ca-file '$T_WORK/none.pem' cannot be read" \
  "${pull[@]}" --dest "$d" --ca-file "$T_WORK/none.pem" "$ref"
mkfifo "$T_WORK/ca.fifo"
expect 2 usage "--ca-file a FIFO" "--ca-file '$T_WORK/ca.fifo' is a FIFO, not a regular file" \
  "${pull[@]}" --dest "$d" --ca-file "$T_WORK/ca.fifo" "$ref"
expect 2 usage "--termination-log a FIFO" "--termination-log '$T_WORK/ca.fifo' is a FIFO" \
  "${pull[@]}" --dest "$d" --termination-log "$T_WORK/ca.fifo" "$ref"
expect 2 usage "bench --runs 0" "--runs must be" "$IMGPULL" bench --runs 0 "$ref"
expect 2 usage "verify without --dest" "--dest DIR" "$IMGPULL" verify
expect 2 usage "gc with an operand" "unexpected argument" "$IMGPULL" gc --dest "$d" extra
[[ ! -e "$d" ]] || t_fail "a usage error made the layout"
t_assert_eq "$(grep -c . "$HOSTILE_OK_LOG" || true)" 0 "no request for a usage error"
# ... and what the registry sends that imgpull does not pull
expect 2 usage "a schema 1 manifest" "schema 1|schema1|v1" "${pull[@]}" --dest "$d" "${h_ok[@]}" "$HOSTILE_OK_ADDR/team/app:s1"

# ---- 3 auth: credentials, given or missing
expect 3 auth "wrong password" "rejected the credential from --creds" \
  "${pull[@]}" --dest "$d" --creds bob:wrong-pw "${tls[@]}" "$ref"
expect 3 auth "no credential" "no registry credential found" "${pull[@]}" --dest "$d" "${tls[@]}" "$ref"
expect 3 auth "--secret missing" "cannot read secret '$T_WORK/none'" \
  "${pull[@]}" --dest "$d" --secret "$T_WORK/none" "${tls[@]}" "$ref"
expect 3 auth "--authfile missing" "--authfile: cannot open '$T_WORK/none.json'" \
  "${pull[@]}" --dest "$d" --authfile "$T_WORK/none.json" "${tls[@]}" "$ref"
printf '{"auths":' >"$T_WORK/broken.json"
expect 3 auth "--authfile malformed" "not valid JSON" \
  "${pull[@]}" --dest "$d" --authfile "$T_WORK/broken.json" "${tls[@]}" "$ref"
expect 3 auth "imgpull auth, wrong password" "rejected the credential" \
  "$IMGPULL" auth --creds bob:wrong-pw "${tls[@]}" "$ref"
expect 3 auth "bench, wrong password" "rejected the credential" \
  "$IMGPULL" bench --runs 1 --quiet --creds bob:wrong-pw "${tls[@]}" "$ref"

# ---- 4 not found
expect 4 "not found" "unknown tag" "not found \\(MANIFEST_UNKNOWN\\)" "${pull[@]}" --dest "$d" "${ok[@]}" "$REG_REG_ADDR/team/app:nope"
expect 4 "not found" "unknown repository" "not found" "${pull[@]}" --dest "$d" "${ok[@]}" "$REG_REG_ADDR/team/ghost:v1"
expect 4 "not found" "no manifest for the platform" "no manifest for platform linux/s390x" \
  "${pull[@]}" --dest "$d" "${h_ok[@]}" --platform linux/s390x "$HOSTILE_OK_ADDR/team/app:multi"
expect 4 "not found" "bench, unknown tag" "not found" "$IMGPULL" bench --runs 1 --quiet "${ok[@]}" "$REG_REG_ADDR/team/app:nope"
expect 4 "not found" "verify, no layout" "not an OCI image layout" "$IMGPULL" verify --dest "$T_WORK/nothing"
expect 4 "not found" "gc, no layout" "not an OCI image layout" "$IMGPULL" gc --dest "$T_WORK/nothing"

# ---- 5 network: unreachable, TLS, an answer that is no answer after the retries
port=$(t_free_port)
expect 5 network "closed port" "cannot reach registry 127.0.0.1:$port" \
  "${pull[@]}" --dest "$d" --plain-http "127.0.0.1:$port" "127.0.0.1:$port/team/app:v1"
expect 5 network "TLS verification failed" "certificate" "${pull[@]}" --dest "$d" --creds bob:right-pw "$ref"
expect 5 network "HTTP 503 after the retries" "HTTP 503" \
  "${pull[@]}" --dest "$d" --plain-http "$HOSTILE_ERR_ADDR" "$HOSTILE_ERR_ADDR/team/app:v1"

# ---- 6 integrity: the registry's or the layout's bytes break the rules
expect 6 integrity "blob digest mismatch" "has digest sha256:" \
  "${pull[@]}" --dest "$T_WORK/bad" --plain-http "$HOSTILE_BAD_ADDR" "$HOSTILE_BAD_ADDR/team/app:v1"
expect 6 integrity "manifest over 4 MiB" "larger than 4194304 bytes" \
  "${pull[@]}" --dest "$d" "${h_ok[@]}" "$HOSTILE_OK_ADDR/team/app:big"
expect 6 integrity "malformed manifest" "config" "${pull[@]}" --dest "$d" "${h_ok[@]}" "$HOSTILE_OK_ADDR/team/app:junk"
expect 6 integrity "auth: manifest over 4 MiB" "larger than 4194304 bytes" \
  "$IMGPULL" auth "${h_ok[@]}" "$HOSTILE_OK_ADDR/team/app:big"
g="$T_WORK/garbage"
mkdir -p "$g/blobs/sha256"
printf '{"imageLayoutVersion":"1.0.0"}' >"$g/oci-layout"
printf '{"schemaVersion": 2, "manif' >"$g/index.json"
expect 6 integrity "pull into a layout with garbage index.json" "index.json" \
  "${pull[@]}" --dest "$g" "${h_ok[@]}" "$HOSTILE_OK_ADDR/team/app:v1"
expect 6 integrity "verify of garbage index.json" "index.json" "$IMGPULL" verify --dest "$g"
expect 6 integrity "gc of garbage index.json" "index.json" "$IMGPULL" gc --dest "$g"
t_expect_exit 0 "${pull[@]}" --dest "$T_WORK/good" "${h_ok[@]}" "$HOSTILE_OK_ADDR/team/app:v1"
printf 'X' | dd of="$T_WORK/good/blobs/sha256/${layer#sha256:}" bs=1 seek=1000 conv=notrunc status=none
expect 6 integrity "verify of a damaged blob" "damaged" "$IMGPULL" verify --dest "$T_WORK/good"

# ---- 7 storage
: >"$T_WORK/file"
expect 7 storage "--dest under a regular file" "cannot create directory" \
  "${pull[@]}" --dest "$T_WORK/file/layout" "${h_ok[@]}" "$HOSTILE_OK_ADDR/team/app:v1"

# ---- 8 untrusted
printf '{"default": [{"type": "reject"}]}' >"$T_WORK/reject.json"
expect 8 untrusted "a policy that rejects the image" "rejects it" \
  "${pull[@]}" --dest "$T_WORK/untrusted" "${ok[@]}" --policy "$T_WORK/reject.json" "$ref"
[[ ! -e "$T_WORK/untrusted" ]] || t_fail "a refused image left a layout"

for c in 2 3 4 5 6 7 8; do
  [[ -n "${seen[$c]:-}" ]] || t_fail "no case for exit status $c"
done
# Every code of README's table (but 1, a bug, and the signals) has its case here.
codes=$(sed -n '/^## Exit status/,/^## /p' "$IMGPULL_SRC/README.md" | grep -oE '^\| [0-9]+ \|' | tr -dc '0-9\n')
[[ -n "$codes" ]] || t_fail "no table in README's Exit status section"
for c in $codes; do
  [[ $c == 0 || $c == 1 || -n "${seen[$c]:-}" ]] || t_fail "README lists exit status $c, no case here"
done
t_pass
