"""The test process's own work at a lower CPU priority while other processes do what a test waits for."""

from __future__ import annotations

import os
from contextlib import contextmanager, suppress

import psutil


def _threads() -> list[int]:
    """The thread ids of this process, of its Spark JVM (the gateway's process, not the JVMs of processes this
    one started: Airflow's tasks, a cluster's daemons) and of the JVM's Python workers."""
    from pyspark import SparkContext

    procs = [psutil.Process()]
    gateway = SparkContext._gateway
    if gateway is not None and getattr(gateway, "proc", None) is not None:
        with suppress(psutil.Error):
            jvm = psutil.Process(gateway.proc.pid)
            procs += [jvm, *jvm.children(recursive=True)]
    ids = []
    for p in procs:
        with suppress(psutil.Error):
            ids += [t.id for t in p.threads()]
    return ids


@contextmanager
def in_background(nice: int = 10):
    """This process and its Spark JVM at ``nice`` for the block: the processes the test waits for (Airflow's
    tasks, a cluster's job) get the cores first; this process's work meanwhile fills what they leave idle.
    Start them before the block (a child inherits its parent's priority). Threads started in the block inherit
    it too: every thread is set back after."""
    before = os.getpriority(os.PRIO_PROCESS, 0)
    for tid in _threads():
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    try:
        yield
    finally:
        for tid in _threads():
            with suppress(OSError):  # raising a priority back needs CAP_SYS_NICE: without it all stay at ``nice``
                os.setpriority(os.PRIO_PROCESS, tid, before)
