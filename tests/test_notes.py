"""dltool.notes: the library's notes reach the caller's sink, on its own thread and on workers,
and go to ``logging`` when nobody set one."""

import logging
import threading

import pytest

from dltool.core.threads import run_rows
from dltool.notes import SINK, note


@pytest.fixture
def sink():
    said = []
    token = SINK.set(lambda level, message: said.append((level, message, threading.current_thread().name)))
    yield said
    SINK.reset(token)


def test_without_a_sink_notes_go_to_the_named_logger(caplog):
    with caplog.at_level(logging.INFO, logger="dltool.jit"):
        note("info", "compiling", "dltool.jit")
        note("warning", "no cache", "dltool.jit")
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("dltool.jit", logging.INFO, "compiling"), ("dltool.jit", logging.WARNING, "no cache")]


def test_a_sink_takes_the_notes_instead_of_logging(sink, caplog):
    with caplog.at_level(logging.INFO):
        note("warning", "no cache", "dltool.jit")
    assert [s[:2] for s in sink] == [("warning", "no cache")]
    assert caplog.records == []


def test_worker_threads_of_run_rows_reach_the_callers_sink(sink):
    def kernel(lo, hi):
        note("info", f"rows {lo}-{hi}")
        return hi - lo

    assert sum(run_rows(kernel, 8, threads=2)) == 8
    assert sorted(s[1] for s in sink) == sorted(f"rows {8 * k // 8}-{8 * (k + 1) // 8}" for k in range(8))
    assert {s[2] for s in sink} != {threading.current_thread().name}  # they came from the workers


def test_the_sink_belongs_to_the_context_that_set_it(sink):
    """A thread started without a copy of the context (not through run_rows) does not see it."""
    seen = []
    t = threading.Thread(target=lambda: seen.append(SINK.get()))
    t.start()
    t.join()
    assert seen == [None]
