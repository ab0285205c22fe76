"""Command modules with a declaration the platform would refuse, each loaded on its own with
`DAILYBOT_EXTRA_COMMANDS`: importing one fails, naming the handler and the fix."""
