#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An authenticated registry that redirects blob GETs (307) to an nginx "S3"
# serving its storage: ranges go straight to the blob store, in parallel, on
# separate connections, and never carry the registry's Authorization (the store
# answers 400 to any request that does, as S3 does for presigned URLs). A blob
# store that ignores Range still gives a correct result through one stream.
# ctest-labels: asan
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

ip_redirect_setup S3 MAIN --reject-auth --rate 60m --htpasswd alice:s3cr3t-pw \
  --push ml/model:v1 --layer 2M --layer 70M --layer 20K
big=$(echo "$T_IMG_LAYERS" | cut -d' ' -f2)

out="$T_WORK/out"
t_expect_exit 0 "$IMGPULL" pull --dest "$out" --plain-http "$REG_MAIN_ADDR" --creds alice:s3cr3t-pw \
  --chunk-size 4M --connections 8 --progress plain "$ref"
ip_check_layout "$out"
ip_skopeo_check "$out" "$ref" "$img"

log=$BLOB_S3_LOG
grep -q . "$log" || t_fail "the blob store saw no request"
t_assert_file_lacks "$log" 'auth="[^-]' "the blob store never saw an Authorization header"
t_assert_file_lacks "$log" '" 400 ' "the blob store never refused a request"
hex=${big#sha256:}
nreq=$(grep -c "/$hex/data" "$log")
n206=$(grep "/$hex/data" "$log" | grep -c '" 206 ')
nconn=$(grep "/$hex/data" "$log" | sed -n 's/.*conn=\([0-9]*\).*/\1/p' | sort -u | wc -l)
[[ $nreq -ge 18 ]] || t_fail "the 70 MiB layer took $nreq requests, expected >= 18 ranges of 4 MiB"
[[ $n206 -eq $nreq ]] || t_fail "only $n206 of $nreq range requests were answered 206"
[[ $nconn -ge 4 ]] || t_fail "ranges used $nconn connections, expected several in parallel"
[[ $(grep "/$hex/data" "$log" | grep -c 'range="bytes=[0-9]*-[0-9]*"') -eq $nreq ]] || t_fail "closed ranges expected"
t_ok "70 MiB layer: $nreq closed ranges, all 206, over $nconn connections, no Authorization"

# The registry answered each blob's redirect once, not once per range.
nredir=$(grep -c "GET /v2/ml/model/blobs/$big" "$REG_MAIN_LOG" || true)
[[ $nredir -le 2 ]] || t_fail "the registry was asked for the big blob $nredir times"
t_ok "registry asked $nredir time(s) for the big blob's redirect"

# A blob store that ignores Range: same storage, same registry data.
ip_redirect_setup NORANGE NR --no-range --reject-auth --htpasswd alice:s3cr3t-pw
out2="$T_WORK/out2"
t_expect_exit 0 "$IMGPULL" pull --dest "$out2" --plain-http "$REG_NR_ADDR" --creds alice:s3cr3t-pw \
  --chunk-size 4M --connections 8 --progress plain "$REG_NR_ADDR/ml/model:v1"
ip_check_layout "$out2"
ip_skopeo_check "$out2" "$REG_NR_ADDR/ml/model:v1" "$img"
n200=$(grep "/$hex/data" "$BLOB_NORANGE_LOG" | grep -c '" 200 ')
[[ $n200 -ge 1 ]] || t_fail "the no-range store should have answered 200"
t_assert_file_lacks "$BLOB_NORANGE_LOG" 'auth="[^-]' "no Authorization at the no-range store either"
t_ok "a store ignoring Range: $n200 full-body answers, result verified"

# A store that refuses 30 % of the requests with 403, as an expired
# presigned URL is refused: each refusal sends imgpull back to the registry
# for a fresh redirect, and the pull completes.
ip_redirect_setup EXPIRING EX --refuse-pct 30 --reject-auth --htpasswd alice:s3cr3t-pw
t_expect_exit 0 "$IMGPULL" pull --dest "$T_WORK/out3" --plain-http "$REG_EX_ADDR" --creds alice:s3cr3t-pw \
  --chunk-size 2M --connections 8 --progress plain "$REG_EX_ADDR/ml/model:v1"
ip_check_layout "$T_WORK/out3"
n403=$(grep -c '" 403 ' "$BLOB_EXPIRING_LOG" || true)
nask=$(grep -c "GET /v2/ml/model/blobs/$big" "$REG_EX_LOG" || true)
[[ $n403 -ge 2 ]] || t_fail "expected several refusals from the expiring store, saw $n403"
[[ $nask -ge 2 ]] || t_fail "refusals should send imgpull back to the registry (asked $nask times)"
t_ok "$n403 refusals, the registry asked $nask times for the big blob, result verified"
t_pass
