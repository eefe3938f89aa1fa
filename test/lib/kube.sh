# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# podman (Debian 12's 4.3, as root) for the tests that play deploy/manifests and
# build the Containerfile. Source after common.sh, call after t_workdir.
#
#   k_podman_setup           podman whose every file is under $T_WORK/podman but
#                            its run root (/run/imgpull-podman.XXXXXX: see below):
#                            its own containers.conf (CONTAINERS_CONF), storage.conf
#                            (CONTAINERS_STORAGE_CONF: overlay, graphroot and
#                            runroot of its own) and registries.conf (no search
#                            registries: a short name never goes out); everything is
#                            removed at exit. Sets K_PODMAN_DIR and K_PODMAN_RUN.
#   k_load_oci DIR TAG NAME  the image of the OCI layout DIR:TAG into podman's
#                            store as NAME (e.g. localhost/imgpull:test)
#   k_busybox_image NAME     an image of Debian's static busybox (/bin/sh and the
#                            applets as links), for a main container that checks
#   k_play FILE EDITS_JSON   the played copy of FILE (test/lib/kubeplay.py: a
#                            DaemonSet or Job as its Pod, host network, secrets as
#                            hostPaths, EDITS), played with `podman kube play`;
#                            fails showing podman's output and every container's
#                            log unless it starts. Sets K_PLAYED (the copy).
#   k_wait CONTAINER SECONDS the exit status of a container of a played pod
#                            (fails if it still runs after SECONDS)
#   k_logs CONTAINER         its logs (stdout and stderr)
#   k_down FILE              podman kube down of a played copy
#   k_secret_dir FILE NAME DIR  the Secret NAME of the (played) FILE laid out in DIR
#                            as the kubelet mounts it (t_secret_dir: stringData as
#                            it is, data base64-decoded)
#   k_debian_base            after k_podman_setup: a Debian 12 base image for the
#                            Containerfile's build stage, localhost/debian:12-base:
#                            minbase from mmdebstrap (Debian's mirror,
#                            IMGPULL_DEBIAN_MIRROR) with ca-certificates and the
#                            tools scripts/static.sh installs, imported by podman
#                            into an image store cached outside the clone in
#                            IMGPULL_KUBE_CACHE (default /var/cache/imgpull-kube)
#                            and given to this podman as a read-only additional
#                            image store (an import of the 0.5 GB tar takes 20 s).
#                            Keyed by the mmdebstrap command and the versions apt
#                            offers for the packages named; a new key replaces the
#                            old store. Sets K_BASE_IMAGE and K_BASE_CA (the base's
#                            /etc/ssl/certs/ca-certificates.crt).
#   k_tree ROOT              ROOT's entries, one a line, tab-separated: type, mode,
#                            uid:gid, size of a regular file, path, link target
#                            (sorted by path)

if [[ -n "${_K_KUBE_LOADED:-}" ]]; then
  return 0
fi
_K_KUBE_LOADED=1

k_podman_setup() {
  _t_need_work
  local t
  for t in podman runc conmon; do
    command -v "$t" >/dev/null || t_fail "$t is missing (scripts/deps.sh installs podman and runc)"
  done
  [[ -x /usr/libexec/podman/catatonit ]] || t_fail "catatonit is missing (scripts/deps.sh installs it): podman's pause image needs it"
  K_PODMAN_DIR="$T_WORK/podman"
  local d=$K_PODMAN_DIR
  mkdir -p "$d/tmp" "$d/volumes" "$d/net" "$d/root"
  # The run root is short: with one of 53 characters or more (as
  # $T_WORK/podman/run is in a build tree), podman 4.3 sees no container's exit
  # until its 20 s conmon timeout ("Exceeded conmon timeout waiting for container
  # to exit"), for every init container and every wait; 50 is still fine.
  K_PODMAN_RUN=$(mktemp -d /run/imgpull-podman.XXXXXX)
  # The ulimits: podman 4.3 as root asks for its own defaults (nofile 1048576),
  # which this machine's limits refuse. runc: crun 1.8 refuses hybrid cgroups.
  cat >"$d/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$d/events.log"
tmp_dir = "$d/tmp"
volume_path = "$d/volumes"
[network]
network_config_dir = "$d/net"
EOF
  cat >"$d/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$d/root"
runroot = "$K_PODMAN_RUN"
EOF
  cat >"$d/registries.conf" <<EOF
unqualified-search-registries = []
short-name-mode = "enforcing"
EOF
  export CONTAINERS_CONF="$d/containers.conf" CONTAINERS_STORAGE_CONF="$d/storage.conf"
  export CONTAINERS_REGISTRIES_CONF="$d/registries.conf"
  t_at_exit _k_podman_teardown
  podman info --format '{{.Store.GraphRoot}} {{.Host.OCIRuntime.Name}}' >"$d/info" 2>&1 ||
    t_fail "podman info failed: $(tail -n 20 "$d/info")"
  t_assert_eq "$(cat "$d/info")" "$d/root runc" "podman's store and runtime"
}

