"""How torch's OpenMP threads wait between parallel regions, chosen before torch loads.

libgomp's default is to spin for a long while at the end of every parallel region. When another
process holds a core (Blender rendering beside a run), the thread that shares that core is
descheduled and the others spin waiting for it: the README's main job beside one busy process
took 41 s (44 CPU seconds) with spinning waiters and 12 s with passive ones on two cores.
Passive waiting has its own price on an idle machine: a frame is hundreds of short parallel
regions, and a sleeping thread takes a while to wake for each. A short spin (1000 turns) on an
idle machine: the main job in 7.15 s against 7.91 s with passive waiting; but beside a busy
process 12.02 against 11.23 s (``bench/vs_peer.py --waiting``, 2026-12-06, two cores).

So the command looks at the machine as it starts: another task running now means passive
waiting, an idle machine a short spin. A value the user set is kept. It has to be decided
before torch loads libgomp, which reads these variables once.
"""

from __future__ import annotations

import os
import time

WAITING_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
#: on an idle machine: wait briefly for the next parallel region, then sleep
IDLE_WAITING = {"GOMP_SPINCOUNT": "1000"}
#: when other work shares the cores, and on machines this process cannot look at (the spin
#: count too: libgomp lets GOMP_SPINCOUNT override the policy, and processes that a run
#: starts, a local Ray cluster's, inherit this process's environment)
SHARED_WAITING = {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "0"}

_chosen: dict[str, str] = {}


def others_running(reads: int = 5, loadavg: str = "/proc/loadavg") -> int | None:
    """How many tasks other than the calling thread are running or ready to run, the fewest
    seen over a few reads a millisecond apart (so a process that merely starts and exits then
    does not count); None where the system does not say (not Linux)."""
    fewest = None
    for _ in range(reads):
        try:
            with open(loadavg) as f:
                runnable = int(f.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return None
        fewest = runnable - 1 if fewest is None else min(fewest, runnable - 1)
        time.sleep(0.001)
    return max(fewest, 0)


def choose_waiting(environ=os.environ, others: int | None = -1) -> dict[str, str]:
    """Set how OpenMP threads wait in ``environ`` unless the user did; returns what it set.
    ``others``: tasks running besides this one (looked up when left at -1)."""
    if any(k in environ for k in WAITING_VARIABLES):
        return {}
    if others == -1:
        others = others_running()
    chosen = IDLE_WAITING if others == 0 else SHARED_WAITING
    environ.update(chosen)
    if environ is os.environ:
        _chosen.update(chosen)
    return dict(chosen)


def waiting_for_actors(environ=os.environ) -> dict[str, str]:
    """The waiting to give Ray actors, on this machine or others: the user's own settings,
    else passive. Actors share machines with each other and with other work, and what this
    process saw of its own machine as it started says nothing about theirs."""
    user = {k: environ[k] for k in WAITING_VARIABLES if k in environ and k not in _chosen}
    return user or dict(SHARED_WAITING)


def describe(environ=os.environ) -> str:
    """How OpenMP threads wait in this process, for ``neuralfx doctor``."""
    if "OMP_WAIT_POLICY" in environ:
        return environ["OMP_WAIT_POLICY"]
    if "GOMP_SPINCOUNT" in environ:
        return f"spin {environ['GOMP_SPINCOUNT']}"
    return "(OpenMP's default)"
