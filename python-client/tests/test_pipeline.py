"""The ingest's overlapped stages (`ingest._Pipeline`): order kept, errors raised, one request
in flight."""

import threading

import pytest

from elastichash.ingest import _Pipeline


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_map_keeps_the_order(threads: int) -> None:
    pipeline = _Pipeline(threads)
    try:
        assert pipeline.map(lambda x: x * x, list(range(50))) == [x * x for x in range(50)]
    finally:
        pipeline.close()


def test_a_send_waits_for_the_one_in_flight_and_its_error_is_raised() -> None:
    pipeline = _Pipeline(2)
    log: list[str] = []
    running = threading.Lock()
    gate = threading.Event()

    def send(name: str) -> None:
        assert running.acquire(blocking=False), "two requests in flight"
        if name == "second":
            gate.wait(10)  # held in flight until the test has looked
        log.append(name)
        running.release()
        if name == "bad":
            raise RuntimeError("the node refused the bulk request")

    try:
        pipeline.send(send, "first")
        pipeline.send(send, "second")
        assert log == ["first"]  # the second is in flight, the first answered
        gate.set()
        pipeline.send(send, "bad")
        with pytest.raises(RuntimeError, match="refused the bulk"):
            pipeline.wait()
        assert log == ["first", "second", "bad"]
        pipeline.wait()  # nothing in flight any more
    finally:
        pipeline.close()


def test_one_thread_runs_every_stage_in_the_caller_s_thread() -> None:
    pipeline = _Pipeline(1)
    caller = threading.get_ident()
    seen: list[int] = []
    pipeline.send(lambda: seen.append(threading.get_ident()))
    assert pipeline.map(lambda _: threading.get_ident(), [0]) == [caller] and seen == [caller]
    with pytest.raises(ValueError, match="at least 1"):
        _Pipeline(0)
