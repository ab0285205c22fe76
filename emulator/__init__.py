"""Local emulator of the Dailybot Commands Platform (development and tests only, never deployed).

It serves the platform API that commands call and plays Dailybot's side by calling commands:
invocations, scheduled executions and event callbacks. It serves the playground page, answers
only loopback hosts and its own pages, and has a command line (``serve``, ``trigger``,
``invoke``, ``replay``). See ``emulator/README.md``.
"""
