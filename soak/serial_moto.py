"""`python -m soak.serial_moto --port N`: moto's server, answering one request at a time.

DynamoDB applies a conditional write atomically per item: of several concurrent claims of one
delivery (`attribute_not_exists(id) OR ...`), exactly one wins. Moto's threaded server checks
the condition and then writes with nothing held in between, so under load two concurrent
claims can both win (6 races in 100 of 8 writers on this 2-core machine), and the soak would
count a double run that DynamoDB would never allow. Served one request at a time, moto's
conditional writes are atomic again; the soak's rate needs far fewer requests a second than
this serves.
"""

from __future__ import annotations

import argparse

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m soak.serial_moto", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args(argv)
    application = DomainDispatcherApplication(create_backend_app)
    run_simple(
        options.host,
        options.port,
        application,
        threaded=False,
        request_handler=MotoRequestHandler,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
