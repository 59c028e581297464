"""Wall time, CPU time and peak memory of a block of code, over this process and its children (the JVM).

CPU: user + system seconds of every process seen in the tree (psutil), each counted at its last sample:
a Python worker or browser that ended keeps the CPU it had used (its parent, not this process, reaps it,
so ``children_*`` times would miss it and a tree sum would go down). Memory: the process tree (Python +
Spark's JVM + Python workers, see ``tree_rss_bytes``), sampled every ``interval`` seconds by a thread; the
peak is the largest sample.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil


def _tree(root: int | None = None) -> list[psutil.Process]:
    """The process and its descendants; none once it has ended (the sampler's thread outlives what it watches:
    it died on ``NoSuchProcess`` and sampled nothing more)."""
    try:
        top = psutil.Process(root)
        return [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _pss_bytes(p: psutil.Process) -> int:
    """Proportional set size from ``/proc/<pid>/smaps_rollup`` (Linux); RSS where it cannot be read."""
    try:
        with open(f"/proc/{p.pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return p.memory_info().rss


def tree_memory(root: int | None = None) -> tuple[int, int]:
    """(memory of the process tree, of its JVMs alone): PSS of the Python processes (Spark's workers are
    forked from one daemon and share pages: a sum of RSS counts those pages in each); RSS of the JVM, whose
    pages are private (PSS = RSS within 0.1 % here) and whose PSS takes ~0.1 s of kernel time to read."""
    total = java = 0
    for p in _tree(root):
        try:
            if p.name().startswith("java"):
                rss = p.memory_info().rss
                total, java = total + rss, java + rss
            else:
                total += _pss_bytes(p)
        except psutil.Error:
            continue
    return total, java


def tree_rss_bytes() -> int:
    return tree_memory()[0]


@dataclass
class Measure:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mib: float = 0.0
    peak_jvm_rss_mib: float = 0.0  # the Spark driver's JVM (its executors too in local mode)
    extra: dict = field(default_factory=dict)


class Sampler:
    """A daemon thread that keeps the peak RSS of the process tree since the last ``reset``. ``root``: the
    tree's top process, this one by default (a test measures a tree of its own, not the session's JVM)."""

    def __init__(self, interval: float = 0.25, root: int | None = None):
        self.interval, self.root, self.peak, self.peak_java = interval, root, 0, 0
        self._cpu: dict[tuple[int, float], float] = {}  # (pid, start time) -> CPU seconds at its last sample
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by every process seen in the tree (never decreases)."""
        with self._lock:
            for p in _tree(self.root):
                try:
                    with p.oneshot():
                        t, key = p.cpu_times(), (p.pid, p.create_time())
                except psutil.Error:
                    continue
                self._cpu[key] = max(self._cpu.get(key, 0.0), t.user + t.system)
            return sum(self._cpu.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            total, java = tree_memory(self.root)
            self.peak, self.peak_java = max(self.peak, total), max(self.peak_java, java)
            self.cpu_seconds()
            self._stop.wait(self.interval)

    def reset(self) -> None:
        self.peak, self.peak_java = tree_memory(self.root)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def measured(sampler: Sampler):
    """``with measured(s) as m:`` fills ``m`` (wall, CPU, peak RSS of the block) when the block ends."""
    m = Measure()
    sampler.reset()
    cpu0, t0 = sampler.cpu_seconds(), time.perf_counter()
    try:
        yield m
    finally:
        m.wall_s = round(time.perf_counter() - t0, 2)
        m.cpu_s = round(sampler.cpu_seconds() - cpu0, 2)
        total, java = tree_memory(sampler.root)
        m.peak_rss_mib = round(max(sampler.peak, total) / 2**20, 1)
        m.peak_jvm_rss_mib = round(max(sampler.peak_java, java) / 2**20, 1)
