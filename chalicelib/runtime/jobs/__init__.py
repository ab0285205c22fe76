"""Deferred work: jobs a handler queues with `ctx.defer`, run later, answered by a follow-up.

`message` (what travels on the queue: the delivery itself, the job and its arguments; its
identity), `deferral` (the checks and limits at the `ctx.defer` call and the jobs a run
collects), `queue` (the one `JobQueue` contract, what an attempt's result does to its message,
and the backend a URL names: `sqlite_queue` locally, `sqs_queue` in AWS), `retry` (attempts,
backoff and the queue's redrive limit), `followup` (where a job's result is sent), `runner`
(one attempt of one job, at most once per identity, and its timings), `worker` (the local
process draining a queue, riding out its outages) and `admin` (`make jobs`).
"""
