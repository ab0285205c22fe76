"""`python -m devstack.local_app`: `chalice local --no-autoreload` with a listen backlog that
holds a burst.

Chalice's local server (`chalice.local.ThreadedHTTPServer`, a `socketserver.TCPServer`) listens
with the standard library's default backlog of 5. A burst of concurrent deliveries overflows
that queue: the kernel drops the extra connection attempts, and clients wait a second or more
for a retransmission, or give up. This launcher raises the server class's `request_queue_size`
(the value `TCPServer.server_activate` passes to `listen()`) before handing the command line to
Chalice's own CLI, so everything else about `chalice local` is unchanged.
"""

from __future__ import annotations

import argparse
import sys
from typing import Final

from chalice.cli import main as chalice_main
from chalice.local import ThreadedHTTPServer

# Connections queued before the server accepts them; Linux caps it at net.core.somaxconn.
BACKLOG: Final = 512


def chalice_arguments(options: argparse.Namespace) -> list[str]:
    """The `chalice` command line this launcher runs."""
    project = ["--project-dir", options.project_dir] if options.project_dir else []
    return [
        *project, "local", "--no-autoreload", "--stage", options.stage,
        "--host", options.host, "--port", str(options.port),
    ]  # fmt: skip


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack.local_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--project-dir", default=None)
    parser.add_argument("--backlog", type=int, default=BACKLOG)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    ThreadedHTTPServer.request_queue_size = options.backlog
    sys.argv = ["chalice", *chalice_arguments(options)]
    result: int | None = chalice_main()
    return result or 0


if __name__ == "__main__":
    raise SystemExit(main())
