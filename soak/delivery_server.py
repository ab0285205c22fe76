"""An HTTP server on 127.0.0.1 that hands every `POST` to a function, where API Gateway
stands in front of the app: the soak's router and the end-to-end tests' gateway use it.

It passes on the body and the headers a delivery needs, answers what the function returns,
serves each request in its own thread, and queues a burst of connections instead of
dropping them (the standard library's default listen backlog is 5).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

DELIVERY_HEADERS: Final = ("content-type", "x-dailybot-signature")
BACKLOG: Final = 512

# (body, delivery headers) -> (status, JSON body)
Handle = Callable[[bytes, dict[str, str]], tuple[int, bytes]]


class _Server(ThreadingHTTPServer):
    request_queue_size = BACKLOG
    daemon_threads = True


class DeliveryServer:
    """Serves `POST` on 127.0.0.1:`port` with `handle` until `stop()`."""

    def __init__(self, port: int, handle: Handle) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items() if k.lower() in DELIVERY_HEADERS}
                status, content = handle(body, headers)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # whoever handles the requests records them

        self._server = _Server(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}/dailybot"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
