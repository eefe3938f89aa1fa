#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks imgpull bench's output against what the servers logged.

  benchcheck.py report REPORT.json STORE_LOG REGISTRY_LOG REPO
      The JSON report (schema imgpull.bench/v1) parses, has the documented
      fields, and its figures summed over its runs agree with the logs (given
      as just the lines of this bench): blob bytes the store sent within 1 %,
      range requests to the store equal to its log lines, blob requests to the
      registry equal to the registry's blob GETs.
  benchcheck.py svg TIMELINE.svg STORE_LOG REGISTRY_LOG REPO STORE_PORT REGISTRY_PORT
      The timeline is valid XML, has a bar per request the servers logged, and
      one lane per connection the store saw (by client port).
  benchcheck.py sweep REPORT.json VALUE...
      One row per value, and "fastest" is the row with the least median time.
"""
import json
import re
import sys
import xml.etree.ElementTree as ET

RUN_FIELDS = {
    "ok": bool, "exit_code": int, "seconds": float, "resolve_seconds": float, "ttfb_seconds": float,
    "download_seconds": float, "bytes": int, "downloaded_bytes": int, "mb_per_s": float,
    "download_mb_per_s": float, "requests": int, "registry_requests": int, "store_requests": int,
    "retries": int, "retry_causes": dict, "redirects": int, "renewals": int, "cancelled": int,
    "connections_used": int, "connections_mean": float, "connections_max": int, "blobs": list,
    "cpu_seconds": float, "max_rss_bytes": int, "discard_memory_peak_bytes": int, "run": int,
}


def fail(msg):
    print("benchcheck: " + msg, file=sys.stderr)
    sys.exit(1)


def store_lines(path):
    # ADDR [TIME] "GET /path HTTP/1.1" STATUS BYTES range="…" … port=N
    out = []
    for line in open(path):
        m = re.search(r'"GET (\S+) [^"]*" (\d+) (\d+) .* port=(\d+)', line)
        if m and m.group(1).endswith("/data"):
            out.append((int(m.group(2)), int(m.group(3)), int(m.group(4))))
    return out


def registry_blob_gets(path, repo):
    pat = re.compile(r'"GET /v2/%s/blobs/sha256:[0-9a-f]{64} ' % re.escape(repo))
    return sum(1 for line in open(path) if pat.search(line))


def check_run(r):
    for k, t in RUN_FIELDS.items():
        if k not in r:
            fail("run lacks %r" % k)
        v = r[k]
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) if t in (int, float) else isinstance(v, t)
        if not ok:
            fail("run field %r is %r" % (k, v))
    for b in r["blobs"]:
        for k in ("digest", "size", "seconds", "mb_per_s", "requests"):
            if k not in b:
                fail("blob lacks %r" % k)
    for k in ("lanes", "request_log"):
        if k in r:
            fail("the report carries the timeline's %r" % k)
    if r["ok"] and r["downloaded_bytes"] != r["bytes"]:
        fail("a fresh run downloaded %d of %d bytes" % (r["downloaded_bytes"], r["bytes"]))
    if not 0 < r["resolve_seconds"] < r["seconds"] or not 0 < r["ttfb_seconds"] < r["seconds"]:
        fail("times out of order: %r" % r)
    if r["connections_max"] < 1 or r["connections_mean"] > r["connections_max"]:
        fail("connections: %r" % r)


def report(path, store_log, reg_log, repo):
    rep = json.load(open(path))
    if rep.get("schema") != "imgpull.bench/v1":
        fail("schema is %r" % rep.get("schema"))
    for k in ("ok", "exit_code", "images", "mode", "runs_per_setting", "label", "connections", "chunk_size", "runs",
              "median", "median_run"):
        if k not in rep:
            fail("report lacks %r" % k)
    runs = rep["runs"]
    if len(runs) != rep["runs_per_setting"]:
        fail("%d runs, %d asked" % (len(runs), rep["runs_per_setting"]))
    for r in runs:
        check_run(r)
    for k in ("seconds", "mb_per_s", "requests"):
        vals = sorted(r[k] for r in runs)
        n = len(vals)
        med = vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
        if abs(rep["median"][k] - med) > 1e-9 * max(1, med):
            fail("median %s is %r, the runs' median %r" % (k, rep["median"][k], med))
    mb = {b["digest"]: b for b in rep["median"].get("blobs", [])}
    for b in runs[0]["blobs"]:
        vals = sorted(x["seconds"] for r in runs for x in r["blobs"] if x["digest"] == b["digest"])
        n = len(vals)
        med = vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
        if b["digest"] not in mb or abs(mb[b["digest"]]["seconds"] - med) > 1e-9 * max(1, med):
            fail("median seconds of blob %s: %r, the runs' median %r" % (b["digest"], mb.get(b["digest"]), med))
    lines = store_lines(store_log)
    sent = sum(b for _, b, _ in lines)
    got = sum(r["downloaded_bytes"] for r in runs)
    if not lines or abs(sent - got) > 0.01 * sent:
        fail("bytes: the store sent %d, the report says %d" % (sent, got))
    if len(lines) != sum(r["store_requests"] for r in runs):
        fail("the store logged %d range requests, the report %d" %
             (len(lines), sum(r["store_requests"] for r in runs)))
    gets = registry_blob_gets(reg_log, repo)
    if gets != sum(r["registry_requests"] for r in runs):
        fail("the registry logged %d blob GETs, the report %d" % (gets, sum(r["registry_requests"] for r in runs)))
    if sum(r["redirects"] for r in runs) != gets:
        fail("every registry blob GET was a redirect here")
    print("runs=%d store_requests=%d store_bytes=%d report_bytes=%d registry_gets=%d" %
          (len(runs), len(lines), sent, got, gets))


def svg(path, store_log, reg_log, repo, store_port, reg_port):
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    if root.tag != ns + "svg":
        fail("root element is %s" % root.tag)
    bars = [g for g in root.iter(ns + "g") if "req" in (g.get("class") or "").split()]
    for g in bars:
        if g.find(ns + "title") is None or g.find(ns + "rect") is None:
            fail("a bar without its rect or <title>")
    lines = store_lines(store_log)
    gets = registry_blob_gets(reg_log, repo)
    if len(bars) != len(lines) + gets:
        fail("%d bars, the servers logged %d + %d requests" % (len(bars), len(lines), gets))
    lanes = [g.get("data-lane") for g in root.iter(ns + "g") if (g.get("class") or "").split()[:1] == ["lane"]]
    store_lanes = {l for l in lanes if l and l.startswith("127.0.0.1:%s via :" % store_port)}
    ports = {"127.0.0.1:%s via :%d" % (store_port, p) for _, _, p in lines}
    if store_lanes != ports:
        fail("store lanes %s, store connections by client port %s" % (sorted(store_lanes), sorted(ports)))
    reg_lanes = [l for l in lanes if l and l.startswith("127.0.0.1:%s via :" % reg_port)]
    if not 1 <= len(reg_lanes) <= gets or len(lanes) != len(store_lanes) + len(reg_lanes):
        fail("lanes %s" % lanes)
    print("bars=%d lanes=%d (store %d, registry %d)" % (len(bars), len(lanes), len(store_lanes), len(reg_lanes)))


def sweep(path, values):
    rep = json.load(open(path))
    rows = rep["sweep"]["rows"]
    if [r["value"] for r in rows] != values:
        fail("sweep rows %r, values %r" % ([r["value"] for r in rows], values))
    for r in rows:
        if len(r["runs"]) != rep["runs_per_setting"]:
            fail("row %s has %d runs" % (r["value"], len(r["runs"])))
        for run in r["runs"]:
            check_run(run)
    best = min(rows, key=lambda r: r["median"]["seconds"])
    if rep["sweep"]["fastest"] != best["value"]:
        fail("fastest is %r, least median time has %r" % (rep["sweep"]["fastest"], best["value"]))
    if rep["median"]["seconds"] != best["median"]["seconds"]:
        fail("the top-level figures are not the fastest setting's")
    print(" ".join("%s=%.3fs" % (r["value"], r["median"]["seconds"]) for r in rows), "fastest", best["value"])


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "report":
        report(*args)
    elif cmd == "svg":
        svg(*args)
    elif cmd == "sweep":
        sweep(args[0], args[1:])
    else:
        fail("unknown command " + cmd)
