"""The Chalice app and composition root: a table of contents of the entry points.

It loads this deployment's commands, hands their registry to the runtime, and declares every
way in: Dailybot's deliveries, the health check, the deferred jobs' queue, and the command
lines: `make sync` (`python app.py sync`), the local job worker (`python app.py work`) and
`make jobs` (`python app.py jobs`, the dead-letter queue).
"""

from __future__ import annotations

import sys

from chalice.app import Chalice, Response, SQSEvent

from chalicelib.commands import load_commands
from chalicelib.runtime.composition import LazyRuntime
from chalicelib.runtime.intake.chalice_adapter import (
    DELIVERY_CONTENT_TYPES,
    chalice_response,
    current_request,
    incoming_request,
    keep_request,
)

JOBS_QUEUE_NAME = "dailybot-runtime-jobs"
"""The SQS queue the job function drains (the deployment template names the real one)."""


# A command line (`python app.py sync`) reports a bad declaration in one line, not a traceback.
registry = load_commands(command_line=__name__ == "__main__")
container = LazyRuntime(registry)
"""The runtime of this process (one Lambda container, one `chalice local`)."""

# Chalice's own logger has the app's name, which is also the Powertools service logger's:
# Chalice must leave its level and handlers to observability.
app = Chalice(app_name="dailybot-runtime", configure_logs=False)
app.register_middleware(keep_request, "http")


@app.route("/dailybot", methods=["POST"], content_types=DELIVERY_CONTENT_TYPES)
def dailybot_delivery() -> Response:
    """Every Dailybot delivery: command invocations, event callbacks, scheduled executions."""
    request = incoming_request(current_request(app))
    return chalice_response(container.answer(request))


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    """Liveness, without touching the platform."""
    return {"status": "ok"}


@app.on_sqs_message(queue=JOBS_QUEUE_NAME, batch_size=1, name="job_runner")
def job_runner(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    """Deferred jobs, one per invocation; failures are reported per message for retry."""
    return container.run_jobs(record.to_dict() for record in event)


def main(argv: list[str]) -> int:
    """The command lines: `sync`, `work` (the local job worker), `jobs` (dead letters).

    Their modules are imported here only: a Lambda container never runs a command line, and
    argparse with the command modules would add to every cold start. A setting or a queue
    that keeps a command from running is said in one line, not a traceback.
    """
    from chalicelib.runtime.jobs import admin, worker  # noqa: PLC0415
    from chalicelib.runtime.jobs.queue import QueueUnavailable, open_queue  # noqa: PLC0415
    from chalicelib.runtime.registration import sync  # noqa: PLC0415
    from chalicelib.settings import Settings, SettingsError  # noqa: PLC0415

    command, args = (argv[0] if argv else ""), argv[1:]
    try:
        if command == "sync":
            return sync.main(args, declarations=registry)
        if command == "work":
            runtime = container.get()
            return worker.main(args, runner=runtime.job_runner, queue=runtime.jobs)
        if command == "jobs":
            return admin.main(args, open_queue(Settings.from_env().jobs_queue))
    except (SettingsError, QueueUnavailable) as error:
        print(f"python app.py {command}: {error}", file=sys.stderr)
        return 2 if isinstance(error, SettingsError) else 1
    print("usage: python app.py sync|work|jobs [options]", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover - the Makefile runs `python app.py ...`
    sys.exit(main(sys.argv[1:]))
