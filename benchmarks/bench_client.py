"""Per-call overhead of `DailybotClient` against a bare `httpx.Client`, and its TCP connections.

A small HTTP/1.1 keep-alive server answers the storage endpoint in a child process on
127.0.0.1. Rounds of `storage_get` through the client and of the same POST through a bare
`httpx.Client` alternate, and the medians of their per-call times are compared. Then a fresh
client makes 100 sequential calls and the server says how many TCP connections carried them.

Run: `.venv/bin/python -m benchmarks.bench_client [--calls N] [--rounds R]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from benchmarks import report
from benchmarks.local_processes import free_port
from benchmarks.report import Row, us
from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.deadline import Deadline
from chalicelib.redaction import Secret

API_KEY = "bench-api-key-0000000000"
NAMESPACE = "bench"
STORAGE_BODY = {"op": "get", "params": {"key": "color"}, "namespace": NAMESPACE}
STORAGE_ANSWER = json.dumps({"color": "blue"}).encode()


# -- the server (child process) ------------------------------------------------------------


class _Counter:
    lock = threading.Lock()
    connections = 0


class _StorageHandler(BaseHTTPRequestHandler):
    """One instance serves one TCP connection, for as many keep-alive requests as it carries."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, delayed ACKs add 40 ms to each.
    disable_nagle_algorithm = True
    counted = False

    def do_POST(self) -> None:
        if not self.counted:
            self.counted = True
            with _Counter.lock:
                _Counter.connections += 1
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._answer(STORAGE_ANSWER)

    def do_GET(self) -> None:
        with _Counter.lock:
            count = _Counter.connections
        self._answer(json.dumps({"connections": count}).encode())

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(port: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), _StorageHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # Stop when the parent goes away (stdin closes), even if it was killed before its cleanup.
    sys.stdin.buffer.read()
    server.shutdown()


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_client", "--serve", str(port)],
        stdin=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}/v1/"
    for _ in range(100):
        try:
            httpx.get(base_url + "_connections", timeout=0.5)
            return process, base_url
        except httpx.TransportError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError("the benchmark server did not start")


def connections_so_far(base_url: str) -> int:
    return int(httpx.get(base_url + "_connections", timeout=2).json()["connections"])


# -- the measurements ----------------------------------------------------------------------


def per_call_seconds(call: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls


def compare(base_url: str, *, calls: int, rounds: int, deadline: bool) -> tuple[float, float]:
    """Median per-call seconds of (client, bare) over interleaved rounds."""
    timeout = httpx.Timeout(5.0, connect=2.0)
    client = DailybotClient(base_url=base_url, api_key=Secret(API_KEY), timeout=timeout)
    bare = httpx.Client(
        base_url=base_url,
        headers={"X-API-KEY": API_KEY, "Accept": "application/json"},
        timeout=timeout,
    )

    def through_client() -> object:
        return client.storage_get(
            "color",
            namespace=NAMESPACE,
            deadline=Deadline.after(10.0) if deadline else None,
        )

    def through_bare() -> object:
        response = bare.post("platform/storage/", json=STORAGE_BODY)
        response.raise_for_status()
        return response.json()["color"]

    assert through_client() == through_bare() == "blue"
    per_call_seconds(through_client, calls)
    per_call_seconds(through_bare, calls)
    client_times: list[float] = []
    bare_times: list[float] = []
    for round_number in range(rounds):
        # Alternate which goes first so neither always runs on a warmer machine.
        order = [(through_client, client_times), (through_bare, bare_times)]
        if round_number % 2:
            order.reverse()
        for call, times in order:
            times.append(per_call_seconds(call, calls))
    client.close()
    bare.close()
    return statistics.median(client_times), statistics.median(bare_times)


def count_connections(base_url: str, calls: int) -> int:
    before = connections_so_far(base_url)
    with DailybotClient(base_url=base_url, api_key=Secret(API_KEY)) as client:
        for _ in range(calls):
            client.storage_get("color", namespace=NAMESPACE)
    return connections_so_far(base_url) - before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--calls", type=int, default=100 if report.quick() else 200, help="calls per round"
    )
    parser.add_argument("--rounds", type=int, default=3 if report.quick() else 9)
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0

    process, base_url = start_server()
    try:
        for label, deadline in (("", False), (" (with deadline)", True)):
            client_s, bare_s = compare(
                base_url, calls=args.calls, rounds=args.rounds, deadline=deadline
            )
            report.emit(
                Row(
                    f"platform client per call{label}, local HTTP server "
                    f"(median of {args.rounds} rounds x {args.calls} calls)",
                    us(client_s),
                    "",
                    f"bare `httpx.Client`: {us(bare_s)}",
                    report.ratio(client_s, bare_s, "bare"),
                    "≤ 1.10x bare",
                )
            )
        connections = count_connections(base_url, 100)
        report.emit(Row("TCP connections for 100 sequential client calls", str(connections),
                        "", "", "", "1"))  # fmt: skip
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
