"""Wall time, CPU time and peak memory of a block of code, over this process and its children (the JVM).

CPU: user + system seconds of the process tree (psutil; children that ended are counted through
``cpu_times().children_*``). Memory: the RSS of the tree (Python + Spark's JVM + Python workers), sampled
every ``interval`` seconds by a thread; the peak is the largest sample.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil


def _tree() -> list[psutil.Process]:
    me = psutil.Process()
    return [me, *me.children(recursive=True)]


def tree_cpu_seconds() -> float:
    total = 0.0
    for p in _tree():
        try:
            t = p.cpu_times()
            total += t.user + t.system
            if p.pid == psutil.Process().pid:
                total += t.children_user + t.children_system
        except psutil.Error:
            continue
    return total


def tree_rss_bytes() -> int:
    total = 0
    for p in _tree():
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


@dataclass
class Measure:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mib: float = 0.0
    extra: dict = field(default_factory=dict)


class Sampler:
    """A daemon thread that keeps the peak RSS of the process tree since the last ``reset``."""

    def __init__(self, interval: float = 0.25):
        self.interval, self.peak = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_bytes())
            self._stop.wait(self.interval)

    def reset(self) -> None:
        self.peak = tree_rss_bytes()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def measured(sampler: Sampler):
    """``with measured(s) as m:`` fills ``m`` (wall, CPU, peak RSS of the block) when the block ends."""
    m = Measure()
    sampler.reset()
    cpu0, t0 = tree_cpu_seconds(), time.perf_counter()
    try:
        yield m
    finally:
        m.wall_s = round(time.perf_counter() - t0, 2)
        m.cpu_s = round(tree_cpu_seconds() - cpu0, 2)
        m.peak_rss_mib = round(max(sampler.peak, tree_rss_bytes()) / 2**20, 1)
