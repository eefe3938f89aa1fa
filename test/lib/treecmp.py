#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Compares two root filesystems entry by entry.

  treecmp.py A B [--ignore NAME ...] [--ignore-xattr PREFIX ...] [--ignore-whiteout-mtime]

For every path in either tree (NAMEs at the top ignored): the type, the
permission bits (with setuid/setgid/sticky), owner and group, a file's size and
SHA-256, a link's target, a device's numbers, extended attributes (names and
values, of every entry, links included), the mtime of everything but
directories (whose mtimes move as entries are added), and which paths are hard
links of one another (--ignore-xattr: xattrs whose names begin with PREFIX are
left out, e.g. trusted.overlay., which an overlay mount never shows;
--ignore-whiteout-mtime: overlayfs whiteouts, character devices 0:0 made when
a layer is applied, have no mtime worth comparing). Prints each difference;
exit 1 if there is any.
Standard library only.
"""

import hashlib
import os
import stat
import sys


def walk(root, ignore, ignore_xattr=(), whiteout_mtime=True):
    info, inodes = {}, {}
    for dirpath, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirs[:] = [d for d in dirs if d not in ignore]
            files = [f for f in files if f not in ignore]
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(p)
            d = {"type": stat.S_IFMT(st.st_mode), "mode": oct(stat.S_IMODE(st.st_mode)),
                 "owner": (st.st_uid, st.st_gid)}
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    d["sha256"] = hashlib.sha256(f.read()).hexdigest()
                d["size"] = st.st_size
                inodes.setdefault(st.st_ino, []).append(rel)
            elif stat.S_ISLNK(st.st_mode):
                d["target"] = os.readlink(p)
                d.pop("mode")  # a link's own mode means nothing on Linux
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                d["dev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
            xattrs = {n: os.getxattr(p, n, follow_symlinks=False)
                      for n in os.listxattr(p, follow_symlinks=False)
                      if not n.startswith(tuple(ignore_xattr))}
            if xattrs:
                d["xattrs"] = xattrs
            whiteout = stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
            if not stat.S_ISDIR(st.st_mode) and (whiteout_mtime or not whiteout):
                d["mtime"] = int(st.st_mtime)
            info[rel] = d
    for paths in inodes.values():
        for p in paths:
            info[p]["links"] = sorted(paths)
    return info


def main():
    args = sys.argv[1:]
    ignore, ignore_xattr = set(), []
    while "--ignore" in args:
        i = args.index("--ignore")
        ignore.add(args[i + 1])
        del args[i:i + 2]
    while "--ignore-xattr" in args:
        i = args.index("--ignore-xattr")
        ignore_xattr.append(args[i + 1])
        del args[i:i + 2]
    whiteout_mtime = "--ignore-whiteout-mtime" not in args
    args = [a for a in args if a != "--ignore-whiteout-mtime"]
    a = walk(args[0], ignore, ignore_xattr, whiteout_mtime)
    b = walk(args[1], ignore, ignore_xattr, whiteout_mtime)
    diffs = 0
    for p in sorted(set(a) | set(b)):
        if a.get(p) != b.get(p):
            diffs += 1
            print("%s:\n  %s: %s\n  %s: %s" % (p, args[0], a.get(p), args[1], b.get(p)))
    print("%d entries compared, %d differ" % (len(set(a) | set(b)), diffs))
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
