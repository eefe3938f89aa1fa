# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Test infrastructure for imgpull integration tests and benchmarks.
# Source it from a bash script (set -euo pipefail friendly):
#
#   set -euo pipefail
#   source "$IMGPULL_SRC/test/lib/common.sh"
#   t_workdir
#   t_nginx_blobstore_start S3 "$T_WORK/storage" --rate 40m
#   t_registry_start MAIN --root "$T_WORK/storage" --htpasswd alice:secret --redirect "$BLOB_S3_URL"
#   t_make_image "$T_WORK/oci" v1 --layer 1M --layer 4M
#   t_push "$T_WORK/oci" v1 "$REG_MAIN_ADDR" test/img:v1 --creds alice:secret
#   t_expect_exit 0 "$IMGPULL" ...
#   t_pass
#
# Everything listens on 127.0.0.1 only. Servers run in their own session (setsid) with
# output in the work dir; they are killed by pid when the script exits (EXIT trap) or,
# should the script itself be SIGKILLed, by a watchdog. KEEP=1 keeps the work dir.
# Call the t_*_start / t_make_* functions directly, not inside $(...): they set variables.

if [[ -n "${_T_COMMON_LOADED:-}" ]]; then
  return 0
fi
_T_COMMON_LOADED=1

T_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T_PY=${T_PY:-/usr/bin/python3}
T_NAME=${T_NAME:-$(basename "${0%.sh}")}
T_WORK=${T_WORK:-}
T_OUT=""
T_ERR=""
T_RC=""
declare -ga T_PIDS=()
declare -gA T_REG_CERTDIR=() # addr -> dir holding ca.crt (TLS registries)
declare -gA T_REG_CREDS=()   # addr -> user:pass (htpasswd registries)

# ---------------------------------------------------------------- messages, assertions

t_log() { printf '[%s %s] %s\n' "$(date +%T)" "$T_NAME" "$*" >&2; }

t_fail() {
  printf '\nFAIL: %s: %s\n' "$T_NAME" "$*" >&2
  exit 1
}

# t_ok MSG: note one passed check (does not exit).
t_ok() { printf '  ok: %s\n' "$*" >&2; }

# t_pass [MSG]: the whole test passed; exits 0 (cleanup runs from the EXIT trap).
t_pass() {
  printf 'PASS: %s%s\n' "$T_NAME" "${1:+: $1}" >&2
  exit 0
}

# t_assert_eq ACTUAL EXPECTED MSG
t_assert_eq() {
  if [[ "$1" != "$2" ]]; then
    t_fail "${3:-values differ}: got '$1', expected '$2'"
  fi
}

# t_assert_match STRING REGEX MSG (bash =~)
t_assert_match() {
  if ! [[ "$1" =~ $2 ]]; then
    t_fail "${3:-no match}: '$1' does not match /$2/"
  fi
}

# t_assert_file_contains FILE REGEX MSG (grep -E)
t_assert_file_contains() {
  if ! grep -Eq -- "$2" "$1" 2>/dev/null; then
    t_fail "${3:-pattern not found}: /$2/ not in $1; its tail:
$(tail -n 20 "$1" 2>&1)"
  fi
}

# t_assert_file_lacks FILE REGEX MSG
t_assert_file_lacks() {
  if grep -Eq -- "$2" "$1" 2>/dev/null; then
    t_fail "${3:-unexpected pattern}: /$2/ found in $1:
$(grep -E -- "$2" "$1" | tail -n 10)"
  fi
}

# t_expect_exit CODE CMD [ARGS...]: run CMD with stdout/stderr in files ($T_OUT, $T_ERR);
# $T_RC is its exit status. Fails showing stderr if the status is not CODE.
t_expect_exit() {
  local want=$1
  shift
  local dir=${T_WORK:-${TMPDIR:-/tmp}}
  _T_EXPECT_N=$((${_T_EXPECT_N:-0} + 1))
  T_OUT="$dir/cmd$_T_EXPECT_N.stdout"
  T_ERR="$dir/cmd$_T_EXPECT_N.stderr"
  local rc=0
  "$@" >"$T_OUT" 2>"$T_ERR" </dev/null || rc=$?
  T_RC=$rc
  if [[ "$rc" != "$want" ]]; then
    t_fail "exit status $rc, expected $want: $*
--- stderr (tail) ---
$(tail -n 40 "$T_ERR")
--- stdout (tail) ---
$(tail -n 10 "$T_OUT")"
  fi
}

