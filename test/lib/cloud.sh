# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Cloud registries for imgpull's integration tests: fakes of the cloud token APIs that
# cannot run here (AWS ECR, ECR Public, Volcengine CR), and nginx fronts that give a
# token-auth registry the quirks of nvcr.io, Harbor and public.ecr.aws. Source it after
# common.sh and token.sh:
#
#   source "$IMGPULL_SRC/test/lib/common.sh"
#   source "$IMGPULL_SRC/test/lib/token.sh"
#   source "$IMGPULL_SRC/test/lib/cloud.sh"
#   t_workdir
#   t_registry_start ECR --htpasswd AWS:ecr-pw              # the "ECR" registry
#   t_fakecloud_start AWS --key AKIDTEST:secret --region us-west-2 --ecr-password ecr-pw
#   AWS_ENDPOINT_URL_ECR=$CLOUD_AWS_URL "$IMGPULL" pull ...  # calls GetAuthorizationToken
#   grep -c 'verdict=ok' "$CLOUD_AWS_LOG"
#
#   t_quirk_registry_start NGC --shape ngc --tls --user '$oauthtoken:nvapi-key'
#   "$IMGPULL" pull --connect-to "nvcr.io:443:$FRONT_NGC_ADDR" ... nvcr.io/team/app:v1
#
# Nothing here talks to the internet; every server listens on 127.0.0.1 and is stopped
# by common.sh's cleanup. Secrets never reach a log: the fake logs the access key id and
# its verdict, the fronts log whether Authorization was present and of which scheme.

if [[ -n "${_T_CLOUD_LOADED:-}" ]]; then
  return 0
fi
_T_CLOUD_LOADED=1
[[ -n "${_T_COMMON_LOADED:-}" && -n "${_T_TOKEN_LOADED:-}" ]] || {
  echo "cloud.sh: source common.sh and token.sh first" >&2
  exit 1
}

# The names the real services go by; the TLS certificates of t_fakecloud_start --tls and
# t_registry_front_start --tls carry them, so clients can use them with --connect-to.
T_CLOUD_FRONT_SANS="DNS:nvcr.io,DNS:public.ecr.aws,DNS:myharbor.example.com"

# ---------------------------------------------------------------- the fake cloud APIs

