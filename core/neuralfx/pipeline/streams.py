"""Bounded, ordered hand-offs between the pipeline's threads."""

from __future__ import annotations

import collections
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor


def ordered_map(
    pool: ThreadPoolExecutor, fn: Callable, items: Iterable, lookahead: int
) -> Iterator:
    """``map(fn, items)`` on ``pool``, in order, with at most ``lookahead`` calls in flight."""
    pending: collections.deque[Future] = collections.deque()
    it = iter(items)
    try:
        for item in it:
            pending.append(pool.submit(fn, item))
            if len(pending) >= lookahead:
                break
        while pending:
            fut = pending.popleft()
            for item in it:
                pending.append(pool.submit(fn, item))
                break
            yield fut.result()
    finally:
        for fut in pending:
            fut.cancel()
        close = getattr(it, "close", None)
        if close is not None:
            close()


def background(make: Callable[[], Iterator], maxsize: int) -> Iterator:
    """Run the iterator made by ``make`` in a thread, ``maxsize`` items ahead of the reader."""
    q: queue.Queue = queue.Queue(maxsize=maxsize)
    stop = threading.Event()
    end = object()

    def produce() -> None:
        try:
            for item in make():
                while not stop.is_set():
                    try:
                        q.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((end, None))
        except BaseException as exc:  # handed to the reader
            q.put((end, exc))

    thread = threading.Thread(target=produce, name="neuralfx-video-decode", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = q.get()
            if item is end:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
