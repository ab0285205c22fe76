"""`make soak`: the reliability claims measured under load, faults and crashes, across processes.

The harness starts the local stack as real processes, all on 127.0.0.1: moto's server as
DynamoDB, the emulator as Dailybot, several app processes sharing one idempotency table (as
Lambda containers share it), a job worker draining the jobs queue they share, and a router
standing where API Gateway stands. It drives
traffic through them in phases (`scenarios.PHASES`), then checks one row per claim
(`rows.ROWS`) against what the platform holds, what every process answered and logged,
and prints the table (`report.py`).

Adding a scenario: a phase is anything with a `name` and `run(run: SoakRun)`; a row is a
function from the finished `SoakRun` to a `Row`. The jobs phase (`phases.DeferredJobs`) shows
the pattern: it drives the soak's own commands (`job_commands.py`) and records what it did in
the journal, and the `crashes` and `nothing lost` rows check it there.
"""
