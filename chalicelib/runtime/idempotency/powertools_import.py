"""Powertools idempotency without its package `__init__`, which imports boto3 eagerly.

Python runs a package's `__init__` before any of its submodules, and Powertools' idempotency
package re-exports the DynamoDB layer, so merely importing the persistence base would cost
boto3's import (~0.2 s) on every cold start, even with the SQLite store. `install()` registers
the package module without running its `__init__`; its public names resolve lazily from their
submodules, so the DynamoDB layer (and boto3) load only when asked for.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Final

PACKAGE: Final = "aws_lambda_powertools.utilities.idempotency"

# Where each name the package's `__init__` would export really lives.
_EXPORTS: Final = {
    "BasePersistenceLayer": f"{PACKAGE}.persistence.base",
    "DynamoDBPersistenceLayer": f"{PACKAGE}.persistence.dynamodb",
    "IdempotencyConfig": f"{PACKAGE}.config",
    "IdempotentHookFunction": f"{PACKAGE}.hook",
    "idempotent": f"{PACKAGE}.idempotency",
    "idempotent_function": f"{PACKAGE}.idempotency",
}


def install() -> None:
    """Make the idempotency package importable without importing boto3. Idempotent."""
    if PACKAGE in sys.modules:
        return
    importlib.import_module("aws_lambda_powertools.utilities")
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None:  # pragma: no cover - Powertools is a pinned dependency
        raise ImportError(PACKAGE)
    package = importlib.util.module_from_spec(spec)

    def resolve(name: str) -> object:
        if name not in _EXPORTS:
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        setattr(package, name, value)
        return value

    package.__getattr__ = resolve  # type: ignore[method-assign]
    package.__all__ = tuple(_EXPORTS)  # type: ignore[attr-defined]
    sys.modules[PACKAGE] = package
    setattr(sys.modules["aws_lambda_powertools.utilities"], "idempotency", package)  # noqa: B010


def submodule(name: str) -> ModuleType:
    """A submodule of the idempotency package (e.g. `"base"`), without the eager `__init__`."""
    install()
    return importlib.import_module(f"{PACKAGE}.{name}")