# t_sha256 FILE -> sha256:<hex>
t_sha256() { echo "sha256:$(sha256sum <"$1" | cut -d' ' -f1)"; }

_t_var() { # _t_var PREFIX NAME SUFFIX VALUE: export PREFIX_<NAME>_SUFFIX=VALUE
  local v="${1}_${2}_${3}"
  printf -v "$v" '%s' "$4"
  export "${v?}"
}

# _t_export_tls PREFIX NAME TLSDIR [ADDR]: export PREFIX_<NAME>_CA (TLSDIR/ca.crt) and
# PREFIX_<NAME>_CERTDIR (TLSDIR/certdir) of a t_make_ca TLSDIR; with ADDR, t_push and
# t_inspect trust that CA at ADDR.
_t_export_tls() {
  _t_var "$1" "$2" CA "$3/ca.crt"
  _t_var "$1" "$2" CERTDIR "$3/certdir"
  [[ -z "${4:-}" ]] || T_REG_CERTDIR[$4]="$3/certdir"
}

_t_upper() { # NAME -> sanitized upper-case identifier part
  local n=${1^^}
  n=${n//[^A-Z0-9_]/_}
  [[ -n "$n" ]] || t_fail "empty server name"
  echo "$n"
}

_t_need_work() { [[ -n "$T_WORK" && -d "$T_WORK" ]] || t_fail "call t_workdir first"; }

# ---------------------------------------------------------------- work dir and cleanup

# t_workdir [NAME]: fresh dir $T_WORK = ${IMGPULL_WORK:-/tmp/imgpull-test}/NAME.XXXXXX
# (NAME defaults to the script name); installs the EXIT trap that stops all servers.
t_workdir() {
  [[ -z "$T_WORK" ]] || t_fail "t_workdir called twice"
  [[ -x "$T_PY" ]] || t_fail "$T_PY missing (apt-get install -y python3)"
  local base=${IMGPULL_WORK:-/tmp/imgpull-test}
  mkdir -p "$base"
  T_WORK=$(mktemp -d "$base/${1:-$T_NAME}.XXXXXX")
  chmod 755 "$T_WORK"
  export T_WORK
  : >"$T_WORK/.pids"
  trap _t_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  # Watchdog: if this shell dies without running its trap (SIGKILL), stop the servers.
  local parent=$$ work=$T_WORK keep=${KEEP:-0}
  (
    trap - EXIT INT TERM HUP
    exec </dev/null >/dev/null 2>&1
    while kill -0 "$parent" 2>/dev/null; do sleep 1; done
    _t_kill_all "$work/.pids"
    [[ "$keep" == 1 ]] || rm -rf "$work"
  ) &
  _T_WATCHDOG=$!
  t_log "work dir $T_WORK"
}

# _t_kill_all PIDFILE: TERM each server's process group, wait up to 5 s, then KILL.
_t_kill_all() {
  local f=$1 pid alive i
  [[ -f "$f" ]] || return 0
  local pids
  mapfile -t pids <"$f"
  for pid in "${pids[@]}"; do
    [[ -n "$pid" ]] || continue
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for ((i = 0; i < 50; i++)); do
    alive=0
    for pid in "${pids[@]}"; do
      [[ -n "$pid" ]] && kill -0 -- "-$pid" 2>/dev/null && alive=1
    done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    [[ -n "$pid" ]] || continue
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
}

# t_at_exit CMD...: run CMD (e.g. an unmount) at the end, before servers stop.
T_AT_EXIT=()
t_at_exit() { T_AT_EXIT+=("$(printf '%q ' "$@")"); }

_t_cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM HUP
  local c
  for c in "${T_AT_EXIT[@]}"; do eval "$c" >/dev/null 2>&1; done
  if [[ -n "$T_WORK" && -d "$T_WORK" ]]; then
    _t_kill_all "$T_WORK/.pids"
    # reap our direct children so that none is left as a zombie
    local pid
    for pid in "${T_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    if [[ -n "${_T_WATCHDOG:-}" ]]; then
      kill "$_T_WATCHDOG" 2>/dev/null
      wait "$_T_WATCHDOG" 2>/dev/null
    fi
    if [[ "${KEEP:-0}" == 1 ]]; then
      t_log "KEEP=1: work dir kept: $T_WORK"
    else
      rm -rf "$T_WORK"
      ((rc == 0)) || t_log "work dir removed (set KEEP=1 to keep it)"
    fi
  fi
  exit "$rc"
}

