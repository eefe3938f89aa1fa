#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/fleet.sh [--nodes N] [--layers SIZES] [--rate RATE] [--total MIBPS] [--out FILE]
#
# A fleet simulated on this machine: N imgpull processes as N nodes (separate
# --dest, started together, on loopback) pull one image from an upstream whose
# blob store is capped at RATE per connection (nginx limit_rate, default 40m)
# and MIBPS MiB/s in all (tc htb on lo for the store's port, default 100):
#   1. without a cache: every node from the upstream;
#   2. one node through a pull-through cache (docker-registry in proxy mode,
#      cold), wired by hosts.toml as containerd reads it;
#   3. N nodes at once through a fresh, cold cache;
#   4. N nodes at once through a fresh nginx caching proxy (proxy_cache with
#      proxy_cache_lock: concurrent misses wait for one upstream fetch; the
#      registry's redirect to its blob store followed by nginx itself, as the
#      nginx-based registry caches do).
# Reported: the fleet's time to all images in place, and the upstream's bytes
# served over the image's size. Needs root (tc). Default image: one 1 GiB layer.
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=16 total=100
args=()
while (($#)); do
	case $1 in
	--nodes) nodes=$2; shift 2 ;;
	--total) total=$2; shift 2 ;;
	*) args+=("$1"); shift ;;
	esac
