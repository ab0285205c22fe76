"""Self-registration: the installations (organizations using the deployment), the plan, the
stored state, the reconciler, the per-organization check of each delivery and the `make sync`
command line."""