# t_spawn LOGFILE CMD [ARGS...]: start CMD in the background in its own session, output to
# LOGFILE; registers it for cleanup and sets T_SPAWNED_PID.
t_spawn() {
  _t_need_work
  local log=$1
  shift
  setsid "$@" </dev/null >>"$log" 2>&1 &
  T_SPAWNED_PID=$!
  T_PIDS+=("$T_SPAWNED_PID")
  echo "$T_SPAWNED_PID" >>"$T_WORK/.pids"
}

# t_stop PID: stop one server started by this library (TERM its group, then KILL).
t_stop() {
  local pid=$1 i
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 -- "-$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- ports

_t_port_in_use() { [[ -n "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]]; }

# t_free_port: print a TCP port free on 127.0.0.1, chosen at random in 20000-32767
# (below the kernel's ephemeral range, so no client socket takes it in between).
t_free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + (RANDOM % 12768)))
    _t_port_in_use "$p" || {
      echo "$p"
      return 0
    }
  done
  t_fail "no free port found"
}

# _t_listening PID PORT: wait (10 s) until PID's group listens on PORT; 1 if PID died.
_t_listening() {
  local pid=$1 port=$2 i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$pid" 2>/dev/null || return 1
    [[ "$(ss -Hltnp "( sport = :$port )" 2>/dev/null)" == *"pid=$pid,"* ]] && return 0
    sleep 0.05
  done
  return 1
}

# t_wait_until SECONDS CMD [ARGS...]: runs CMD every 50 ms until it succeeds
# (returns 0) or SECONDS (whole) have passed (returns 1).
t_wait_until() {
  local i n=$(($1 * 20))
  shift
  for ((i = 0; i < n; i++)); do
    "$@" && return 0
    sleep 0.05
  done
  "$@"
}

# t_exists GLOB: some file matches GLOB (for t_wait_until).
t_exists() { compgen -G "$1" >/dev/null; }

# t_wait_exit PID WANT ERRFILE WHAT: waits for the background process PID and
# fails, naming WHAT and showing the tail of ERRFILE, unless it exited WANT.
t_wait_exit() {
  local rc=0
  wait "$1" || rc=$?
  [[ $rc -eq $2 ]] || t_fail "$4: exit $rc, expected $2; tail of $3:
$(tail -n 30 "$3")"
}

# t_wait_port PORT [PID [LOG]]: wait (10 s) until PORT listens on loopback; with PID, until
# that process (or its group) owns the listener, failing at once if PID dies.
t_wait_port() {
  local port=$1 pid=${2:-} log=${3:-} i out
  for ((i = 0; i < 200; i++)); do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      t_fail "process $pid exited before listening on port $port${log:+; tail of $log:
$(tail -n 30 "$log")}"
    fi
    out=$(ss -Hltnp "( sport = :$port )" 2>/dev/null || true)
    if [[ -n "$out" ]]; then
      if [[ -z "$pid" ]] || [[ "$out" == *"pid=$pid,"* ]]; then
        return 0
      fi
    fi
    sleep 0.05
  done
  t_fail "nothing listening on 127.0.0.1:$port after 10 s${pid:+ (pid $pid)}${log:+; tail of $log:
$(tail -n 30 "$log")}"
}

# _t_write_conf FILE TEXT PORT: write TEXT (and a newline) to FILE, @PORT@ replaced by PORT.
_t_write_conf() { printf '%s\n' "${2//@PORT@/$3}" >"$1"; }

