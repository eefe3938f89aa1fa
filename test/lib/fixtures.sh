# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Set-ups that several integration tests share, on top of common.sh; imgpull.sh sources
# this file. Like the t_*_start functions, call them directly, not inside $(...): they
# set variables in the caller (the names the tests use: storage, img, ref).

# ip_mount_ns ARGS...: runs the calling script again (bash "$0" ARGS...) in a private
# mount namespace of its own (unshare -m, propagation private), once: what it mounts
# (a tmpfs, a FUSE filesystem) disappears with it. Call it with "$@" before t_workdir.
ip_mount_ns() {
  [[ "${IMGPULL_MOUNT_NS:-}" != "$T_NAME" ]] || return 0
  exec unshare -m --propagation private env IMGPULL_MOUNT_NS="$T_NAME" bash "$0" "$@"
}

# ip_need_fuse: what test/lib/eiofs.py needs (python3-fusepy, fusermount), or the test fails.
ip_need_fuse() {
  "$T_PY" -c 'import fusepy' 2>/dev/null || t_fail "python3-fusepy is missing (scripts/deps.sh installs it)"
  command -v fusermount >/dev/null || t_fail "fusermount is missing (Debian fuse; scripts/deps.sh installs it)"
}

# ip_push_image ADDR REPO:TAG [--oci DIR] [--format oci|v2s2] [t_make_image OPTIONS...]
# t_make_image DIR TAG with the OPTIONS (--layer SIZE ..., --seed S, ...; DIR defaults to
# $T_WORK/src, TAG is REPO:TAG's tag), then t_push of it to ADDR as REPO:TAG (--format as
# t_push's). Sets what t_make_image sets (T_IMG_*), img (the manifest's digest) and ref
# (ADDR/REPO:TAG).
ip_push_image() {
  local addr=$1 repo=$2 oci="$T_WORK/src" make=() push=()
  shift 2
  while (($#)); do
    case $1 in
    --oci) oci=$2; shift 2 ;;
    --format) push+=(--format "$2"); shift 2 ;;
    *) make+=("$1"); shift ;;
    esac
  done
  t_make_image "$oci" "${repo##*:}" "${make[@]}"
  t_push "$oci" "${repo##*:}" "$addr" "$repo" "${push[@]}"
  # shellcheck disable=SC2034 # set for the caller
  img=$T_IMG_MANIFEST
  # shellcheck disable=SC2034 # set for the caller
  ref="$addr/$repo"
}

# ip_redirect_setup STORE REGISTRY [--storage DIR] [--htpasswd USER:PASS] [--fault-proxy NAME]
#                   [STORE OPTIONS...] [--push REPO:TAG [ip_push_image OPTIONS...]]
# A registry whose blobs a capped store serves, and an image in it:
# - the nginx blob store STORE (t_nginx_blobstore_start, with the STORE OPTIONS: --rate
#   RATE, --reject-auth, --limit-req, --refuse-pct, --no-range, --port) serving the
#   storage root DIR (default $T_WORK/storage, made if missing);
# - with --fault-proxy, test/lib/faultproxy.py in front of it (ip_faultproxy_start NAME);
# - docker-registry REGISTRY on that root (t_registry_start, --htpasswd as there)
#   redirecting blob GETs to the store (or to the fault proxy);
# - with --push, everything after it goes to ip_push_image REG_<REGISTRY>_ADDR REPO:TAG.
# Sets storage (DIR) and, with --push, img and ref; exports BLOB_<STORE>_*, REG_<REGISTRY>_*,
# FAULT_<NAME>_* and T_IMG_* as the functions named do.
ip_redirect_setup() {
  local store=$1 reg=$2 opts=() regopts=() fault="" push=() url
  shift 2
  storage="$T_WORK/storage"
  while (($#)); do
    case $1 in
    --storage) storage=$2; shift 2 ;;
    --htpasswd) regopts+=(--htpasswd "$2"); shift 2 ;;
    --fault-proxy) fault=$2; shift 2 ;;
    --push) shift; push=("$@"); break ;;
    --rate | --limit-req | --refuse-pct | --port) opts+=("$1" "$2"); shift 2 ;;
    *) opts+=("$1"); shift ;;
    esac
  done
  mkdir -p "$storage"
  t_nginx_blobstore_start "$store" "$storage" "${opts[@]}"
  url="BLOB_$(_t_upper "$store")_URL"
  url=${!url}
  if [[ -n "$fault" ]]; then
    ip_faultproxy_start "$fault" "127.0.0.1:${url##*:}"
    url="FAULT_${fault}_URL"
    url=${!url}
  fi
  t_registry_start "$reg" --root "$storage" "${regopts[@]}" --redirect "$url"
  ((${#push[@]} == 0)) || ip_push_image "$(_ip_reg_addr "$reg")" "${push[@]}"
}

# _ip_reg_addr NAME: REG_<NAME>_ADDR of a registry t_registry_start started.
_ip_reg_addr() {
  local v
  v="REG_$(_t_upper "$1")_ADDR"
  echo "${!v}"
}

# ip_image_bytes REF: the bytes of the image REF (a plain-HTTP registry's): its config's
# size and its layers', from the manifest the registry serves.
ip_image_bytes() {
  skopeo inspect --tls-verify=false --raw "docker://$1" | jq '[.config.size] + [.layers[].size] | add'
}

# ip_fs_image ADDR NAME SPEC REPO:TAG...: the OCI layout $T_WORK/NAME, tagged v1, that
# test/lib/fsimage.py makes from the JSON layer SPEC (written to $T_WORK/NAME.json; what
# fsimage.py prints, the manifest's digest, to $T_WORK/NAME.digest), pushed to ADDR as
# each REPO:TAG.
ip_fs_image() {
  local addr=$1 name=$2 spec=$3 r
  shift 3
  printf '%s' "$spec" >"$T_WORK/$name.json"
  "$T_PY" "$T_LIB_DIR/fsimage.py" "$T_WORK/$name" v1 "$T_WORK/$name.json" >"$T_WORK/$name.digest" ||
    t_fail "fsimage.py $name failed"
  for r in "$@"; do
    t_push "$T_WORK/$name" v1 "$addr" "$r"
  done
}

# ip_record_has_bytes DEST: a progress record in DEST/ingest names bytes written (what a
# later run or another process may keep), not just the blob's claim.
ip_record_has_bytes() {
  local f
  for f in "$1"/ingest/*.progress; do
    [[ -e "$f" ]] && jq -e '[.written[]] | add > 0' "$f" >/dev/null 2>&1 && return 0
  done
  return 1
}

# ip_check_failed_layout DEST: after a pull into DEST that failed, every file in
# DEST/blobs/sha256 hashes to its name and DEST/index.json names no image.
ip_check_failed_layout() {
  local f
  for f in "$1"/blobs/sha256/*; do
    [[ -e "$f" ]] || continue
    [[ "sha256:$(sha256sum <"$f" | cut -d' ' -f1)" == "sha256:$(basename "$f")" ]] ||
      t_fail "blobs/ holds $(basename "$f"), which does not hash to its name"
  done
  jq -e '.manifests | length == 0' "$1/index.json" >/dev/null || t_fail "index.json is damaged or names the image"
}
