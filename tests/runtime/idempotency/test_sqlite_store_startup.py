"""Several containers opening one new SQLite idempotency file at the same moment."""

from __future__ import annotations

import threading
from pathlib import Path

from chalicelib.runtime.idempotency.sqlite_store import SQLitePersistenceLayer

STARTS = 30
CONTAINERS = 4


def test_concurrent_first_opens_of_a_new_file_all_succeed(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    for attempt in range(STARTS):
        path = tmp_path / f"store-{attempt}.sqlite3"
        layers = [SQLitePersistenceLayer(path) for _ in range(CONTAINERS)]
        start = threading.Barrier(CONTAINERS)

        def open_store(layer: SQLitePersistenceLayer, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                layer._connect()
            except BaseException as exc:  # reported below, in the test thread
                errors.append(exc)

        threads = [threading.Thread(target=open_store, args=(layer,)) for layer in layers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        for layer in layers:
            layer.close()
    assert errors == []
