"""Tables written side by side: results in order, every started write finished before an error is raised."""

from __future__ import annotations

import threading
import time

import pytest

from jobs.core.parallel import each_table
from jobs.core.settings import Settings


def settings(threads: int) -> Settings:
    return Settings(table_threads=threads, pseudonymization_key="k" * 32)


def test_results_keep_the_items_order_whatever_finishes_first():
    def work(n: int) -> str:
        time.sleep(0.05 * (3 - n))  # the first item finishes last
        return f"table {n}"

    assert each_table(settings(2), work, [0, 1, 2]) == ["table 0", "table 1", "table 2"]


def test_two_tables_are_in_flight_at_once():
    both = threading.Barrier(2, timeout=5)  # fails (BrokenBarrierError) if the second never starts alongside

    def work(n: int) -> int:
        both.wait()
        return n

    assert each_table(settings(2), work, ["a", "b"]) == ["a", "b"]


def test_one_thread_writes_in_the_callers_thread_one_after_another():
    seen = []
    each_table(settings(1), lambda n: seen.append((n, threading.current_thread().name)), [1, 2])
    assert seen == [(1, threading.current_thread().name), (2, threading.current_thread().name)]


def test_after_an_error_no_table_starts_and_the_running_one_finishes_before_it_is_raised():
    started, finished, second_running = [], [], threading.Event()

    def work(n: int) -> int:
        started.append(n)
        if n == 0:
            assert second_running.wait(5)
            raise ValueError("gold/a: audit failed")
        second_running.set()
        time.sleep(0.3)
        finished.append(n)
        return n

    with pytest.raises(ValueError, match="gold/a: audit failed"):
        each_table(settings(2), work, [0, 1, 2, 3])
    assert sorted(started) == [0, 1] and finished == [1]  # 2 and 3 never start; 1 is not left running


def test_threads_must_be_at_least_one():
    with pytest.raises(ValueError):
        settings(0)
