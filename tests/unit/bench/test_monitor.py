"""The benchmark's CPU figure keeps the time of processes that ended under a living parent (like Python
workers under Spark's JVM): a process tree sum would lose it and could even go negative."""

from __future__ import annotations

import subprocess
import sys
import time

from bench.monitor import Sampler, measured

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass\n"


def test_cpu_of_a_grandchild_that_ended_is_kept():
    # the grandchild burns 0.6 s of CPU and ends; its parent (the shell) lives on and reaps it. The sampler
    # watches the shell's tree only: the session's Spark JVM, a child of this process, would add its own CPU
    parent = subprocess.Popen(["bash", "-c", f'"{sys.executable}" -c "$BURN"; sleep 5'], env={"BURN": BURN})
    sampler = Sampler(interval=0.05, root=parent.pid)
    try:
        with measured(sampler) as m:
            time.sleep(2.0)
        assert parent.poll() is None  # still alive: nothing was reaped by this process
    finally:
        parent.kill()
        parent.wait()
        sampler.stop()
    assert 0.5 <= m.cpu_s < 1.5  # the burn once, not counted twice, nothing else
    assert m.wall_s >= 2.0 and m.peak_rss_mib > 0


def test_the_sampler_outlives_the_process_it_watches():
    # the watched process ends (a benchmark stage's process, a killed test process): the sampler keeps running,
    # with the CPU it saw, instead of its thread dying on NoSuchProcess
    child = subprocess.Popen([sys.executable, "-c", BURN])
    sampler = Sampler(interval=0.02, root=child.pid)
    try:
        child.wait()
        time.sleep(0.3)  # samples of a process that is gone
        assert sampler._thread.is_alive()
        assert sampler.cpu_seconds() <= 1.5
    finally:
        sampler.stop()