# _t_serve LABEL PORT OUT ERRLOG [PREPARE [ARGS...]] -- CMD [ARGS...]
# Starts the server CMD (t_spawn, output to OUT, emptied first) and waits until it listens
# on 127.0.0.1:PORT. With PORT empty the port comes from t_free_port, and a server that
# finds it taken ("address already in use", any case, in OUT or ERRLOG) is started again
# on another one, 5 tries at most. Each try runs PREPARE ARGS... PORT first (writes what
# names the port, e.g. a config file; none when nothing stands before --), then CMD with
# @PORT@ in its arguments replaced by the port. ERRLOG may be "". Sets _T_SERVE_PORT and
# _T_SERVE_PID; fails showing the tails of ERRLOG and OUT if the server does not start.
_t_serve() {
  local label=$1 fixed_port=$2 out=$3 errlog=$4
  shift 4
  local prepare=()
  while (($#)) && [[ "$1" != -- ]]; do
    prepare+=("$1")
    shift
  done
  (($#)) || t_fail "_t_serve $label: no -- CMD"
  shift
  local attempt port pid first=${errlog:-$out}
  for ((attempt = 1; attempt <= 5; attempt++)); do
    port=$fixed_port
    [[ -n "$port" ]] || port=$(t_free_port)
    ((${#prepare[@]} == 0)) || "${prepare[@]}" "$port"
    : >"$out"
    t_spawn "$out" "${@//@PORT@/$port}"
    pid=$T_SPAWNED_PID
    if _t_listening "$pid" "$port"; then
      _T_SERVE_PORT=$port
      _T_SERVE_PID=$pid
      return 0
    fi
    t_stop "$pid"
    if [[ -z "$fixed_port" ]] && grep -qsi "address already in use" "$out" ${errlog:+"$errlog"}; then
      t_log "$label: port $port taken, retrying"
      continue
    fi
    t_fail "$label did not start on 127.0.0.1:$port; tail of $first:
$(tail -n 30 "$first")${errlog:+ $(tail -n 10 "$out")}"
  done
  t_fail "$label: no usable port after 5 attempts"
}

# ---------------------------------------------------------------- TLS

# t_make_ca DIR: throwaway CA (DIR/ca.crt, DIR/ca.key) and server cert for 127.0.0.1 and
# localhost (DIR/server.crt, DIR/server.key); DIR/certdir/ca.crt for skopeo --cert-dir.
# T_TLS_SANS (e.g. "DNS:registry.example.com") adds names to the server cert.
t_make_ca() {
  local d=$1
  mkdir -p "$d/certdir"
  (
    set -e
    cd "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout ca.key -out ca.crt -days 3 -subj "/CN=imgpull-test CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost${T_TLS_SANS:+,$T_TLS_SANS}" "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -out server.crt -days 2 -extfile server.ext
    cp ca.crt certdir/ca.crt
  ) >"$d/openssl.log" 2>&1 || t_fail "openssl failed: $(tail -n 20 "$d/openssl.log")"
}

# ---------------------------------------------------------------- registry

# _t_export_registry N PORT SCHEME ROOT PID LOG CONFIG DIR: the REG_<N>_* variables
# every started registry exports (plain or token-auth).
_t_export_registry() {
  local N=$1 port=$2 scheme=$3 root=$4 pid=$5 log=$6 cfg=$7 dir=$8
  local addr="127.0.0.1:$port"
  _t_var REG "$N" PORT "$port"
  _t_var REG "$N" ADDR "$addr"
  _t_var REG "$N" SCHEME "$scheme"
  _t_var REG "$N" URL "$scheme://$addr"
  _t_var REG "$N" ROOT "$root"
  _t_var REG "$N" PID "$pid"
  _t_var REG "$N" LOG "$log"
  _t_var REG "$N" CONFIG "$cfg"
  _t_var REG "$N" DIR "$dir"
}

# _t_registry_run LABEL DIR ROOT PORT DELETE TLS REDIRECT AUTH_YAML: docker-registry with
# config DIR/config.yml and log DIR/registry.log, on PORT or a free port (see _t_serve).
# Storage ROOT, delete enabled: DELETE (true|false); TLS 1: HTTPS with DIR/tls/server.{crt,key}
# (t_make_ca DIR/tls); REDIRECT: the redirect middleware's base URL ("" for none);
# AUTH_YAML: the auth: section ("" for none). Sets _T_SERVE_PORT and _T_SERVE_PID.
_t_registry_run() {
  local label=$1 dir=$2 root=$3 port=$4 delete=$5 tls=$6 redirect=$7 auth_yaml=$8
  local tls_yaml="" mw_yaml="" cfg
  if ((tls)); then
    tls_yaml="  tls:
    certificate: $dir/tls/server.crt
    key: $dir/tls/server.key"
  fi
  if [[ -n "$redirect" ]]; then
    [[ "$redirect" =~ ^[a-z]+:// ]] ||
      t_fail "--redirect wants a base URL (http(s)://, or another scheme to test refusals)"
    mw_yaml="middleware:
  storage:
    - name: redirect
      options:
        baseurl: $redirect"
  fi
  cfg=$(
    cat <<EOF
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $root
  delete:
    enabled: $delete
  maintenance:
    uploadpurging:
      enabled: false
  redirect:
    disable: false
http:
  addr: 127.0.0.1:@PORT@
  secret: imgpull-test-$RANDOM$RANDOM
$tls_yaml
health:
  storagedriver:
    enabled: false
$auth_yaml
$mw_yaml
EOF
  )
  _t_serve "$label" "$port" "$dir/registry.log" "" _t_write_conf "$dir/config.yml" "$cfg" -- \
    docker-registry serve "$dir/config.yml"
}

# t_registry_start NAME [--htpasswd USER:PASS] [--tls] [--redirect BASEURL] [--root DIR]
#                       [--port PORT] [--no-delete] [--proxy URL [--proxy-creds USER:PASS]]
# Starts docker-registry (distribution 2.8) on 127.0.0.1. --proxy makes it a pull-through
# cache of the registry at URL (with that registry's credential). --redirect makes blob GET/HEAD
# answer 307 to BASEURL's scheme://host[:port] + the storage path
# (/docker/registry/v2/blobs/sha256/xx/<hex>/data); distribution 2.8 ignores any path in
# BASEURL. Exports REG_<NAME>_{PORT,ADDR,URL,SCHEME,ROOT,PID,LOG,CONFIG,DIR} and, as set,
# REG_<NAME>_{USER,PASS,CREDS,HTPASSWD,CA,CERTDIR,REDIRECT}.
t_registry_start() {
  _t_need_work
  local name=$1
  shift
  local N
  N=$(_t_upper "$name")
  local creds="" tls=0 redirect="" root="" port="" delete=true proxy="" proxy_creds=""
  while (($#)); do
    case $1 in
    --htpasswd) creds=$2; shift 2 ;;
    --proxy) proxy=$2; shift 2 ;;
    --proxy-creds) proxy_creds=$2; shift 2 ;;
    --tls) tls=1; shift ;;
    --redirect) redirect=$2; shift 2 ;;
    --root) root=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --no-delete) delete=false; shift ;;
    *) t_fail "t_registry_start: unknown option $1" ;;
    esac
  done
  local dir="$T_WORK/registry-$name"
  mkdir -p "$dir"
  [[ -n "$root" ]] || root="$dir/storage"
  mkdir -p "$root"
  root=$(cd "$root" && pwd)

  local auth_yaml="" scheme=http
  if [[ -n "$creds" ]]; then
    [[ "$creds" == *:* ]] || t_fail "--htpasswd wants USER:PASS"
    htpasswd -Bbn "${creds%%:*}" "${creds#*:}" >"$dir/htpasswd" 2>/dev/null ||
      t_fail "htpasswd failed"
    auth_yaml="auth:
  htpasswd:
    realm: imgpull-test
    path: $dir/htpasswd"
  fi
  if [[ -n "$proxy" ]]; then
    # A pull-through cache (distribution's proxy mode) of the registry at URL.
    auth_yaml+="
proxy:
  remoteurl: $proxy${proxy_creds:+
  username: ${proxy_creds%%:*}
  password: ${proxy_creds#*:}}"
  fi
  if ((tls)); then
    t_make_ca "$dir/tls"
    scheme=https
  fi

  local log="$dir/registry.log" cfg="$dir/config.yml"
  _t_registry_run "registry $name" "$dir" "$root" "$port" "$delete" "$tls" "$redirect" "$auth_yaml"
  port=$_T_SERVE_PORT
  local pid=$_T_SERVE_PID

  local addr="127.0.0.1:$port"
  _t_export_registry "$N" "$port" "$scheme" "$root" "$pid" "$log" "$cfg" "$dir"
  if [[ -n "$creds" ]]; then
    _t_var REG "$N" USER "${creds%%:*}"
    _t_var REG "$N" PASS "${creds#*:}"
    _t_var REG "$N" CREDS "$creds"
    _t_var REG "$N" HTPASSWD "$dir/htpasswd"
    T_REG_CREDS[$addr]=$creds
  fi
  ((tls == 0)) || _t_export_tls REG "$N" "$dir/tls" "$addr"
  [[ -z "$redirect" ]] || _t_var REG "$N" REDIRECT "$redirect"

  # It listens; make sure it answers (401 with htpasswd, 200 without).
  local code cacert=()
  ((tls)) && cacert=(--cacert "$dir/tls/ca.crt")
  code=$(curl -s -o /dev/null -w '%{http_code}' "${cacert[@]}" --max-time 5 "$scheme://$addr/v2/" || true)
  [[ "$code" == 200 || "$code" == 401 ]] ||
    t_fail "registry $name: GET /v2/ answered '$code'; tail of $log:
$(tail -n 30 "$log")"
  t_log "registry $name on $scheme://$addr (pid $pid, root $root${creds:+, htpasswd}${redirect:+, redirect to $redirect})"
}

# ---------------------------------------------------------------- nginx

# _t_nginx_run LABEL DIR PORT WORKERS CONNECTIONS COMMENT HTTP: nginx with prefix DIR
# (DIR/nginx.conf, error.log, nginx.out, nginx.pid, nginx.lock, tmp/) on 127.0.0.1:PORT,
# or on a free port, retried when taken (see _t_serve; LABEL names it in messages). Its
# nginx.conf: "# COMMENT", WORKERS worker processes of CONNECTIONS connections, error_log
# DIR/error.log, and http { } with the temp paths under DIR/tmp followed by HTTP, the
# caller's part (log format, servers...), where @PORT@ stands for the port. nginx -t checks
# it before each start. Sets _T_SERVE_PORT and _T_SERVE_PID.
_t_nginx_run() {
  local label=$1 dir=$2 port=$3 workers=$4 conns=$5 comment=$6 http=$7
  mkdir -p "$dir/tmp"
  local conf="# $comment
user root;
worker_processes $workers;
daemon off;
master_process on;
pid $dir/nginx.pid;
lock_file $dir/nginx.lock;
error_log $dir/error.log info;
events { worker_connections $conns; }
http {
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
$http
}"
  _t_serve "$label" "$port" "$dir/nginx.out" "$dir/error.log" _t_nginx_conf "$label" "$dir" "$conf" -- \
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
}

# _t_nginx_conf LABEL DIR TEXT PORT: write DIR/nginx.conf (TEXT, @PORT@ = PORT); nginx -t.
_t_nginx_conf() {
  local label=$1 dir=$2 text=$3 port=$4 sock
  # A unix socket left by an attempt that lost its port would keep this one from binding.
  for sock in $(grep -o 'listen unix:[^; ]*' <<<"$text" | cut -d: -f2-); do
    rm -f "$sock"
  done
  _t_write_conf "$dir/nginx.conf" "$text" "$port"
  nginx -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/nginx-t.out" 2>&1 ||
    t_fail "$label: nginx config test failed: $(cat "$dir/nginx-t.out")"
}

# _t_export_nginx PREFIX NAME SCHEME DIR: after _t_nginx_run, export PREFIX_<NAME>_{PORT,
# ADDR,URL,PID} of the nginx started and its files PREFIX_<NAME>_{LOG,ERRLOG,CONF,DIR}
# (DIR/access.log, DIR/error.log, DIR/nginx.conf, DIR).
_t_export_nginx() {
  local P=$1 N=$2 scheme=$3 dir=$4 port=$_T_SERVE_PORT
  _t_var "$P" "$N" PORT "$port"
  _t_var "$P" "$N" ADDR "127.0.0.1:$port"
  _t_var "$P" "$N" URL "$scheme://127.0.0.1:$port"
  _t_var "$P" "$N" PID "$_T_SERVE_PID"
  _t_var "$P" "$N" LOG "$dir/access.log"
  _t_var "$P" "$N" ERRLOG "$dir/error.log"
  _t_var "$P" "$N" CONF "$dir/nginx.conf"
  _t_var "$P" "$N" DIR "$dir"
}

# t_nginx_blobstore_start NAME ROOTDIR [--rate RATE] [--no-range] [--reject-auth] [--port PORT]
#                         [--limit-req RATE] [--refuse-pct PCT] [--htpasswd FILE]
# nginx serving the files under ROOTDIR (give it the registry storage root so the
# redirect paths resolve to blob data files). --rate sets limit_rate (per request, e.g.
# 40m = 40 MiB/s); --no-range sets max_ranges 0 (Range ignored: 200 + whole body);
# --reject-auth answers 400 to any request carrying Authorization (like S3 presigned URLs);
# --htpasswd asks for Basic auth checked against FILE (htpasswd's format), 401 otherwise.
# Access log line: ADDR [TIME] "REQUEST" STATUS BODY_BYTES range="…" auth="…" rt=SECS conn=N port=CLIENT_PORT
# ("-" when a header is absent). Exports BLOB_<NAME>_{PORT,ADDR,URL,LOG,ERRLOG,PID,ROOT,CONF,DIR}.
t_nginx_blobstore_start() {
  _t_need_work
  local name=$1 root=$2
  shift 2
  local N
  N=$(_t_upper "$name")
  local rate="" norange=0 rejectauth=0 port="" limitreq="" httpextra="" refusepct="" htpasswd=""
  while (($#)); do
    case $1 in
    --rate) rate=$2; shift 2 ;;
    --limit-req) limitreq=$2; shift 2 ;;
    --refuse-pct) refusepct=$2; shift 2 ;;
    --no-range) norange=1; shift ;;
    --reject-auth) rejectauth=1; shift ;;
    --port) port=$2; shift 2 ;;
    --htpasswd) htpasswd=$(realpath "$2"); shift 2 ;;
    *) t_fail "t_nginx_blobstore_start: unknown option $1" ;;
    esac
  done
  mkdir -p "$root"
  root=$(cd "$root" && pwd)
  local dir="$T_WORK/nginx-$name"
  mkdir -p "$dir"
  local log="$dir/access.log"
  local loc=""
  [[ -z "$rate" ]] || loc+="      limit_rate $rate;"$'\n'
  ((norange == 0)) || loc+="      max_ranges 0;"$'\n'
  ((rejectauth == 0)) || loc+="      if (\$http_authorization) { return 400; }"$'\n'
  [[ -z "$htpasswd" ]] || loc+="      auth_basic \"imgpull test\"; auth_basic_user_file $htpasswd;"$'\n'
  if [[ -n "$refusepct" ]]; then
    # PCT % of requests get 403, like a presigned URL that has expired.
    httpextra+="  split_clients \$request_id \$refuse { $refusepct% 1; * 0; }"$'\n'
    loc+="      if (\$refuse) { return 403; }"$'\n'
  fi
  if [[ -n "$limitreq" ]]; then
    # Requests over RATE (e.g. 4r/s) get 429 with Retry-After: 1, like a throttling CDN.
    httpextra+="  limit_req_zone \$server_name zone=blobs:1m rate=$limitreq;"
    loc+="      limit_req zone=blobs; limit_req_status 429; add_header Retry-After 1 always;"$'\n'
  fi
  local http
  http=$(
    cat <<EOF
  types { }
  default_type application/octet-stream;
  log_format blob '\$remote_addr [\$time_iso8601] "\$request" \$status \$body_bytes_sent range="\$http_range" auth="\$http_authorization" rt=\$request_time conn=\$connection port=\$remote_port t=\$msec';
  access_log $log blob;
$httpextra
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 100000;
  server_tokens off;
  server {
    listen 127.0.0.1:@PORT@;
    server_name localhost;
    root $root;
    location / {
$loc    }
  }
EOF
  )
  : >"$log"
  _t_nginx_run "nginx $name" "$dir" "$port" 2 1024 "generated by imgpull test/lib/common.sh" "$http"
  port=$_T_SERVE_PORT
  local pid=$_T_SERVE_PID
  _t_export_nginx BLOB "$N" http "$dir"
  _t_var BLOB "$N" ROOT "$root"
  t_log "blob store $name on http://127.0.0.1:$port (pid $pid, root $root${rate:+, rate $rate}$( ((norange)) && echo ', no ranges')$( ((rejectauth)) && echo ', rejects Authorization'))"
}

