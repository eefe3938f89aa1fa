# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Kubernetes-style mounted secrets for imgpull's integration tests. Source after
# common.sh.
#
#   t_dockerconfigjson HOST=USER:PASS ...     -> {"auths":{HOST:{"auth":b64}}} on stdout
#   t_secret_dir DIR KEY FILE [KEY FILE ...]  -> DIR laid out as the kubelet mounts a secret:
#        DIR/..2026_11_22_10_00_00.N/KEY (the data), DIR/..data -> that dir, DIR/KEY -> ..data/KEY
#   t_secret_rotate DIR KEY FILE [...]        -> a new timestamped dir, then ..data swapped
#        atomically (rename of a new symlink over it), the old dir removed, as AtomicWriter does

if [[ -n "${_T_SECRETS_LOADED:-}" ]]; then
  return 0
fi
_T_SECRETS_LOADED=1

t_b64() { printf '%s' "$1" | base64 -w0; }

t_dockerconfigjson() {
  local args=() kv host up
  for kv in "$@"; do
    host=${kv%%=*} up=${kv#*=}
    args+=(--arg "$host" "$(t_b64 "$up")")
  done
  jq -n '$ARGS.named | with_entries(.value = {auth: .value}) | {auths: .}' "${args[@]}"
}

_t_secret_payload() {
  local dir=$1
  shift
  local ts
  ts="..$(date -u +%Y_%m_%d_%H_%M_%S).$RANDOM$RANDOM"
  mkdir -p "$dir/$ts"
  while (($#)); do
    cp "$2" "$dir/$ts/$1"
    shift 2
  done
  chmod -R a-w "$dir/$ts"
  printf '%s' "$ts"
}

t_secret_dir() {
  local dir=$1
  shift
  mkdir -p "$dir"
  local ts
  ts=$(_t_secret_payload "$dir" "$@")
  ln -s "$ts" "$dir/..data"
  while (($#)); do
    ln -s "..data/$1" "$dir/$1"
    shift 2
  done
}

t_secret_rotate() {
  local dir=$1
  shift
  local old ts
  old=$(readlink "$dir/..data")
  ts=$(_t_secret_payload "$dir" "$@")
  ln -s "$ts" "$dir/..data_tmp"
  mv -T "$dir/..data_tmp" "$dir/..data"
  chmod -R u+w "$dir/$old" && rm -rf "${dir:?}/$old"
}
