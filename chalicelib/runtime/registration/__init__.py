"""Self-registration: the plan, the stored state, the reconciler, the cold-start check and the
`make sync` command line."""