# t_blob_path ROOT DIGEST: the file holding blob DIGEST in a registry storage root.
t_blob_path() {
  local hex=${2#sha256:}
  echo "$1/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

# t_blob_urlpath DIGEST: the path a redirecting registry sends clients to.
t_blob_urlpath() {
  local hex=${1#sha256:}
  echo "/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

# ---------------------------------------------------------------- images

# t_make_image OCI_DIR TAG --layer SIZE [--layer SIZE ...] [--platform OS/ARCH[/VARIANT]]
#              [--seed S] [--level L]
# Writes (or adds to) an OCI image layout. Sets T_IMG_MANIFEST (digest), T_IMG_MANIFEST_SIZE,
# T_IMG_CONFIG, T_IMG_LAYERS / T_IMG_LAYER_SIZES / T_IMG_DIFF_IDS (space separated).
t_make_image() {
  local out start=$SECONDS
  out=$("$T_PY" "$T_LIB_DIR/imgtool.py" image "$@") || t_fail "t_make_image $* failed"
  eval "$out"
  t_log "image $1:$2 made in $((SECONDS - start)) s: $T_IMG_MANIFEST"
}

# t_make_index OCI_DIR TAG PLATFORM [PLATFORM ...] [--layer SIZE ...] [--seed S] [--level L]
# One small image per platform (default one 64K layer) and an OCI image index over them,
# tagged TAG. Sets T_IMG_INDEX (= T_IMG_MANIFEST), T_IMG_PLATFORM_MANIFESTS (in the
# order given), T_IMG_LAYERS.
t_make_index() {
  local out
  out=$("$T_PY" "$T_LIB_DIR/imgtool.py" index "$@") || t_fail "t_make_index $* failed"
  eval "$out"
  t_log "index $1:$2 made: $T_IMG_INDEX"
}

# ---------------------------------------------------------------- skopeo

# _t_skopeo_dest_flags ADDR PREFIX CREDS NOCREDS CERTDIR -> flags in _T_FLAGS
_t_skopeo_flags() {
  local addr=$1 pfx=$2 creds=$3 nocreds=$4 certdir=$5
  _T_FLAGS=()
  [[ -n "$certdir" ]] || certdir=${T_REG_CERTDIR[$addr]:-}
  if [[ -n "$certdir" ]]; then
    _T_FLAGS+=("--${pfx}cert-dir" "$certdir" "--${pfx}tls-verify=true")
  else
    _T_FLAGS+=("--${pfx}tls-verify=false")
  fi
  if ((nocreds == 0)); then
    [[ -n "$creds" ]] || creds=${T_REG_CREDS[$addr]:-}
    [[ -z "$creds" ]] || _T_FLAGS+=("--${pfx}creds" "$creds")
  fi
}

# t_push OCI_DIR TAG REGISTRY_ADDR REPO:TAG [--creds U:P | --no-creds] [--all]
#        [--cert-dir DIR] [--format oci|v2s2] [-- EXTRA SKOPEO COPY ARGS]
# skopeo copy oci:OCI_DIR:TAG docker://REGISTRY_ADDR/REPO:TAG. TLS and credentials of a
# registry started by t_registry_start are used automatically (override with the flags).
# --all copies an index with all its images. --format v2s2 converts to Docker schema2.
t_push() {
  local dir=$1 tag=$2 addr=$3 ref=$4
  shift 4
  local creds="" nocreds=0 all=() certdir="" extra=()
  while (($#)); do
    case $1 in
    --creds) creds=$2; shift 2 ;;
    --no-creds) nocreds=1; shift ;;
    --all) all=(--all); shift ;;
    --cert-dir) certdir=$2; shift 2 ;;
    --format) extra+=(--format "$2"); shift 2 ;;
    --) shift; extra+=("$@"); break ;;
    *) t_fail "t_push: unknown option $1" ;;
    esac
  done
  _t_skopeo_flags "$addr" dest- "$creds" "$nocreds" "$certdir"
  local log="${T_WORK:-${TMPDIR:-/tmp}}/skopeo-push.log" start=$SECONDS
  if ! TMPDIR=${T_WORK:-${TMPDIR:-/tmp}} skopeo --insecure-policy copy --quiet "${all[@]}" \
    "${_T_FLAGS[@]}" "${extra[@]}" "oci:$dir:$tag" "docker://$addr/$ref" >"$log" 2>&1; then
    t_fail "skopeo push oci:$dir:$tag -> $addr/$ref failed:
$(tail -n 30 "$log")"
  fi
  t_log "pushed $dir:$tag to $addr/$ref in $((SECONDS - start)) s"
}

# t_inspect REGISTRY_ADDR REPO:TAG [--raw] [--creds U:P | --no-creds] [--cert-dir DIR]
# Prints `skopeo inspect` (or --raw manifest) output; returns skopeo's status.
t_inspect() {
  local addr=$1 ref=$2
  shift 2
  local creds="" nocreds=0 raw=() certdir=""
  while (($#)); do
    case $1 in
    --raw) raw=(--raw); shift ;;
    --creds) creds=$2; shift 2 ;;
    --no-creds) nocreds=1; shift ;;
    --cert-dir) certdir=$2; shift 2 ;;
    *) t_fail "t_inspect: unknown option $1" ;;
    esac
  done
  _t_skopeo_flags "$addr" "" "$creds" "$nocreds" "$certdir"
  skopeo --insecure-policy inspect "${raw[@]}" "${_T_FLAGS[@]}" "docker://$addr/$ref"
}
