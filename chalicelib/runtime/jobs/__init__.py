"""Deferred work: jobs a handler queues with `ctx.defer`, run later, answered by a follow-up.

`message` (what travels on the queue and its identity), `deferral` (the checks at the
`ctx.defer` call and the jobs a run collects), `queue` (the `JobQueue` interface and the
backends: `sqlite_queue` locally, `sqs_queue` in AWS), `retry` (the schedule of attempts),
`followup` (where a job's result is sent), `runner` (one run of one job, exactly once),
`worker` (the local process draining the SQLite queue) and `admin` (`make jobs`).
"""