# t_fakecloud_start NAME [--key AK:SK ...] [--region R] [--account ID] [--ecr-password P]
#     [--ecr-token-lifetime N] [--proxy-endpoint URL] [--expires-at-format FMT]
#     [--public-token-registry TOKEN_NAME] [--public-repo REPO ...] [--public-token-lifetime N]
#     [--public-reported-lifetime N]
#     [--volc-key AK:SK ...] [--volc-region R] [--volc-instance I] [--volc-user U]
#     [--volc-token T] [--volc-token-lifetime N] [--volc-expire-offset MIN]
#     [--max-skew N] [--clock-offset N] [--tls] [--port PORT]
# Starts test/lib/fakecloud.py (see its header for what each API checks):
#   POST / with X-Amz-Target AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken (ECR,
#     SigV4 service ecr, --region, default us-west-2): authorizationToken =
#     base64("AWS:" + --ecr-password), expiresAt now + --ecr-token-lifetime (default 43200 s)
#     written as --expires-at-format: number (default, 1718823186), float (1718823186.123),
#     sci (1.718823186123E9, as AWS's JSON protocol writes it), string (RFC 3339), or
#     alternate (number, string, sci, float in turn); proxyEndpoint
#     https://ACCOUNT.dkr.ecr.REGION.amazonaws.com (--account, default 123456789012) or
#     --proxy-endpoint. The registry to pull from takes user AWS with that password
#     (t_registry_start ... --htpasswd AWS:P).
#   POST / with X-Amz-Target SpencerFrontendService.GetAuthorizationToken (ECR Public, SigV4
#     service ecr-public, us-east-1): authorizationToken = a registry JWT signed with the key
#     of the token registry TOKEN_NAME (--public-token-registry, a t_token_registry_start
#     NAME; its issuer and service), granting pull on --public-repo REPOs and on every
#     repository in that registry's storage at the time of the call. The registry accepts it
#     for --public-token-lifetime s (default 43200; exp is 60 s less, distribution's leeway,
#     as token.sh's --token-lifetime); expiresAt says --public-reported-lifetime (default
#     the same).
#   POST /?Action=GetAuthorizationToken&Version=2022-05-12 (Volcengine CR, service cr,
#     --volc-region, default cn-beijing): body {"Registry": --volc-instance (default
#     imgpull)}; Result Username --volc-user, Token --volc-token (defaults volc-user,
#     volc-token), ExpireTime now + --volc-token-lifetime in RFC 3339 (UTC, or
#     --volc-expire-offset minutes east, e.g. 480 for +08:00).
#   --key AK:SK       an AWS key the fake knows (repeatable); --volc-key the same for
#                     Volcengine (default: the --key ones)
#   --max-skew N      seconds a request's X-Amz-Date/X-Date may be off (default 900)
#   --clock-offset N  the fake's clock runs N s ahead (negative: behind)
#   --tls             HTTPS with a throwaway CA; the certificate also names
#                     api.ecr.REGION.amazonaws.com, api.ecr-public.us-east-1.amazonaws.com,
#                     cr.VOLC_REGION.volcengineapi.com and $T_TLS_SANS
# Exports CLOUD_<NAME>_{PORT,ADDR,URL,LOG,OUT,PID,DIR,REGION,VOLC_REGION} (+ CA, CERTDIR with
# --tls). CLOUD_<NAME>_LOG: one line per request: TIME METHOD PATH?QUERY api=TARGET|Action
# ak=ACCESS_KEY_ID verdict=ok|ErrorCode[:why] status=N (never a secret, signature or token).
t_fakecloud_start() {
  _t_need_work
  local name=$1
  shift
  local N
  N=$(_t_upper "$name")
  local args=() tls=0 port="" region=us-west-2 volc_region=cn-beijing pubreg="" v
  while (($#)); do
    case $1 in
    --key | --volc-key | --account | --ecr-password | --ecr-token-lifetime | --proxy-endpoint | \
      --expires-at-format | --public-repo | --public-token-lifetime | --public-reported-lifetime | \
      --volc-instance | --volc-user | --volc-token | --volc-token-lifetime | --volc-expire-offset | \
      --max-skew | --clock-offset)
      [[ $# -ge 2 ]] || t_fail "t_fakecloud_start: $1 wants a value"
      args+=("$1" "$2")
      shift 2
      ;;
    --region) region=$2; shift 2 ;;
    --volc-region) volc_region=$2; shift 2 ;;
    --public-token-registry) pubreg=$2; shift 2 ;;
    --tls) tls=1; shift ;;
    --port) port=$2; shift 2 ;;
    *) t_fail "t_fakecloud_start: unknown option $1" ;;
    esac
  done
  args+=(--region "$region" --volc-region "$volc_region")
  if [[ -n "$pubreg" ]]; then
    local P
    P=$(_t_upper "$pubreg")
    for v in KEY CERT ISSUER SERVICE; do
      local var="TOKEN_${P}_$v"
      [[ -n "${!var:-}" ]] || t_fail "t_fakecloud_start: --public-token-registry $pubreg: \$$var unset (start it with t_token_registry_start $pubreg first)"
    done
    local kv="TOKEN_${P}_KEY" cv="TOKEN_${P}_CERT" iv="TOKEN_${P}_ISSUER" sv="TOKEN_${P}_SERVICE" rv="REG_${P}_ROOT"
    args+=(--public-jwt-key "${!kv}" --public-jwt-cert "${!cv}" --public-jwt-issuer "${!iv}"
      --public-jwt-service "${!sv}" --public-repos-root "${!rv}")
  fi
  local dir="$T_WORK/cloud-$name" scheme=http
  mkdir -p "$dir"
  if ((tls)); then
    local T_TLS_SANS="DNS:api.ecr.$region.amazonaws.com,DNS:api.ecr-public.us-east-1.amazonaws.com,DNS:cr.$volc_region.volcengineapi.com,DNS:open.volcengineapi.com${T_TLS_SANS:+,$T_TLS_SANS}"
    t_make_ca "$dir/tls"
    scheme=https
    args+=(--tls-cert "$dir/tls/server.crt" --tls-key "$dir/tls/server.key")
  fi
  local log="$dir/requests.log" out="$dir/fakecloud.out"
  _t_serve "fakecloud $name" "$port" "$out" "" -- \
    "$T_PY" "$T_LIB_DIR/fakecloud.py" --port @PORT@ --log "$log" "${args[@]}"
  port=$_T_SERVE_PORT
  local pid=$_T_SERVE_PID
  _t_var CLOUD "$N" PORT "$port"
  _t_var CLOUD "$N" ADDR "127.0.0.1:$port"
  _t_var CLOUD "$N" URL "$scheme://127.0.0.1:$port"
  _t_var CLOUD "$N" LOG "$log"
  _t_var CLOUD "$N" OUT "$out"
  _t_var CLOUD "$N" PID "$pid"
  _t_var CLOUD "$N" DIR "$dir"
  _t_var CLOUD "$N" REGION "$region"
  _t_var CLOUD "$N" VOLC_REGION "$volc_region"
  ((tls == 0)) || _t_export_tls CLOUD "$N" "$dir/tls"
  t_log "fakecloud $name on $scheme://127.0.0.1:$port (pid $pid, ECR region $region, Volcengine $volc_region${pubreg:+, ECR Public tokens for $pubreg})"
}

