#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# --hosts-dir against containerd's own resolver on the same files: containerd
# 1.6's `ctr images pull --hosts-dir` and imgpull pull one image through
# mirrors configured with override_path (the path as the API root) and through
# _default/hosts.toml (a mirror for every registry, its path + /v2); each
# mirror is nginx proxying to the registry and logging what it was asked. The
# two clients must ask each mirror for the same paths (and the registry for no
# blob), with ?ns= naming the registry.
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

t_registry_start UP
up=$REG_UP_ADDR
t_make_image "$T_WORK/src" v1 --layer 512K --layer 128K --seed 5
t_push "$T_WORK/src" v1 "$up" team/app:v1

# mirror NAME PREFIX: nginx answering PREFIX/v2/... from the registry's /v2/...
mirror() {
  local name=$1 prefix=$2 dir="$T_WORK/mirror-$1"
  mkdir -p "$dir"
  _t_nginx_run "mirror $name" "$dir" "" 1 256 "mirror $name of $up at $prefix" "
  log_format m '\$request_method \$uri?\$args \$status';
  access_log $dir/access.log m;
  server {
    listen 127.0.0.1:@PORT@;
    location $prefix/v2/ {
      proxy_pass http://$up/v2/;
      proxy_set_header Host $up;
    }
  }"
  printf -v "MIRROR_${name}" '%s' "127.0.0.1:$_T_SERVE_PORT"
}
mirror OVR /custom
mirror DEF /pfx

# override_path: the URL's path is the API root as written.
mkdir -p "$T_WORK/ovr/$up"
cat >"$T_WORK/ovr/$up/hosts.toml" <<EOF
server = "http://$up"

[host."http://$MIRROR_OVR/custom/v2"]
  capabilities = ["pull", "resolve"]
  override_path = true
EOF
# _default: for every registry without a directory of its own; no override_path:
# /v2 goes after the URL's path.
mkdir -p "$T_WORK/def/_default"
cat >"$T_WORK/def/_default/hosts.toml" <<EOF
[host."http://$MIRROR_DEF/pfx"]
  capabilities = ["pull", "resolve"]
EOF

# paths LOG: the distinct paths a client asked the mirror, without methods.
paths() { awk '{print $2}' "$1" | sort -u; }
for c in ovr def; do
  var="MIRROR_${c^^}"
  log="$T_WORK/mirror-${c^^}/access.log"
  : >"$log"
  ip_containerd_start # a fresh one each time: its content store holds nothing yet
  "${CTR[@]}" images pull --plain-http --hosts-dir "$T_WORK/$c" "$up/team/app:v1" >"$T_WORK/ctr-$c.out" 2>&1 ||
    { cat "$T_WORK/ctr-$c.out" >&2; t_fail "ctr pull through $c failed"; }
  paths "$log" | grep -Ev '/v2/\?-?$' >"$T_WORK/ctr-$c.paths"
  ip_containerd_stop
  : >"$log"
  t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/out-$c" --hosts-dir "$T_WORK/$c" "$up/team/app:v1"
  paths "$log" | grep -Ev '/v2/\?-?$' >"$T_WORK/imgpull-$c.paths"
  [[ -s "$T_WORK/ctr-$c.paths" ]] || t_fail "$c: containerd asked the mirror nothing: $(cat "$T_WORK/ctr-$c.out")"
  # imgpull asks for what containerd asks for (containerd adds HEADs, which
  # share the paths); every blob among them.
  comm -13 "$T_WORK/ctr-$c.paths" "$T_WORK/imgpull-$c.paths" >"$T_WORK/only-imgpull-$c"
  [[ ! -s "$T_WORK/only-imgpull-$c" ]] ||
    t_fail "$c: imgpull asked the mirror for paths containerd did not: $(cat "$T_WORK/only-imgpull-$c"); containerd: $(cat "$T_WORK/ctr-$c.paths")"
  comm -23 <(grep '/blobs/' "$T_WORK/ctr-$c.paths") <(grep '/blobs/' "$T_WORK/imgpull-$c.paths") >"$T_WORK/only-ctr-$c"
  [[ ! -s "$T_WORK/only-ctr-$c" ]] || t_fail "$c: containerd fetched blobs imgpull did not ask the mirror for: $(cat "$T_WORK/only-ctr-$c")"
  grep -q "ns=${up/:/%3A}" "$T_WORK/imgpull-$c.paths" || t_fail "$c: no ?ns=$up in imgpull's requests"
  t_ok "$c: imgpull and containerd 1.6 ask the mirror for the same paths ($(wc -l <"$T_WORK/imgpull-$c.paths") of them, e.g. $(head -1 "$T_WORK/imgpull-$c.paths"))"
done
t_pass
