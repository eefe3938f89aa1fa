#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A filesystem whose disk fails on demand, for imgpull's storage-fault tests.

  eiofs.py BACKING_DIR MOUNTPOINT CONTROL_FILE

Mounts (FUSE, in the foreground) a pass-through view of BACKING_DIR at MOUNTPOINT.
While CONTROL_FILE exists, every write to a file whose name ends in ".partial"
fails with EIO, as a failing disk or a device-mapper error target answers; reads
and everything else keep working. One line per failed write goes to stderr.
A CONTROL_FILE that reads "delay SECONDS NAME" makes writes slow instead: each
write of more than 4 KiB to a ".partial" file whose name starts with NAME
sleeps SECONDS first, then succeeds (a disk that stalls on one file; the
one-byte writes of glibc's posix_fallocate emulation are not delayed); one that
reads "delay-rename SECONDS NAME" makes the rename of a file whose name starts
with NAME (a blob's commit) sleep SECONDS first. Requests
are served on several threads: a delayed write holds up no other.
Standard library and Debian's python3-fusepy only.
"""

import errno
import os
import sys
import time

from fusepy import FUSE, FuseOSError, Operations


class EIOFS(Operations):
    def __init__(self, root, control):
        self.root = os.path.realpath(root)
        self.control = control
        self.failed = 0

    def _p(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def _call(self, fn, *a):
        try:
            return fn(*a)
        except OSError as e:
            raise FuseOSError(e.errno)

    # files and directories
    def getattr(self, path, fh=None):
        st = self._call(os.lstat, self._p(path))
        return {k: getattr(st, k) for k in ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size",
                                            "st_atime", "st_mtime", "st_ctime", "st_blocks")}

    def readdir(self, path, fh):
        return [".", ".."] + self._call(os.listdir, self._p(path))

    def mkdir(self, path, mode):
        return self._call(os.mkdir, self._p(path), mode)

    def rmdir(self, path):
        return self._call(os.rmdir, self._p(path))

    def unlink(self, path):
        return self._call(os.unlink, self._p(path))

    def rename(self, old, new):
        delay = self._delay("delay-rename")
        if delay and os.path.basename(old).startswith(delay[1]):
            print("eiofs: delaying the rename of %s by %.1f s" % (old, delay[0]), file=sys.stderr, flush=True)
            time.sleep(delay[0])
        return self._call(os.rename, self._p(old), self._p(new))

    def link(self, target, source):
        return self._call(os.link, self._p(source), self._p(target))

    def symlink(self, target, source):
        return self._call(os.symlink, source, self._p(target))

    def readlink(self, path):
        return self._call(os.readlink, self._p(path))

    def chmod(self, path, mode):
        return self._call(os.chmod, self._p(path), mode)

    def chown(self, path, uid, gid):
        return self._call(os.chown, self._p(path), uid, gid)

    def utimens(self, path, times=None):
        return self._call(os.utime, self._p(path), times)

    def truncate(self, path, length, fh=None):
        if fh is not None:
            return self._call(os.ftruncate, fh, length)
        return self._call(os.truncate, self._p(path), length)

    def statfs(self, path):
        st = self._call(os.statvfs, self._p(path))
        return {k: getattr(st, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail",
                                            "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")}

    # open files
    def open(self, path, flags):
        return self._call(os.open, self._p(path), flags)

    def create(self, path, mode, fi=None):
        # Read and write: the kernel hands reads of a file created O_RDWR to this handle.
        return self._call(os.open, self._p(path), os.O_RDWR | os.O_CREAT, mode)

    def read(self, path, size, offset, fh):
        return self._call(os.pread, fh, size, offset)

    def _delay(self, word="delay"):
        """(seconds, name prefix) of a control file "WORD SECONDS NAME", else None."""
        try:
            with open(self.control) as f:
                words = f.read().split()
        except OSError:
            return None
        if len(words) == 3 and words[0] == word:
            return float(words[1]), words[2]
        return None

    def write(self, path, data, offset, fh):
        delay = self._delay() if path.endswith(".partial") else None
        if delay and len(data) > 4096 and os.path.basename(path).startswith(delay[1]):
            print("eiofs: delaying a write of %d bytes at %d to %s by %.1f s" % (
                len(data), offset, path, delay[0]), file=sys.stderr, flush=True)
            time.sleep(delay[0])
        elif path.endswith(".partial") and os.path.exists(self.control) and not delay and \
                not self._delay("delay-rename"):
            self.failed += 1
            print("eiofs: EIO for a write of %d bytes at %d to %s (%d so far)" % (
                len(data), offset, path, self.failed), file=sys.stderr, flush=True)
            raise FuseOSError(errno.EIO)
        return self._call(os.pwrite, fh, data, offset)

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        return self._call(os.fdatasync if datasync else os.fsync, fh)

    def fsyncdir(self, path, datasync, fh):
        return 0

    def release(self, path, fh):
        return self._call(os.close, fh)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    root, mnt, control = sys.argv[1:]
    FUSE(EIOFS(root, control), mnt, foreground=True, nothreads=False, allow_other=False, big_writes=True)


if __name__ == "__main__":
    main()
