"""De-duplication over Powertools idempotency: the delivery ledger, its stores, and the lock
that shares their table.

Importing this package first makes Powertools' idempotency package importable without its
eager `__init__` (which imports boto3), so the SQLite store keeps boto3 off cold starts.
"""

from chalicelib.runtime.idempotency import powertools_import

powertools_import.install()
