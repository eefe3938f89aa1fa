# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Registries behind Docker Registry v2 token auth, for imgpull's integration tests.
# Source it after common.sh:
#
#   source "$IMGPULL_SRC/test/lib/common.sh"
#   source "$IMGPULL_SRC/test/lib/token.sh"
#   t_workdir
#   t_token_registry_start TOK --user alice:pw --token-lifetime 5 --expires-in 300
#   t_push "$T_WORK/oci" v1 "$REG_TOK_ADDR" team/app:v1 --creds "$TOKEN_PUSH_CREDS"
#   "$IMGPULL" pull ... (with alice:pw) "$REG_TOK_ADDR/team/app:v1"
#   grep -c ' token=[0-9]' "$TOKEN_TOK_LOG"     # tokens issued so far
#
# The real docker-registry (distribution 2.8) runs with `auth: token` and trusts the
# certificate of test/lib/tokenserver.py, which signs the tokens. Every token registry
# also has the user $TOKEN_PUSH_CREDS (pusher:pushpw) with pull,push,delete on every
# repository, because skopeo needs push rights to fill it; t_push and t_inspect use those
# credentials by default for it (as they use the htpasswd ones of t_registry_start), so
# give --creds or --no-creds to act as someone else.
# test/lib/cloud.sh puts fronts with the quirks of nvcr.io, Harbor and public.ecr.aws before
# such a registry (t_registry_front_start, t_quirk_registry_start) and fakes the cloud
# token APIs (t_fakecloud_start).

if [[ -n "${_T_TOKEN_LOADED:-}" ]]; then
  return 0
fi
_T_TOKEN_LOADED=1
[[ -n "${_T_COMMON_LOADED:-}" ]] || {
  echo "token.sh: source common.sh first" >&2
  exit 1
}

TOKEN_PUSH_CREDS=pusher:pushpw
TOKEN_SERVICE=imgpull-registry
TOKEN_ISSUER=imgpull-token-issuer
export TOKEN_PUSH_CREDS TOKEN_SERVICE TOKEN_ISSUER
declare -gA T_TOKEN_BY_ADDR=() # registry addr -> NAME of t_token_registry_start (for fronts)

