# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Helpers shared by imgpull's integration tests, on top of common.sh.

# ip_check_layout DIR: every blob's name is its sha256 and nothing is left in ingest/.
ip_check_layout() {
  local dir=$1 f hex n=0
  [[ -f "$dir/oci-layout" && -f "$dir/index.json" ]] || t_fail "$dir is not an OCI layout"
  jq -e '.schemaVersion == 2 and (.manifests | type == "array")' "$dir/index.json" >/dev/null ||
    t_fail "$dir/index.json is malformed"
  for f in "$dir"/blobs/sha256/*; do
    hex=$(sha256sum "$f" | cut -d' ' -f1)
    [[ "$hex" == "$(basename "$f")" ]] || t_fail "blob $(basename "$f") has sha256 $hex"
    n=$((n + 1))
  done
  ! ls "$dir"/ingest/*.partial >/dev/null 2>&1 || t_fail "partial files left in $dir/ingest"
  t_ok "layout $dir: $n blobs, all digests verified with sha256sum"
}

# ip_skopeo_check DIR REF MANIFEST_DIGEST: skopeo reads the image from our layout
# (manifest, config and every layer) and finds the expected manifest digest.
ip_skopeo_check() {
  local dir=$1 ref=$2 want=$3 got
  got=$(skopeo inspect --format '{{.Digest}}' "oci:$dir:$ref") || t_fail "skopeo inspect oci:$dir:$ref failed"
  t_assert_eq "$got" "$want" "skopeo sees $ref with the pushed manifest digest"
  # A full copy reads and verifies every blob through skopeo's own code.
  rm -rf "$T_WORK/skopeo-copy"
  skopeo copy --quiet "oci:$dir:$ref" "dir:$T_WORK/skopeo-copy" >/dev/null 2>"$T_WORK/skopeo-copy.err" ||
    { cat "$T_WORK/skopeo-copy.err" >&2; t_fail "skopeo copy from oci:$dir:$ref failed"; }
  t_ok "skopeo copied $ref out of the layout (all blobs verified by skopeo)"
}

# ip_containerd_start: a private containerd on a socket in the work dir; sets CTR.
ip_containerd_start() {
  local d="$T_WORK/containerd"
  mkdir -p "$d/root" "$d/state"
  cat >"$d/config.toml" <<TOML
version = 2
root = "$d/root"
state = "$d/state"
[grpc]
  address = "$d/c.sock"
[ttrpc]
  address = "$d/c.ttrpc.sock"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  disable_cgroup = true
TOML
  t_spawn "$d/containerd.log" containerd --config "$d/config.toml"
  local i
  for i in $(seq 1 100); do
    [[ -S "$d/c.sock" ]] && ctr --address "$d/c.sock" version >/dev/null 2>&1 && break
    sleep 0.1
  done
  ctr --address "$d/c.sock" version >/dev/null 2>&1 || { tail -20 "$d/containerd.log" >&2; t_fail "containerd did not start"; }
  CTR=(ctr --address "$d/c.sock" --namespace imgpull-test)
}

# ip_ctr_import DIR REF: containerd imports the layout (as a tar) and lists REF.
ip_ctr_import() {
  local dir=$1 ref=$2 tarf="$T_WORK/layout.tar"
  tar -C "$dir" -cf "$tarf" oci-layout index.json blobs
  "${CTR[@]}" images import --no-unpack --all-platforms "$tarf" >"$T_WORK/ctr-import.out" 2>&1 ||
    { cat "$T_WORK/ctr-import.out" >&2; t_fail "ctr images import failed"; }
  # Not a pipe into grep -q: under pipefail, ctr's SIGPIPE would fail the check.
  "${CTR[@]}" images ls -q >"$T_WORK/ctr-images" || t_fail "ctr images ls failed"
  grep -qxF "$ref" "$T_WORK/ctr-images" || { cat "$T_WORK/ctr-images" >&2; t_fail "ctr does not list $ref after import"; }
  "${CTR[@]}" content ls -q >"$T_WORK/ctr-content" || t_fail "ctr content ls failed"
  t_ok "containerd imported the layout and lists $ref"
}

# ip_nginx_proxy_start NAME UPSTREAM_ADDR RATE: a rate-capped reverse proxy in
# front of a registry (a slow registry that serves blobs itself); exports
# PROXY_<NAME>_ADDR and PROXY_<NAME>_LOG.
ip_nginx_proxy_start() {
  local name=$1 up=$2 rate=$3 dir="$T_WORK/proxy-$1" port
  mkdir -p "$dir/tmp"
  port=$(t_free_port)
  cat >"$dir/nginx.conf" <<CONF
user root;
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 256; }
http {
  log_format p '\$request \$status range="\$http_range"';
  access_log $dir/access.log p;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://$up;
      proxy_set_header Host \$http_host;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      limit_rate $rate;
    }
  }
}
CONF
  t_spawn "$dir/nginx.out" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
  t_wait_port "$port"
  printf -v "PROXY_${name}_ADDR" '%s' "127.0.0.1:$port"
  printf -v "PROXY_${name}_LOG" '%s' "$dir/access.log"
}
