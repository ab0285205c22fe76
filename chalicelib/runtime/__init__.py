"""The command runtime: intake of deliveries, registry of handlers, context, replies."""

from chalicelib.runtime import powertools_idempotency

# Before any runtime module imports Powertools idempotency: keeps boto3 out of cold starts
# that do not use the DynamoDB store.
powertools_idempotency.install()