# ---------------------------------------------------------------- registry fronts

# t_registry_front_start NAME UPSTREAM --shape ngc|harbor|ecr-public [--token TOKEN_NAME]
#     [--direct-realm] [--tls] [--http2] [--port PORT]
# nginx in front of the token-auth registry UPSTREAM (ADDR or http(s)://ADDR of a
# t_token_registry_start registry; --token names it when UPSTREAM is not its address),
# giving it the quirks of a real registry. The token realm is served by the front itself
# at the path real registries use, proxied to the token server (so a client that reaches
# the front as nvcr.io also finds the realm at https://nvcr.io/proxy_auth); --direct-realm
# makes challenges name the token server's own URL instead. Shapes:
#   ngc        (nvcr.io) challenge `Bearer realm="<front>/proxy_auth",scope="..."` without
#              service. A request that carried Authorization (an expired or wrong token, or
#              Basic) and got 401 is sent to another realm, the token server's /authn-other
#              (standing in for authn.nvidia.com; it always answers 401), with
#              error="invalid_token" (or the registry's insufficient_scope).
#              Start the registry with --realm-path /proxy_auth --deny-path /authn-other.
#   harbor     GET /v2/ carrying Authorization: Basic (before any challenge) gets 401
#              `WWW-Authenticate: Basic realm="harbor"`, not forwarded. Otherwise as the
#              registry, with realm <front>/service/token. Start the registry with
#              --realm-path /service/token --service harbor-registry.
#   ecr-public (public.ecr.aws) a request carrying Authorization that the registry refuses
#              with 401 gets 400 {"errors":[{"code":"DENIED","message":"Your authorization
#              token has expired. Reauthenticate and try again."}]} and no challenge;
#              without Authorization the 401 challenge stays, realm <front>/token. Start the
#              registry with --service public.ecr.aws (token.sh's default realm /token).
# (t_quirk_registry_start does both steps with those options.)
#   --tls      HTTPS with a throwaway CA; the certificate names 127.0.0.1, localhost,
#              nvcr.io, public.ecr.aws, myharbor.example.com and $T_TLS_SANS
#   --http2    offer HTTP/2 (with --tls) as the real services do
# Exports FRONT_<NAME>_{PORT,ADDR,URL,SCHEME,REALM,LOG,ERRLOG,PID,CONF,DIR,SHAPE} (+ CA,
# CERTDIR with --tls; skopeo via t_push/t_inspect gets the CA automatically). REALM is the
# realm challenges name as reached at ADDR (in the ngc/harbor/ecr-public challenges the
# host is whatever Host the client sent). FRONT_<NAME>_LOG has one line per request:
# TIME "REQUEST" STATUS auth=none|basic|bearer|other upstream=STATUS|- bytes=N (never a
# credential or token).
t_registry_front_start() {
  _t_need_work
  local name=$1 upstream=$2
  shift 2
  local N
  N=$(_t_upper "$name")
  local shape="" tls=0 http2=0 port="" tname="" direct=0
  while (($#)); do
    case $1 in
    --shape) shape=$2; shift 2 ;;
    --token) tname=$(_t_upper "$2"); shift 2 ;;
    --direct-realm) direct=1; shift ;;
    --tls) tls=1; shift ;;
    --http2) http2=1; shift ;;
    --port) port=$2; shift 2 ;;
    *) t_fail "t_registry_front_start: unknown option $1" ;;
    esac
  done
  local upscheme=http upaddr=$upstream
  case $upstream in
  http://*) upaddr=${upstream#http://} ;;
  https://*) upscheme=https; upaddr=${upstream#https://} ;;
  esac
  upaddr=${upaddr%/}
  [[ -n "$tname" ]] || tname=${T_TOKEN_BY_ADDR[$upaddr]:-}
  [[ -n "$tname" ]] || t_fail "t_registry_front_start: $upstream is no t_token_registry_start registry; name it with --token"
  if [[ "$upstream" != http*://* ]]; then
    local sv="REG_${tname}_SCHEME"
    upscheme=${!sv:-http}
  fi
  local tu="TOKEN_${tname}_URL"
  local token_url=${!tu:-}
  [[ -n "$token_url" ]] || t_fail "t_registry_front_start: TOKEN_${tname}_URL unset"

  local realm_path other=""
  case $shape in
  ngc) realm_path=/proxy_auth; other="$token_url/authn-other" ;;
  harbor) realm_path=/service/token ;;
  ecr-public) realm_path=/token ;;
  *) t_fail "t_registry_front_start: --shape ngc|harbor|ecr-public, got '$shape'" ;;
  esac
  # The token server must serve the realm path (and, for ngc, refuse at /authn-other).
  local cacert=() tca="TOKEN_${tname}_CA" code
  [[ -z "${!tca:-}" ]] || cacert=(--cacert "${!tca}")
  code=$(curl -s -o /dev/null -w '%{http_code}' "${cacert[@]}" --max-time 5 "$token_url$realm_path" || true)
  [[ "$code" == 200 || "$code" == 401 ]] ||
    t_fail "t_registry_front_start: the token server of $tname does not serve $realm_path (got '$code'); start it with --realm-path $realm_path"
  if [[ -n "$other" ]]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' "${cacert[@]}" --max-time 5 "$other" || true)
    [[ "$code" == 401 ]] ||
      t_fail "t_registry_front_start: $other answered '$code', not 401; start the registry with --deny-path /authn-other"
  fi

  local dir="$T_WORK/front-$name" scheme=http
  mkdir -p "$dir"
  local log="$dir/access.log" errlog="$dir/error.log"
  local listen_extra="" ssl_conf=""
  if ((tls)); then
    local T_TLS_SANS="$T_CLOUD_FRONT_SANS${T_TLS_SANS:+,$T_TLS_SANS}"
    t_make_ca "$dir/tls"
    scheme=https
    listen_extra=" ssl"
    ((http2 == 0)) || listen_extra+=" http2"
    ssl_conf="    ssl_certificate $dir/tls/server.crt;
    ssl_certificate_key $dir/tls/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;"
  fi
  # Realm as the client sees it: the front's own scheme and Host, or the token server.
  # shellcheck disable=SC2016 # nginx variables
  local realm_base='$scheme://$http_host'
  ((direct == 0)) || realm_base=$token_url

  # The challenge the front sends, from whether the request carried Authorization
  # ($front_auth) and the registry's challenge; "" = no WWW-Authenticate header at all.
  # distribution 2.8 writes: Bearer realm="R",service="S"[,scope="..."][,error="..."].
  local chal_map
  case $shape in
  ngc)
    chal_map="
    '~^none\\|Bearer realm=\"[^\"]*\",service=\"[^\"]*\"(?<ngc_rest>.*)\$' 'Bearer realm=\"$realm_base$realm_path\"\$ngc_rest';
    '~^[a-z]+\\|Bearer realm=\"[^\"]*\",service=\"[^\"]*\"(?<ngc_scope>,scope=\"[^\"]*\")?,error=\"(?<ngc_err>[a-z_]+)\"\$' 'Bearer realm=\"$other\"\$ngc_scope,error=\"\$ngc_err\"';
    '~^[a-z]+\\|Bearer realm=\"[^\"]*\",service=\"[^\"]*\"(?<ngc_scope2>,scope=\"[^\"]*\")?\$' 'Bearer realm=\"$other\"\$ngc_scope2,error=\"invalid_token\"';"
    ;;
  harbor)
    chal_map="
    'basic|' 'Basic realm=\"harbor\"';
    '~^[a-z]+\\|Bearer realm=\"[^\"]*\"(?<hb_rest>.*)\$' 'Bearer realm=\"$realm_base$realm_path\"\$hb_rest';"
    ;;
  ecr-public)
    chal_map="
    '~^none\\|Bearer realm=\"[^\"]*\"(?<ep_rest>.*)\$' 'Bearer realm=\"$realm_base$realm_path\"\$ep_rest';"
    ;;
  esac

  local realm_loc=""
  if ((direct == 0)); then
    realm_loc="
    location = $realm_path {
      proxy_pass $token_url;
      proxy_set_header Host \$proxy_host;
      proxy_ssl_verify off;
    }"
  fi
  local v2_loc=""
  case $shape in
  harbor)
    # Harbor answers Basic credentials at the base endpoint with a Basic challenge.
    v2_loc="
    location = /v2/ {
      if (\$front_auth = basic) {
        return 401 '{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"unauthorized: unauthorized\"}]}\n';
      }
      proxy_pass $upscheme://front_upstream;
      proxy_hide_header WWW-Authenticate;
      add_header WWW-Authenticate \$front_chal always;
    }"
    ;;
  esac
  # Where requests go: the registry; for ecr-public, those carrying Authorization go through
  # an inner server (on a unix socket) that turns the registry's 401 into 400 DENIED.
  # (nginx copies an intercepted 401's WWW-Authenticate into any error_page answer, and
  # only the outer server's proxy_hide_header can drop it again.)
  local pass="$upscheme://front_upstream" inner="" sock="$dir/inner.sock"
  if [[ "$shape" == ecr-public ]]; then
    # (a unix socket path has at most 107 bytes)
    ((${#sock} < 100)) || sock=$(mktemp -u "${TMPDIR:-/tmp}/imgpull-front.XXXXXX")
    pass=\$front_pass
    inner="
  map \$front_auth \$front_pass {
    none $upscheme://front_upstream;
    default http://front_inner;
  }
  upstream front_inner {
    server unix:$sock;
    keepalive 16;
  }
  server {
    listen unix:$sock;
    access_log $dir/inner.log front;
    client_max_body_size 0;
    proxy_http_version 1.1;
    proxy_set_header Connection \"\";
    proxy_set_header Host \$http_host;
    proxy_set_header X-Forwarded-Proto \$http_x_forwarded_proto;
    proxy_buffering off;
    proxy_request_buffering off;
    proxy_ssl_verify off;
    location / {
      proxy_pass $upscheme://front_upstream;
      proxy_intercept_errors on;
      error_page 401 =400 /_front_denied;
    }
    location = /_front_denied {
      internal;
      return 400 '{\"errors\":[{\"code\":\"DENIED\",\"message\":\"Your authorization token has expired. Reauthenticate and try again.\"}]}\n';
    }
  }"
  fi
  local main_loc="
    location / {
      proxy_pass $pass;
      proxy_hide_header WWW-Authenticate;
      add_header WWW-Authenticate \$front_chal always;
    }"

  local http
  http=$(
    cat <<EOF
  types { }
  default_type application/json;
  map \$http_authorization \$front_auth {
    "" none;
    "~*^basic " basic;
    "~*^bearer " bearer;
    default other;
  }
  map "\$front_auth|\$upstream_http_www_authenticate" \$front_chal {
    default "";$chal_map
  }
  log_format front '\$time_iso8601 "\$request" \$status auth=\$front_auth upstream=\$upstream_status bytes=\$body_bytes_sent';
  access_log $log front;
  server_tokens off;
  keepalive_requests 100000;
  upstream front_upstream {
    server $upaddr;
    keepalive 16;
  }$inner
  server {
    listen 127.0.0.1:@PORT@$listen_extra;
    server_name localhost;
$ssl_conf
    client_max_body_size 0;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host \$http_host;
    proxy_set_header X-Forwarded-Proto \$scheme;
    proxy_buffering off;
    proxy_request_buffering off;
    proxy_ssl_verify off;
$realm_loc$v2_loc$main_loc
  }
EOF
  )
  : >"$log"
  _t_nginx_run "front $name" "$dir" "$port" 1 512 \
    "generated by imgpull test/lib/cloud.sh: front shape $shape for $upscheme://$upaddr" "$http"
  port=$_T_SERVE_PORT
  local pid=$_T_SERVE_PID

  local addr="127.0.0.1:$port" realm
  if ((direct)); then realm="$token_url$realm_path"; else realm="$scheme://$addr$realm_path"; fi
  _t_export_nginx FRONT "$N" "$scheme" "$dir"
  _t_var FRONT "$N" SCHEME "$scheme"
  _t_var FRONT "$N" REALM "$realm"
  _t_var FRONT "$N" SHAPE "$shape"
  # skopeo through the front (t_push/t_inspect) uses the registry's pusher by default.
  T_REG_CREDS[$addr]=$TOKEN_PUSH_CREDS
  ((tls == 0)) || _t_export_tls FRONT "$N" "$dir/tls" "$addr"

  # It listens; make sure /v2/ without credentials answers 401 with a Bearer challenge.
  local hdrs ca=()
  ((tls)) && ca=(--cacert "$dir/tls/ca.crt")
  hdrs=$(curl -s -o /dev/null -D - "${ca[@]}" --max-time 5 "$scheme://$addr/v2/" | tr -d '\r' || true)
  [[ "$hdrs" =~ ^HTTP/[0-9.]+\ 401 && "${hdrs,,}" == *"www-authenticate: bearer realm=\"${realm,,}\""* ]] ||
    t_fail "front $name: GET /v2/ did not answer 401 Bearer realm=\"$realm\": $hdrs
tail of $errlog:
$(tail -n 20 "$errlog")"
  t_log "front $name ($shape) on $scheme://$addr (pid $pid) for $upscheme://$upaddr, realm $realm"
}

# t_quirk_registry_start NAME --shape ngc|harbor|ecr-public [--tls] [--http2] [--direct-realm]
#     [t_token_registry_start options...]
# A token registry NAME set up for the shape (realm path, deny path, service) and a front
# NAME before it: exports REG_<NAME>_*, TOKEN_<NAME>_* and FRONT_<NAME>_*. --tls is the
# front's (the registry behind it stays plain HTTP on loopback).
t_quirk_registry_start() {
  local name=$1
  shift
  local shape="" front=() reg=()
  while (($#)); do
    case $1 in
    --shape) shape=$2; shift 2 ;;
    --tls | --http2 | --direct-realm) front+=("$1"); shift ;;
    *) reg+=("$1"); shift ;;
    esac
  done
  case $shape in
  ngc) reg=(--realm-path /proxy_auth --deny-path /authn-other --token-lifetime 600 "${reg[@]}") ;;
  harbor) reg=(--realm-path /service/token --service harbor-registry --token-lifetime 1800 "${reg[@]}") ;;
  ecr-public) reg=(--service public.ecr.aws "${reg[@]}") ;;
  *) t_fail "t_quirk_registry_start: --shape ngc|harbor|ecr-public, got '$shape'" ;;
  esac
  t_token_registry_start "$name" "${reg[@]}"
  local N a
  N=$(_t_upper "$name")
  a="REG_${N}_ADDR"
  t_registry_front_start "$name" "${!a}" --shape "$shape" "${front[@]}"
}
