"""Native libraries' own lines on stderr (``libpng error: IDAT: CRC error``, OpenCV's
``[ WARN:0@1.2] ...``, OpenEXR's ``EXR_ERR_...``, FFmpeg's ``[h264 @ 0x...] ...``), kept out of
the command's stderr unless ``--verbose``: the command already says what went wrong in its own
words, naming the frame, and a pipeline that reads stderr should not see a stranger's lines.

The libraries write to file descriptor 2 from C, below Python, so the command points fd 2 at a
pipe and Python's ``sys.stderr`` at a copy of the real stderr; a thread passes the pipe's
lines on, leaving out those in the libraries' known formats. Any other line (a crash message,
a driver's error) goes through unchanged. Only the command does this, never a program that
imports neuralfx.
"""

from __future__ import annotations

import faulthandler
import io
import os
import re
import sys
import threading

#: The formats of the lines left out.
NATIVE_LINE = re.compile(
    r"^(libpng (error|warning)"
    r"|\[ ?(WARN|ERROR|INFO|DEBUG)[:\]]"  # OpenCV's logger
    r"|.*\(EXR_ERR_[A-Z_]+\)"  # OpenEXR's core library
    r"|Warning: Exception raised reading pixel data"  # the OpenEXR bindings
    r"|\[[\w:,#/ -]+ @ (0x)?[0-9a-f]+\]"  # FFmpeg's av_log: [h264 @ 0x55d0...]
    r")"
)


class NativeStderr:
    """The tap on fd 2 (:meth:`start`, :meth:`stop`)."""

    def __init__(self) -> None:
        self._real: int | None = None
        self._thread: threading.Thread | None = None
        self.left_out = 0

    def start(self) -> None:
        if self._real is not None:
            return
        try:
            sys.stderr.flush()
            real = os.dup(2)
            read, write = os.pipe()
            os.dup2(write, 2)
            os.close(write)
        except OSError:
            return  # no fd 2 to tap (a GUI host): nothing to keep out
        self._real = real
        sys.stderr = io.TextIOWrapper(
            os.fdopen(os.dup(real), "wb", buffering=0),
            encoding=sys.stderr.encoding or "utf-8",
            errors="backslashreplace",
            line_buffering=True,
        )
        faulthandler.enable(sys.stderr)  # a crash still says where
        self._thread = threading.Thread(
            target=self._pass_on, args=(read, real), name="neuralfx-native-stderr", daemon=True
        )
        self._thread.start()

    def _pass_on(self, read: int, real: int) -> None:
        with os.fdopen(read, "rb") as pipe:
            for line in pipe:
                if NATIVE_LINE.match(line.decode("utf-8", "replace")):
                    self.left_out += 1
                    continue
                try:
                    os.write(real, line)
                except OSError:
                    pass

    def stop(self) -> None:
        """Give fd 2 back and pass on what is still in the pipe (before the process ends)."""
        if self._real is None:
            return
        sys.stderr.flush()
        os.dup2(self._real, 2)  # closes the pipe's last writer (unless a child holds it)
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        self._real = None


TAP = NativeStderr()
