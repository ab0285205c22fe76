"""The AWS SDK data the runtime's session loads first: the few operations it calls, no more.

    python -m infra.aws_models            write chalicelib/aws_models/ from the installed botocore
    python -m infra.aws_models --check    exit 1 if what is there differs from what it would write

A botocore client is built from its service's whole model: SSM's holds about 150 operations
and loads in tens of milliseconds, to read two parameters. On a cold start in AWS that is a
tenth of the time to the first answer. botocore looks for its data files in the paths of its
`data_path` setting (`AWS_DATA_PATH`) before its own, so `chalicelib/aws_session.py` puts
`chalicelib/aws_models/` there, holding:

- the service models of DynamoDB, SSM and Secrets Manager with only the operations the
  runtime calls (through Powertools' DynamoDB layer and Parameters) and the shapes they use,
  copied from botocore's own models, without their documentation;
- the endpoint table (`endpoints.json`) with every partition and region, and only those
  services (and STS, which credential providers may call).

Anything else (endpoint rules, retry rules, other services) still comes from botocore. The
session's loader (`chalicelib/aws_loader.py`) takes these models at the version written here,
even when the botocore in use has a newer one.
`tests/deploy/test_aws_models.py` fails when the files differ from what this writes from the
installed botocore, so an upgrade of botocore brings the copies along.
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import botocore  # type: ignore[import-untyped]

ROOT: Final = Path(__file__).resolve().parent.parent
OUTPUT: Final = ROOT / "chalicelib" / "aws_models"

# Service, API version, and the operations the runtime calls on it.
SERVICES: Final[Mapping[tuple[str, str], frozenset[str]]] = {
    # DescribeEndpoints serves endpoint discovery, which DynamoDB's operations support; Scan
    # lists the installations (`make sync`, with the operator's credentials).
    ("dynamodb", "2012-08-10"): frozenset(
        {"PutItem", "UpdateItem", "GetItem", "DeleteItem", "DescribeEndpoints", "Scan"}
    ),
    ("ssm", "2014-11-06"): frozenset({"GetParameter", "GetParameters"}),
    ("secretsmanager", "2017-10-17"): frozenset({"GetSecretValue"}),
}
ENDPOINT_SERVICES: Final = frozenset({"dynamodb", "ssm", "secretsmanager", "sts"})


def _botocore_data() -> Path:
    return Path(botocore.__file__).parent / "data"


def _load(path: Path) -> Any:
    """A botocore data file, plain or gzipped as botocore ships it."""
    packed = path.with_name(path.name + ".gz")
    if packed.exists():
        return json.loads(gzip.decompress(packed.read_bytes()))
    return json.loads(path.read_text(encoding="utf-8"))


def _undocumented(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _undocumented(v) for k, v in value.items() if k != "documentation"}
    if isinstance(value, list):
        return [_undocumented(item) for item in value]
    return value


def _referenced(shape: Mapping[str, Any]) -> Iterator[str]:
    for key in ("member", "key", "value"):
        if key in shape:
            yield shape[key]["shape"]
    for member in shape.get("members", {}).values():
        yield member["shape"]


def trimmed_model(model: Mapping[str, Any], operations: frozenset[str]) -> dict[str, Any]:
    """`model` with only `operations` and the shapes they reach (inputs, outputs, errors)."""
    missing = operations - set(model["operations"])
    if missing:
        raise ValueError(f"the model has no operation {sorted(missing)}")
    kept = {name: model["operations"][name] for name in sorted(operations)}
    pending = [
        ref["shape"]
        for operation in kept.values()
        for ref in (operation.get("input"), operation.get("output"), *operation.get("errors", []))
        if ref
    ]
    shapes: set[str] = set()
    while pending:
        name = pending.pop()
        if name not in shapes:
            shapes.add(name)
            pending.extend(_referenced(model["shapes"][name]))
    trimmed: dict[str, Any] = _undocumented({
        "version": model.get("version", "2.0"),
        "metadata": model["metadata"],
        "operations": kept,
        "shapes": {name: model["shapes"][name] for name in sorted(shapes)},
    })  # fmt: skip
    return trimmed


def trimmed_endpoints(endpoints: Mapping[str, Any]) -> dict[str, Any]:
    """The endpoint table with every partition, and only the services the session calls."""
    partitions = [
        {
            **partition,
            "services": {
                name: partition["services"][name]
                for name in sorted(ENDPOINT_SERVICES & set(partition["services"]))
            },
        }
        for partition in endpoints["partitions"]
    ]
    return {**endpoints, "partitions": partitions}


def generated() -> dict[str, str]:
    """Every file under `chalicelib/aws_models/` (relative path -> text), from botocore."""
    data = _botocore_data()
    files = {
        f"{service}/{version}/service-2.json": trimmed_model(
            _load(data / service / version / "service-2.json"), operations
        )
        for (service, version), operations in SERVICES.items()
    }
    files["endpoints.json"] = trimmed_endpoints(_load(data / "endpoints.json"))
    return {
        path: json.dumps(content, separators=(",", ":"), sort_keys=True) + "\n"
        for path, content in files.items()
    }


def written(output: Path = OUTPUT) -> dict[str, str]:
    """What is under `output` now, as `generated` answers it."""
    return {
        str(path.relative_to(output)): path.read_text(encoding="utf-8")
        for path in sorted(output.rglob("*.json"))
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.aws_models", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    files = generated()
    if args.check:
        current = written() == files
        print("chalicelib/aws_models is " + ("current" if current else "out of date"))
        return 0 if current else 1
    for path, text in files.items():
        target = OUTPUT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
