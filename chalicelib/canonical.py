"""The canonical JSON of a value and its sha256: equal values, equal text, equal hashes.

Delivery identities, schedule and hook fingerprints all derive from this one definition, so
two spellings of the same value (key order, spacing) never count as a difference.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, text kept as text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_hash(value: Any) -> str:
    """sha256 (hex) of the canonical JSON of `value`."""
    # JSON may carry lone surrogates (`"\ud800"`), which strict UTF-8 cannot encode.
    return hashlib.sha256(canonical_json(value).encode("utf-8", "surrogatepass")).hexdigest()