# t_token_registry_start NAME [--user U:P ...] [--pusher U:P ...] [--users FILE]
#     [--anonymous] [--shape docker|acr|both] [--expires-in N] [--token-lifetime N]
#     [--key-id-mode x5c|kid|both] [--realm-path PATH ...] [--deny-path PATH ...]
#     [--slow-user U --slow-after N [--slow S]]
#     [--service NAME] [--root DIR] [--redirect BASEURL] [--tls] [--token-tls] [--port PORT]
# Starts tokenserver.py and a docker-registry that sends clients to it.
#   --user U:P        may pull any repository (repeatable)
#   --pusher U:P      may pull, push and delete (pusher:pushpw always exists)
#   --users FILE      lines "USER:PASS [ACTIONS [REPO_GLOB]]", e.g. "bob:pw pull team/*";
#                     re-read when it changes (a password rotated mid-pull)
#   --anonymous       requests without credentials get pull; otherwise they get 401
#   --shape           docker: {token, expires_in, issued_at}; acr: {access_token} only;
#                     both: all four keys
#   --expires-in N    the expires_in reported (default: the token lifetime)
#   --token-lifetime N  the registry refuses the token N s after it was issued (default
#                     300); the JWT's exp is N-60 s away because distribution adds 60 s leeway
#   --slow-user U --slow-after N  every token for user U after its first N is answered
#                     only after --slow S seconds (default 3): a token service that is
#                     slow when it matters
#   --key-id-mode     how the JWT names its key: x5c (default, cert chain) or kid (libtrust ID)
#   --realm-path PATH where the token server serves tokens (default /token); repeatable: the
#                     first one is the realm the registry names, all of them serve tokens
#                     (e.g. /proxy_auth for nvcr.io, /service/token for Harbor)
#   --deny-path PATH  a path of the token server that always answers 401 (repeatable), e.g.
#                     /authn-other standing in for authn.nvidia.com
#   --service NAME    the registry's service (the tokens' aud); default $TOKEN_SERVICE.
#                     A token request without service= gets this audience too (nvcr.io).
#   --tls             the registry serves HTTPS (a throwaway CA, as t_registry_start --tls)
#   --token-tls       the token server serves HTTPS too (same CA), realm https://...
#   --root, --redirect, --port: as t_registry_start
# Exports REG_<NAME>_{PORT,ADDR,URL,SCHEME,ROOT,PID,LOG,CONFIG,DIR} (+ CA, CERTDIR with
# --tls; REDIRECT), REG_<NAME>_PUSH_CREDS, and TOKEN_<NAME>_{PORT,URL,REALM,LOG,OUT,PID,
# KEY,CERT,SERVICE,ISSUER,CA}; TOKEN_<NAME>_URL is scheme://host:port (no path), CA is
# set with --tls/--token-tls. TOKEN_<NAME>_LOG has one line per token request (method, path
# and query, auth=none|Basic|..., status, token=<running count>|-, granted=scopes,
# t=<arrived>-<answered> in Unix seconds) and
# never a credential or a token; REG_<NAME>_LOG is the registry's own log.
t_token_registry_start() {
  _t_need_work
  local name=$1
  shift
  local N
  N=$(_t_upper "$name")
  local ts_args=() tls=0 token_tls=0 redirect="" root="" port="" realm_path="" service=$TOKEN_SERVICE
  while (($#)); do
    case $1 in
    --user | --pusher | --users | --shape | --expires-in | --token-lifetime | --key-id-mode | --slow-after | --slow | --slow-user)
      [[ $# -ge 2 ]] || t_fail "t_token_registry_start: $1 wants a value"
      ts_args+=("$1" "$2")
      shift 2
      ;;
    --anonymous) ts_args+=(--anonymous); shift ;;
    --realm-path)
      [[ "$2" == /* ]] || t_fail "t_token_registry_start: --realm-path wants a /path"
      [[ -n "$realm_path" ]] || realm_path=$2
      ts_args+=(--realm-path "$2")
      shift 2
      ;;
    --deny-path)
      [[ "$2" == /* ]] || t_fail "t_token_registry_start: --deny-path wants a /path"
      ts_args+=(--deny-path "$2")
      shift 2
      ;;
    --service) service=$2; shift 2 ;;
    --root) root=$2; shift 2 ;;
    --redirect) redirect=$2; shift 2 ;;
    --tls) tls=1; shift ;;
    --token-tls) token_tls=1; shift ;;
    --port) port=$2; shift 2 ;;
    *) t_fail "t_token_registry_start: unknown option $1" ;;
    esac
  done
  if [[ -z "$realm_path" ]]; then
    realm_path=/token
    ts_args+=(--realm-path "$realm_path")
  fi
  local dir="$T_WORK/tokreg-$name"
  local tdir="$dir/token"
  mkdir -p "$tdir"
  [[ -n "$root" ]] || root="$dir/storage"
  mkdir -p "$root"
  root=$(cd "$root" && pwd)

  # The signing key: RSA because RS256 is what every registry accepts. Self-signed is
  # enough: distribution verifies the x5c leaf against rootcertbundle, and a cert that
  # is itself in the bundle is a complete chain.
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tdir/key.pem" -out "$tdir/cert.pem" \
    -days 3 -subj "/CN=$TOKEN_ISSUER" >"$tdir/openssl.log" 2>&1 ||
    t_fail "openssl (token signing key) failed: $(tail -n 20 "$tdir/openssl.log")"

  local scheme=http tscheme=http ts_tls=()
  if ((tls || token_tls)); then
    t_make_ca "$dir/tls"
  fi
  ((tls == 0)) || scheme=https
  if ((token_tls)); then
    tscheme=https
    ts_tls=(--tls-cert "$dir/tls/server.crt" --tls-key "$dir/tls/server.key")
  fi

  # Token server first: the registry's config names its realm.
  local tlog="$tdir/token.log" tout="$tdir/tokenserver.out"
  _t_serve "token server $name" "" "$tout" "" -- "$T_PY" "$T_LIB_DIR/tokenserver.py" --port @PORT@ \
    --key "$tdir/key.pem" --cert "$tdir/cert.pem" --issuer "$TOKEN_ISSUER" \
    --service "$service" --pusher "$TOKEN_PUSH_CREDS" \
    --log "$tlog" "${ts_tls[@]}" "${ts_args[@]}"
  local tport=$_T_SERVE_PORT tpid=$_T_SERVE_PID
  local realm="$tscheme://127.0.0.1:$tport$realm_path"

  local log="$dir/registry.log" cfg="$dir/config.yml" auth_yaml="auth:
  token:
    realm: $realm
    service: $service
    issuer: $TOKEN_ISSUER
    rootcertbundle: $tdir/cert.pem"
  _t_registry_run "token registry $name" "$dir" "$root" "$port" true "$tls" "$redirect" "$auth_yaml"
  port=$_T_SERVE_PORT
  local pid=$_T_SERVE_PID

  local addr="127.0.0.1:$port"
  _t_export_registry "$N" "$port" "$scheme" "$root" "$pid" "$log" "$cfg" "$dir"
  _t_var REG "$N" PUSH_CREDS "$TOKEN_PUSH_CREDS"
  T_REG_CREDS[$addr]=$TOKEN_PUSH_CREDS
  if ((tls)); then
    _t_export_tls REG "$N" "$dir/tls" "$addr"
  elif ((token_tls)); then
    _t_export_tls REG "$N" "$dir/tls"
  fi
  [[ -z "$redirect" ]] || _t_var REG "$N" REDIRECT "$redirect"
  _t_var TOKEN "$N" PORT "$tport"
  _t_var TOKEN "$N" URL "$tscheme://127.0.0.1:$tport"
  _t_var TOKEN "$N" REALM "$realm"
  _t_var TOKEN "$N" LOG "$tlog"
  _t_var TOKEN "$N" OUT "$tout"
  _t_var TOKEN "$N" PID "$tpid"
  _t_var TOKEN "$N" KEY "$tdir/key.pem"
  _t_var TOKEN "$N" CERT "$tdir/cert.pem"
  _t_var TOKEN "$N" SERVICE "$service"
  _t_var TOKEN "$N" ISSUER "$TOKEN_ISSUER"
  ((tls == 0 && token_tls == 0)) || _t_var TOKEN "$N" CA "$dir/tls/ca.crt"
  T_TOKEN_BY_ADDR[$addr]=$N

  # It listens; make sure it challenges with Bearer and our realm.
  local hdrs cacert=()
  ((tls)) && cacert=(--cacert "$dir/tls/ca.crt")
  hdrs=$(curl -s -o /dev/null -D - "${cacert[@]}" --max-time 5 "$scheme://$addr/v2/" | tr -d '\r' || true)
  # (HTTP/2 over TLS: header names arrive in lower case)
  [[ "$hdrs" =~ ^HTTP/[0-9.]+\ 401 && "${hdrs,,}" == *"www-authenticate: bearer realm=\"${realm,,}\""* ]] ||
    t_fail "token registry $name: GET /v2/ did not answer 401 Bearer realm=\"$realm\": $hdrs
tail of $log:
$(tail -n 30 "$log")"
  t_log "token registry $name on $scheme://$addr (pid $pid, root $root${redirect:+, redirect to $redirect}), tokens from $realm (pid $tpid)"
}

# t_token_get NAME SCOPE [CURL ARGS...]: print the JSON answer of NAME's token server to
# GET ?service=...&scope=SCOPE; extra args go to curl (e.g. -u U:P). SCOPE goes into the
# URL as is: it may be empty, or 'repository:a:pull&scope=repository:b:pull' for two.
# The service is NAME's (TOKEN_<NAME>_SERVICE); T_TOKEN_NO_SERVICE=1 leaves it out, as a
# client answering nvcr.io's service-less challenge does.
t_token_get() {
  local N
  N=$(_t_upper "$1")
  local scope=$2
  shift 2
  local url_var="TOKEN_${N}_REALM" ca_var="REG_${N}_CA" svc_var="TOKEN_${N}_SERVICE" q cacert=()
  if [[ "${T_TOKEN_NO_SERVICE:-0}" == 1 ]]; then
    q=${scope:+scope=$scope}
  else
    q="service=${!svc_var:-$TOKEN_SERVICE}${scope:+&scope=$scope}"
  fi
  [[ -z "${!ca_var:-}" ]] || cacert=(--cacert "${!ca_var}")
  curl -sS --max-time 10 "${cacert[@]}" "$@" "${!url_var}?$q"
}

# t_jwt_claims TOKEN: print the JWT's claims (JSON), without checking the signature.
t_jwt_claims() {
  local p
  p=$(cut -d. -f2 <<<"$1" | tr '_-' '/+')
  while ((${#p} % 4)); do p+="="; done
  base64 -d <<<"$p"
}
