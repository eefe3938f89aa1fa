#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A strict check of the Prometheus text exposition format (0.0.4), as
node-exporter's textfile collector reads it; standard library only.

  promcheck.py FILE     prints the samples as JSON {"name{labels}": value}; exit 1
                        with the line and the reason on the first violation.

Checked: every line is a HELP, a TYPE, another comment, a sample or empty; metric
and label names are valid; label values use only the \\\\, \\" and \\n escapes;
values are floats (NaN, +Inf, -Inf allowed) with an optional integer timestamp;
a family has at most one HELP and one TYPE, both before its samples, and its
samples are contiguous; no series appears twice; the file ends with a newline.
"""
import json
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def fail(n, line, why):
    sys.stderr.write("promcheck: line %d: %s: %r\n" % (n, why, line))
    sys.exit(1)


def parse_labels(s, n, line):
    labels, i = [], 0
    while i < len(s):
        m = re.match(r"(%s)=\"" % LABEL, s[i:])
        if not m:
            fail(n, line, "bad label at %r" % s[i:])
        name = m.group(1)
        i += m.end()
        val = []
        while True:
            if i >= len(s):
                fail(n, line, "unterminated label value")
            c = s[i]
            if c == "\\":
                if i + 1 >= len(s) or s[i + 1] not in '\\"n':
                    fail(n, line, "bad escape in a label value")
                val.append({"\\": "\\", '"': '"', "n": "\n"}[s[i + 1]])
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                fail(n, line, "newline in a label value")
            else:
                val.append(c)
                i += 1
        if name in [l for l, _ in labels]:
            fail(n, line, "label %s twice" % name)
        labels.append((name, "".join(val)))
        if i < len(s):
            if s[i] != ",":
                fail(n, line, "expected ',' between labels")
            i += 1
    return labels


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    if text and not text.endswith("\n"):
        fail(0, text[-40:], "no final newline")
    helps, types, done, series = set(), {}, set(), {}
    current = None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            m = re.match(r"# (HELP|TYPE) (%s)(?: (.*))?$" % NAME, line)
            if not m:
                if re.match(r"# (HELP|TYPE)\b", line):
                    fail(n, line, "malformed HELP or TYPE")
                continue
            kind, name, rest = m.group(1), m.group(2), m.group(3) or ""
            if name in done or name in series_families(series):
                fail(n, line, "%s of %s after its samples" % (kind, name))
            if kind == "HELP":
                if name in helps:
                    fail(n, line, "second HELP")
                helps.add(name)
            else:
                if name in types:
                    fail(n, line, "second TYPE")
                if rest not in TYPES:
                    fail(n, line, "unknown type %r" % rest)
                types[name] = rest
            continue
        m = re.match(r"(%s)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$" % NAME, line)
        if not m:
            fail(n, line, "not a sample")
        name, labels_s, value = m.group(1), m.group(2), m.group(3)
        if value not in ("NaN", "+Inf", "-Inf"):
            try:
                float(value)
            except ValueError:
                fail(n, line, "bad value")
            if not re.match(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", value):
                fail(n, line, "bad value")
        labels = parse_labels(labels_s, n, line) if labels_s else []
        if current != name:
            if name in done:
                fail(n, line, "samples of %s are not contiguous" % name)
            if current:
                done.add(current)
            current = name
        key = name + "{" + ",".join('%s="%s"' % kv for kv in sorted(labels)) + "}"
        if key in series:
            fail(n, line, "series twice")
        series[key] = float(value)
    json.dump(series, sys.stdout, sort_keys=True)


def series_families(series):
    return {k.split("{", 1)[0] for k in series}


if __name__ == "__main__":
    main()
