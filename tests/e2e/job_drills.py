"""The job drills on the app's registry: `DAILYBOT_EXTRA_COMMANDS=tests.e2e.job_drills`."""

from chalicelib.runtime.registry import registry
from tests.runtime.jobs.drills import register

register(registry)
