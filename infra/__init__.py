"""Deployment to AWS: the merge template, the packaging step and its checks (never deployed)."""