# Everything podman made: pods and containers stopped and removed, the store's
# mounts undone (system reset), the directories removed with the work dir.
_k_podman_teardown() {
  # never the machine's own store
  [[ "${CONTAINERS_STORAGE_CONF:-}" == "$K_PODMAN_DIR/storage.conf" ]] || return 0
  podman pod rm -a -f -t 0 >/dev/null 2>&1
  podman rm -a -f -t 0 >/dev/null 2>&1
  podman system reset --force >/dev/null 2>&1
  local m
  # anything of the store still mounted (should system reset have left it)
  for m in $(awk -v d="$K_PODMAN_DIR/" -v r="$K_PODMAN_RUN/" \
    'index($2, d) == 1 || index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null
  done
  rm -rf "$K_PODMAN_RUN"
}

k_load_oci() {
  local dir=$1 tag=$2 name=$3
  skopeo --insecure-policy copy --quiet "oci:$dir:$tag" "containers-storage:$name" >"$K_PODMAN_DIR/load.log" 2>&1 ||
    t_fail "skopeo copy oci:$dir:$tag to podman's store failed: $(tail -n 20 "$K_PODMAN_DIR/load.log")"
  podman image exists "$name" || t_fail "$name is not in podman's store after the copy"
  t_log "loaded oci:$dir:$tag into podman's store as $name"
}

k_busybox_image() {
  local name=$1 d="$T_WORK/busybox-rootfs" a
  [[ -x /bin/busybox ]] || t_fail "/bin/busybox is missing (scripts/deps.sh installs busybox-static)"
  file /bin/busybox | grep -q 'statically linked' || t_fail "/bin/busybox is not static: $(file /bin/busybox)"
  mkdir -p "$d/bin" "$d/tmp"
  cp /bin/busybox "$d/bin/busybox"
  for a in $(/bin/busybox --list); do
    [[ "$a" == busybox ]] || ln -sf busybox "$d/bin/$a"
  done
  tar --numeric-owner --owner=0 --group=0 -C "$d" -cf "$d.tar" bin tmp
  podman import -q --change 'ENV PATH=/bin' "$d.tar" "$name" >"$K_PODMAN_DIR/import.log" 2>&1 ||
    t_fail "podman import of busybox failed: $(tail -n 20 "$K_PODMAN_DIR/import.log")"
}

k_play() {
  local file=$1 edits=$2 base start=$SECONDS
  base=$(basename "$file" .yaml)
  K_PLAYED="$T_WORK/played-$base.yaml"
  "$T_PY" "$T_LIB_DIR/kubeplay.py" "$file" "$K_PLAYED" "$edits" || t_fail "kubeplay.py $file failed"
  # --build=false: podman 4.3 would otherwise build an image from a directory of
  # the image's name in the working directory (the build tree has imgpull there).
  if ! (cd "$T_WORK" && podman kube play --build=false "$K_PLAYED") >"$T_WORK/play-$base.out" 2>&1; then
    local c logs=""
    for c in $(podman ps -a --format '{{.Names}}'); do
      logs+="--- $c: $(podman ps -a --filter "name=^$c\$" --format '{{.Status}}')
$(podman logs "$c" 2>&1 | tail -n 15)
"
    done
    t_fail "podman kube play $K_PLAYED failed: $(tail -n 20 "$T_WORK/play-$base.out")
$logs"
  fi
  t_log "played $file in $((SECONDS - start)) s: $(podman pod ps --format '{{.Name}} {{.Status}}' | tr '\n' ' ')"
}

k_wait() {
  local c=$1 secs=$2 rc
  rc=$(timeout "$secs" podman wait "$c" 2>"$T_WORK/wait.err") ||
    t_fail "container $c did not exit within $secs s ($(cat "$T_WORK/wait.err")); its log: $(podman logs "$c" 2>&1 | tail -n 20)"
  echo "$rc"
}

k_logs() { podman logs "$1" 2>&1 || t_fail "no log of container $1"; }

k_down() {
  local start=$SECONDS
  podman kube down "$1" >"$T_WORK/down.out" 2>&1 || t_fail "podman kube down $1 failed: $(cat "$T_WORK/down.out")"
  t_log "podman kube down $(basename "$1") in $((SECONDS - start)) s"
}

k_secret_dir() {
  local file=$1 name=$2 dir=$3 keys=() k
  mkdir -p "$dir.src"
  mapfile -t keys < <("$T_PY" - "$file" "$name" "$dir.src" <<'PY'
import base64, os, sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "Secret" and d["metadata"]["name"] == sys.argv[2]:
        vals = {k: v.encode() for k, v in d.get("stringData", {}).items()}
        vals.update({k: base64.b64decode(v) for k, v in d.get("data", {}).items()})
        for k, v in vals.items():
            open(os.path.join(sys.argv[3], k), "wb").write(v)
            print(k)
PY
  )
  ((${#keys[@]})) || t_fail "no Secret $name with data in $file"
  local args=()
  for k in "${keys[@]}"; do args+=("$k" "$dir.src/$k"); done
  t_secret_dir "$dir" "${args[@]}"
  chmod 755 "$dir"
}

k_debian_base() {
  _t_need_work
  [[ -n "${K_PODMAN_DIR:-}" ]] || t_fail "call k_podman_setup first"
  command -v mmdebstrap >/dev/null || t_fail "mmdebstrap is missing (scripts/deps.sh installs it)"
  local cache mirror sec tools key dir old
  cache=$(realpath -m "${IMGPULL_KUBE_CACHE:-/var/cache/imgpull-kube}")
  case "$cache/" in
  "$(realpath "$IMGPULL_SRC")"/*) t_fail "the base cache ($cache) must be outside the clone" ;;
  esac
  mirror=${IMGPULL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  sec=${IMGPULL_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
  tools=$(sed -n 's/^tools=(\(.*\))$/\1/p' "$IMGPULL_SRC/scripts/static.sh")
  [[ -n "$tools" ]] || t_fail "no tools=(...) line in scripts/static.sh"
  # shellcheck disable=SC2206 # the words of static.sh's list
  local include=(ca-certificates $tools)
  local args=(--variant=minbase --mode=root "--include=$(IFS=,; echo "${include[*]}")"
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/doc/*' bookworm)
  local sources=("deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $sec bookworm-security main")
  key=$({
    printf '%s\n' "${args[@]}" "${sources[@]}"
    apt-cache policy "${include[@]}" 2>/dev/null | awk '/^[^ ]/ {p = $1} /Candidate:/ {print p, $2}'
  } | sha256sum | cut -c1-16)
  dir="$cache/debian12-$key"
  K_BASE_IMAGE=localhost/debian:12-base
  K_BASE_CA="$dir/ca-certificates.crt"
  mkdir -p "$cache"
  exec {_k_lock}>"$cache/.lock"
  flock "$_k_lock"
  if [[ -f "$dir/complete" ]]; then
    t_log "Debian 12 base: cached in $dir"
  else
    _k_debian_base_make "$dir" "${args[@]}" -- "${sources[@]}"
    for old in "$cache"/debian12-*; do
      [[ "$old" == "$dir" ]] || rm -rf "$old"
    done
  fi
  flock -u "$_k_lock"
  exec {_k_lock}>&-
  printf '[storage.options]\nadditionalimagestores = ["%s"]\n' "$dir/store" >>"$K_PODMAN_DIR/storage.conf"
  podman image exists "$K_BASE_IMAGE" || t_fail "$K_BASE_IMAGE is not in the cached store $dir/store"
}

# _k_debian_base_make DIR MMDEBSTRAP_ARGS... -- SOURCES...: DIR/store (the
# imported image), DIR/ca-certificates.crt, then DIR/complete.
_k_debian_base_make() {
  local dir=$1 start=$SECONDS run
  shift
  local args=()
  while [[ "$1" != -- ]]; do args+=("$1"); shift; done
  shift
  rm -rf "$dir"
  mkdir -p "$dir/store"
  mmdebstrap --quiet "${args[@]}" "$dir/base.tar" "$@" >"$T_WORK/mmdebstrap.log" 2>&1 ||
    { rm -rf "$dir"; t_fail "mmdebstrap failed: $(tail -n 20 "$T_WORK/mmdebstrap.log")"; }
  tar -xOf "$dir/base.tar" ./etc/ssl/certs/ca-certificates.crt >"$dir/ca-certificates.crt" ||
    { rm -rf "$dir"; t_fail "no ./etc/ssl/certs/ca-certificates.crt in the base"; }
  run=$(mktemp -d /run/imgpull-podman.XXXXXX)
  if ! podman --root "$dir/store" --runroot "$run" import -q "$dir/base.tar" "$K_BASE_IMAGE" \
    >"$T_WORK/import.log" 2>&1; then
    rm -rf "$dir" "$run"
    t_fail "podman import of the base failed: $(tail -n 20 "$T_WORK/import.log")"
  fi
  rm -rf "$run" "$dir/base.tar"
  touch "$dir/complete"
  t_log "Debian 12 base: made by mmdebstrap and imported in $((SECONDS - start)) s ($(du -sh "$dir" | cut -f1)): $dir"
}

k_tree() {
  (cd "$1" && find . -mindepth 1 -printf '%y\t%m\t%U:%G\t%s\t%P\t%l\n' |
    awk -F '\t' -v OFS='\t' '$1 != "f" {$4 = "-"} {print}' | sort -t "$(printf '\t')" -k5,5)
}
