"""Where a warm delivery of ours spends its time: the runtime with one part switched off at a
time, for `bench_intake`'s rows that say what is left beyond the peer.

This reaches into the runtime (as `subjects.use_in_process_platform` does): the parts are not
settings. Each variant is a runtime of its own, selected per delivery with
`LazyRuntime.serving`, answering through the app's route like the others:

- **no worker thread**: the handler runs in the request's thread, as the peer's does; what is
  lost is the answer in time from a handler that overruns (`intake/worker.py`);
- **store in memory**: the peer's in-memory store instead of the SQLite file, which is
  durable and shared by every process of the machine;
- **no log or metric line**: the summary line and the EMF metrics of each delivery;
- all three at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, TypeVar

from benchmarks.peer.memory_store import InMemoryPersistenceLayer
from benchmarks.subjects import Poster, delivery

T = TypeVar("T")

VARIANTS = {
    "no worker thread": ("thread",),
    "store in memory": ("store",),
    "no log or metric line": ("observation",),
    "none of the three": ("thread", "store", "observation"),
}


class _InThisThread:
    """`workers` as far as the intake uses them, running the work at once in this thread."""

    def submit(self, work: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(work())
        except Exception as exc:
            future.set_exception(exc)
        return future


@contextmanager
def _parts_off(parts: tuple[str, ...]) -> Iterator[None]:
    import chalicelib.runtime.intake.pipeline as pipeline
    from chalicelib.observability import DeliveryObservation, logger

    # The intake's own name for the process's worker pool.
    workers, finish = vars(pipeline)["workers"], DeliveryObservation.finish
    if "thread" in parts:
        setattr(pipeline, "workers", _InThisThread())  # noqa: B010 - not exported by name

    def quiet(self: DeliveryObservation, outcome: str, **_: Any) -> None:
        logger.thread_safe_clear_keys()

    if "observation" in parts:
        DeliveryObservation.finish = quiet  # type: ignore[method-assign]
    try:
        yield
    finally:
        setattr(pipeline, "workers", workers)  # noqa: B010
        DeliveryObservation.finish = finish  # type: ignore[method-assign]


def variant_calls(post: Poster, transport: Any = None) -> dict[str, Callable[[], object]]:
    """A call per variant, each posting a new `vote` delivery to ours with its parts off.

    The runtimes are built now from the environment (the one `post`'s app was loaded with).
    """
    from app import container, registry
    from chalicelib.runtime.composition import build_runtime
    from chalicelib.runtime.idempotency.ledger import DeliveryLedger

    calls: dict[str, Callable[[], object]] = {}
    for name, parts in VARIANTS.items():
        runtime = build_runtime(registry, transport=transport)
        if "store" in parts:
            ledger = runtime.ledger
            runtime.intake._ledger = DeliveryLedger(
                InMemoryPersistenceLayer(), lock_seconds=ledger.lock_seconds, window_seconds=3600
            )

        def call(runtime: Any = runtime, parts: tuple[str, ...] = parts) -> object:
            with container.serving(runtime), _parts_off(parts):
                return post(delivery("vote"))

        calls[f"ours, {name}"] = call
    return calls
