#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A containerd socket that never answers ends `pull --containerd` within a
# minute (exit 5, one line naming the socket), before any request to the
# registry: a listener that accepts and stays silent, one that answers the
# HTTP/2 preface (SETTINGS) and then stays silent, and one that never accepts
# (connect succeeds through the backlog). With --timeout shorter than the
# probe's 15 s, --timeout bounds it. containerd's root is the test's own.
set -euo pipefail
source "$IMGPULL_SRC/test/lib/common.sh"
source "$IMGPULL_SRC/test/lib/imgpull.sh"
t_workdir

t_registry_start MAIN
t_make_image "$T_WORK/src" v1 --layer 1M
t_push "$T_WORK/src" v1 "$REG_MAIN_ADDR" team/app:v1

cat >"$T_WORK/silent.py" <<'PY'
import os, socket, sys, threading, time
mode, path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
print("listening", mode, flush=True)
held = []
def preface(c):
    c.sendall(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")  # SETTINGS, empty
    acked = False
    while True:
        d = c.recv(65536)
        if not d:
            return
        print("read", len(d), flush=True)
        if not acked:
            c.sendall(b"\x00\x00\x00\x04\x01\x00\x00\x00\x00")  # SETTINGS ACK
            acked = True
while True:
    if mode == "noaccept":
        time.sleep(3600)
    c, _ = s.accept()
    held.append(c)  # never closed, never answered
    print("accepted", flush=True)
    if mode == "preface":
        threading.Thread(target=preface, args=(c,), daemon=True).start()
PY

reg_requests() { grep -c 'GET /v2/' "$REG_MAIN_LOG" || true; }
before=$(reg_requests)

# run NAME MODE [OPTIONS]: a silent server in MODE and a pull against it, in the background.
declare -A PIDS=() T0=() SOCK=()
run() {
  local name=$1 mode=$2
  shift 2
  local sock="$T_WORK/$name/containerd.sock"
  mkdir -p "$T_WORK/$name/root/io.containerd.content.v1.content/ingest" # as containerd leaves its root
  t_spawn "$T_WORK/$name.server.log" "$T_PY" "$T_WORK/silent.py" "$mode" "$sock"
  t_wait_until 10 test -S "$sock" || t_fail "$name: the server did not listen: $(cat "$T_WORK/$name.server.log")"
  SOCK[$name]=$sock
  T0[$name]=$(date +%s.%N)
  ( rc=0
    "$IMGPULL" pull --plain-http "$REG_MAIN_ADDR" --progress none --containerd="unix://$sock" \
      --containerd-root "$T_WORK/$name/root" --dest "$T_WORK/$name/layout" "$@" "$REG_MAIN_ADDR/team/app:v1" \
      >"$T_WORK/$name.out" 2>"$T_WORK/$name.err" </dev/null || rc=$?
    echo $rc >"$T_WORK/$name.rc"
    date +%s.%N >"$T_WORK/$name.t1" ) &
  PIDS[$name]=$!
}
run ACCEPT accept
run PREFACE preface
run NOACCEPT noaccept
run TIMEOUT accept --timeout 4s
for n in "${!PIDS[@]}"; do wait "${PIDS[$n]}" || true; done

# check NAME BOUND REGEX: exit 5 within BOUND seconds, one error line naming the socket.
check() {
  local name=$1 bound=$2 re=$3 rc secs
  rc=$(cat "$T_WORK/$name.rc")
  secs=$(echo "$(cat "$T_WORK/$name.t1") - ${T0[$name]}" | bc)
  [[ $rc == 5 ]] || t_fail "$name: exit $rc, expected 5: $(cat "$T_WORK/$name.err")"
  (($(echo "$secs < $bound" | bc))) || t_fail "$name: took $secs s, more than $bound s"
  [[ $(grep -c . "$T_WORK/$name.err") -eq 1 ]] || t_fail "$name: expected one error line: $(cat "$T_WORK/$name.err")"
  t_assert_file_contains "$T_WORK/$name.err" "^imgpull: error: .*$re" "$name: the error"
  [[ ! -d "$T_WORK/$name/layout/blobs" ]] || [[ -z "$(find "$T_WORK/$name/layout/blobs" -type f)" ]] ||
    t_fail "$name: blobs were downloaded before containerd was asked"
  t_ok "$name: exit 5 after $secs s: $(cat "$T_WORK/$name.err")"
}
check ACCEPT 30 "containerd's CRI service: unix://${SOCK[ACCEPT]} did not answer /runtime.v1.RuntimeService/Version within 15 s"
check PREFACE 30 "containerd's CRI service: unix://${SOCK[PREFACE]} did not answer /runtime.v1.RuntimeService/Version within 15 s"
check NOACCEPT 30 "containerd's CRI service: unix://${SOCK[NOACCEPT]} did not answer /runtime.v1.RuntimeService/Version within 15 s"
check TIMEOUT 10 "containerd's CRI service: unix://${SOCK[TIMEOUT]} did not answer /runtime.v1.RuntimeService/Version within [45] s"
grep -q '^read' "$T_WORK/PREFACE.server.log" || t_fail "the preface server read no request: $(cat "$T_WORK/PREFACE.server.log")"
grep -q '^accepted' "$T_WORK/ACCEPT.server.log" || t_fail "the silent server accepted no connection"
t_assert_eq "$(($(reg_requests) - before))" 0 "registry requests before containerd answered"
t_pass
