"""SMPTE timecode (ST 12-1) as video files carry it: ``HH:MM:SS:FF``, or ``HH:MM:SS;FF`` for
drop-frame at 29.97 and 59.94 fps, where frame numbers 0 and 1 (0-3 at 59.94) are skipped at
the start of every minute except every tenth, so that the timecode keeps up with the clock.

A video output starts at a later frame of its source (``--frames``), so its timecode is the
source's moved on by that many frames: :func:`offset`.
"""

from __future__ import annotations

import fractions
import re

_TIMECODE = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.])(\d{2,3})$")


def parse(timecode: str) -> tuple[int, int, int, int, bool] | None:
    """``(hours, minutes, seconds, frame, drop-frame spelling)``, or None where it is not a
    timecode."""
    match = _TIMECODE.match(timecode.strip())
    if match is None:
        return None
    hours, minutes, seconds, separator, frame = match.groups()
    return int(hours), int(minutes), int(seconds), int(frame), separator in ";."


def offset(timecode: str, frames: int, fps: fractions.Fraction) -> str | None:
    """``timecode`` moved on by ``frames`` frames at ``fps``; None where it cannot be read (a
    malformed tag is left out of the output rather than stopping the run)."""
    parts, nominal = parse(timecode), round(fps)
    if parts is None or nominal <= 0:
        return None
    hours, minutes, seconds, frame, drop_spelt = parts
    drop = drop_spelt and nominal % 30 == 0 and fps.denominator != 1
    if frame >= nominal or minutes >= 60 or seconds >= 60:
        return None
    count = ((hours * 60 + minutes) * 60 + seconds) * nominal + frame
    skipped = nominal // 15  # 2 at 29.97, 4 at 59.94
    if drop:
        total_minutes = hours * 60 + minutes
        count -= skipped * (total_minutes - total_minutes // 10)
    count = (count + frames) % (24 * (3600 * nominal - (54 * skipped if drop else 0)))
    if drop:  # back from a frame count to the labels that skip numbers
        per_ten = 600 * nominal - 9 * skipped
        per_minute = 60 * nominal - skipped
        tens, rest = divmod(count, per_ten)
        count += 9 * skipped * tens
        if rest >= skipped:
            count += skipped * ((rest - skipped) // per_minute)
    frame = count % nominal
    seconds = count // nominal % 60
    minutes = count // (nominal * 60) % 60
    hours = count // (nominal * 3600)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{';' if drop else ':'}{frame:02d}"