done
source bench/lib.sh
bench_no_big=1
bench_usage_extra="[--nodes N] [--total MIBPS]"
runs=1 layers="1G" rate=40m out=""
set -- "${args[@]}"
while (($#)); do
	case $1 in
	--layers) layers=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "usage: bench/fleet.sh [--nodes N] [--layers SIZES] [--rate RATE] [--total MIBPS] [--out FILE]" >&2; exit 2 ;;
	esac
done
[[ $(id -u) == 0 ]] || { echo "fleet.sh: needs root (tc on lo)" >&2; exit 2; }
bench_env fleet

# The upstream: a registry redirecting blobs to an nginx store capped per
# connection, and in all by tc for packets from the store's port.
storage="$T_WORK/storage"
mkdir -p "$storage"
t_nginx_blobstore_start S3 "$storage" --rate "$rate"
t_registry_start UP --root "$storage" --redirect "$BLOB_S3_URL"
tc qdisc add dev lo root handle 1: htb default 10
t_at_exit tc qdisc del dev lo root
tc class add dev lo parent 1: classid 1:1 htb rate "${total}mibps" ceil "${total}mibps" quantum 65536
tc class add dev lo parent 1: classid 1:10 htb rate 100gbit quantum 65536
tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip sport "$BLOB_S3_PORT" 0xffff flowid 1:1
layer_args=()
for l in $layers; do layer_args+=(--layer "$l"); done
t_make_image "$T_WORK/src" big "${layer_args[@]}" --seed 1
t_push "$T_WORK/src" big "$REG_UP_ADDR" fleet/app:1
rm -rf "$T_WORK/src"
bytes=$(skopeo inspect --tls-verify=false --raw "docker://$REG_UP_ADDR/fleet/app:1" | jq '[.config.size] + [.layers[].size] | add')

# upstream_bytes: body bytes the store has sent so far.
upstream_bytes() { awk '{s += $7} END {printf "%.0f\n", s}' "$BLOB_S3_LOG"; }

# fleet N HOSTS_DIR: N nodes at once; prints "seconds upstream_bytes".
fleet() {
	local n=$1 hd=$2 i pids=() b0 t0 t1
	rm -rf "$T_WORK"/node-*
	b0=$(upstream_bytes)
	t0=$(date +%s.%N)
	for ((i = 0; i < n; i++)); do
		"$IMGPULL" pull --dest "$T_WORK/node-$i" --plain-http "$REG_UP_ADDR" --hosts-dir "$hd" --progress none -q \
			"$REG_UP_ADDR/fleet/app:1" >"$T_WORK/node-$i.log" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || { cat "$T_WORK/node-$i.log" >&2; t_fail "node $i failed"; }
	done
	t1=$(date +%s.%N)
	sleep 1 # the store's access log lines of the last answers
	echo "$(echo "$t1 - $t0" | bc) $(($(upstream_bytes) - b0))"
}

# cache NAME: a fresh, cold pull-through cache of the upstream and a hosts
# directory pointing the upstream's name at it.
cache() {
	t_registry_start "$1" --proxy "http://$REG_UP_ADDR"
	local addr_var="REG_${1}_ADDR"
	mkdir -p "$T_WORK/hosts-$1/$REG_UP_ADDR"
	printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$REG_UP_ADDR" \
		"${!addr_var}" >"$T_WORK/hosts-$1/$REG_UP_ADDR/hosts.toml"
}

# nginx_cache NAME: a fresh nginx caching proxy of the upstream and a hosts
# directory pointing the upstream's name at it.
nginx_cache() {
	local dir="$T_WORK/ncache-$1"
	mkdir -p "$dir/cache"
	_t_nginx_run "cache $1" "$dir" "" 2 1024 "caching proxy of $REG_UP_ADDR" "
  log_format c '\$request \$status \$upstream_cache_status';
  access_log $dir/access.log c;
  proxy_cache_path $dir/cache levels=1:2 keys_zone=blobs:10m max_size=64g inactive=1h use_temp_path=off;
  server {
    listen 127.0.0.1:@PORT@;
    location /v2/ {
      proxy_pass http://$REG_UP_ADDR;
      proxy_set_header Host $REG_UP_ADDR;
      proxy_http_version 1.1;
      proxy_intercept_errors on;
      error_page 301 302 307 = @blobstore;
      proxy_cache blobs;
      proxy_cache_key \$uri;
      proxy_cache_valid 200 1h;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 1h;
      proxy_cache_lock_age 1h;
      proxy_read_timeout 1h;
      proxy_ignore_client_abort on; # a node that gives up does not end the fill
    }
    location @blobstore {
      set \$target \$upstream_http_location;
      proxy_pass \$target;
      proxy_http_version 1.1;
      proxy_cache blobs;
      proxy_cache_key \$uri;
      proxy_cache_valid 200 1h;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 1h;
      proxy_cache_lock_age 1h;
      proxy_read_timeout 1h;
      proxy_ignore_client_abort on;
    }
  }"
	mkdir -p "$T_WORK/hosts-$1/$REG_UP_ADDR"
	printf 'server = "http://%s"\n[host."http://127.0.0.1:%s"]\n  capabilities = ["pull"]\n' "$REG_UP_ADDR" \
		"$_T_SERVE_PORT" >"$T_WORK/hosts-$1/$REG_UP_ADDR/hosts.toml"
}

t_log "fleet of $nodes, image $bytes bytes, upstream $rate per connection and ${total} MiB/s in all"
read -r direct_s direct_b < <(fleet "$nodes" "")
cache C1
read -r one_s one_b < <(fleet 1 "$T_WORK/hosts-C1")
cache CN
read -r many_s many_b < <(fleet "$nodes" "$T_WORK/hosts-CN")
nginx_cache NX
read -r nx_s nx_b < <(fleet "$nodes" "$T_WORK/hosts-NX")

ratio() { echo "scale=2; $1 / $bytes" | bc; }
table="| fleet of $nodes, $(numfmt --to=iec "$bytes") image, upstream $rate/connection, ${total} MiB/s in all | time to all in place | upstream bytes / image |
|---|---|---|
| no cache: every node from the upstream | ${direct_s%.*}.$(cut -c1-1 <<<"${direct_s#*.}") s | $(ratio "$direct_b") |
| one node through a cold pull-through cache | ${one_s%.*}.$(cut -c1-1 <<<"${one_s#*.}") s | $(ratio "$one_b") |
| $nodes nodes at once through a cold pull-through cache (docker-registry proxy) | ${many_s%.*}.$(cut -c1-1 <<<"${many_s#*.}") s | $(ratio "$many_b") |
| $nodes nodes at once through a cold nginx caching proxy (proxy_cache_lock) | ${nx_s%.*}.$(cut -c1-1 <<<"${nx_s#*.}") s | $(ratio "$nx_b") |"
echo "$table"
[[ -z "$out" ]] || echo "$table" >"$out"
t_pass
