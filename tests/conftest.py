"""Test-wide setup: a fake AWS environment set before anything imports boto3 or the app."""

from __future__ import annotations

import os

# botocore probes the instance metadata address without these; that address is off limits.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "DailybotRuntimeTests")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "dailybot-runtime-tests")
