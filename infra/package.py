"""`make package`: the deployment artefacts for one stage, built by `chalice package`.

Writes `build/package/sam.json` (the SAM template merged with `infra/resources.json`) and
`build/package/deployment.zip`, then trims from the zip what the Lambda Python runtime already
ships (and any local bytecode) and reports what is left. Never talks to AWS: Chalice only
needs a region name to render ARNs, so a placeholder region is set when none is configured.

    python -m infra.package [--stage prod] [--output build/package]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_STAGE: Final = "prod"
DEFAULT_OUTPUT: Final = ROOT / "build" / "package"
MERGE_TEMPLATE: Final = ROOT / "infra" / "resources.json"
TEMPLATE_NAME: Final = "sam.json"
ZIP_NAME: Final = "deployment.zip"
MIB: Final = 1024 * 1024

# Distributions the Lambda Python runtime already provides (boto3 and its dependencies), by
# the top-level names they install. aws-xray-sdk depends on botocore, so pip pulls all of it
# in (about 16 MB of the zip); the runtime's own copy serves it just as well.
RUNTIME_PROVIDED: Final[dict[str, tuple[str, ...]]] = {
    "boto3": ("boto3",),
    "botocore": ("botocore",),
    "s3transfer": ("s3transfer",),
    "jmespath": ("jmespath",),
    "python_dateutil": ("dateutil",),
    "six": ("six.py",),
    "urllib3": ("urllib3",),
}
# What the function cannot start without: checked after trimming.
REQUIRED_TOP_LEVEL: Final = (
    "app.py",
    "chalicelib",
    "httpx",
    "aws_lambda_powertools",
    "aws_xray_sdk",
)


class PackageError(RuntimeError):
    """Packaging failed; the message says why and what to do."""


@dataclass(frozen=True)
class PackageResult:
    """The artefacts of one `chalice package` run and what the zip holds."""

    stage: str
    template: Path
    zip_path: Path
    zip_bytes: int
    removed: tuple[str, ...]
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def zip_mib(self) -> float:
        return self.zip_bytes / MIB


def build(
    stage: str = DEFAULT_STAGE,
    output: Path = DEFAULT_OUTPUT,
    *,
    project_dir: Path = ROOT,
    merge_template: Path = MERGE_TEMPLATE,
) -> PackageResult:
    """Run `chalice package` for `stage` into `output` (replaced) and trim the zip."""
    if not (project_dir / "app.py").is_file():
        raise PackageError(f"no app.py in {project_dir}: nothing to package")
    if output.exists():
        shutil.rmtree(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    _run_chalice(stage, output, project_dir=project_dir, merge_template=merge_template)
    template = output / TEMPLATE_NAME
    zip_path = output / ZIP_NAME
    if not template.is_file() or not zip_path.is_file():
        raise PackageError(f"chalice package wrote no {TEMPLATE_NAME} and {ZIP_NAME} in {output}")
    _pin_stage(template, stage)
    _wire_jobs_queue(template)
    removed = _trim(zip_path)
    sizes = _top_level_sizes(zip_path)
    missing = [name for name in REQUIRED_TOP_LEVEL if name not in sizes]
    if missing:
        raise PackageError(f"{zip_path} lacks {', '.join(missing)}: check requirements.txt")
    return PackageResult(stage, template, zip_path, zip_path.stat().st_size, removed, sizes)


def _run_chalice(stage: str, output: Path, *, project_dir: Path, merge_template: Path) -> None:
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    command = [
        sys.executable,
        "-c",
        "import sys; from chalice.cli import main; sys.exit(main())",
        "--project-dir",
        str(project_dir),
        "package",
        "--stage",
        stage,
        "--merge-template",
        str(merge_template),
        str(output),
    ]
    completed = subprocess.run(  # noqa: S603 - our own interpreter with fixed arguments
        command, cwd=project_dir, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip()
        raise PackageError(
            f"chalice package --stage {stage} failed with exit code {completed.returncode}:\n"
            f"{detail}"
        )


def _pin_stage(template: Path, stage: str) -> None:
    # One merge template serves every stage; its Stage parameter (which scopes the IAM policy
    # to the stage's SSM parameters and names the metrics namespace) defaults to the stage
    # this template was packaged for, so a deploy without overrides stays consistent.
    document = json.loads(template.read_text())
    parameter = document.get("Parameters", {}).get("Stage")
    if parameter is not None:
        parameter["Default"] = stage
        template.write_text(json.dumps(document, indent=2) + "\n")


# Chalice names an SQS event source's queue by a fixed name; the queue is the template's own
# (one per stack, so stages never share one), and the event source must point at it.
JOBS_FUNCTION: Final = "JobRunner"
JOBS_EVENT_SOURCE: Final = "JobRunnerSqsEventSource"
JOBS_QUEUE_RESOURCE: Final = "JobsQueue"


def _wire_jobs_queue(template: Path) -> None:
    document = json.loads(template.read_text())
    resources = document.get("Resources", {})
    function = resources.get(JOBS_FUNCTION, {}).get("Properties", {})
    source = function.get("Events", {}).get(JOBS_EVENT_SOURCE)
    if source is None or JOBS_QUEUE_RESOURCE not in resources:
        return
    source["Properties"]["Queue"] = {"Fn::GetAtt": [JOBS_QUEUE_RESOURCE, "Arn"]}
    template.write_text(json.dumps(document, indent=2) + "\n")


def _is_runtime_provided(top: str) -> bool:
    for distribution, names in RUNTIME_PROVIDED.items():
        if top in names:
            return True
        if top.startswith(f"{distribution}-") and top.endswith((".dist-info", ".data")):
            return True
    # Type stubs are for type checkers, never imported at run time.
    return top.endswith("-stubs")


def _is_bytecode(name: str) -> bool:
    # Chalice copies chalicelib/ as it is on disk, __pycache__ included: whatever the last local
    # run compiled would ship (and change the zip's size from one build to the next).
    return "__pycache__/" in name or name.endswith((".pyc", ".pyo"))


def _trim(zip_path: Path) -> tuple[str, ...]:
    trimmed = zip_path.with_suffix(".trimmed.zip")
    removed: set[str] = set()
    with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(trimmed, "w") as target:
        for info in source.infolist():
            top = info.filename.split("/", 1)[0]
            if _is_runtime_provided(top):
                removed.add(top)
                continue
            if _is_bytecode(info.filename):
                continue
            target.writestr(info, source.read(info), compress_type=zipfile.ZIP_DEFLATED)
    trimmed.replace(zip_path)
    return tuple(sorted(removed))


def _top_level_sizes(zip_path: Path) -> dict[str, int]:
    sizes: Counter[str] = Counter()
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            sizes[info.filename.split("/", 1)[0]] += info.compress_size
    return dict(sizes)


def summary(result: PackageResult, *, top: int = 12) -> str:
    """A human report of the package: size, biggest entries, what was trimmed."""
    lines = [
        f"stage {result.stage}: {result.template}",
        f"{result.zip_path}: {result.zip_bytes} bytes ({result.zip_mib:.2f} MiB)",
        "largest entries (compressed):",
    ]
    ranked = sorted(result.sizes.items(), key=lambda item: item[1], reverse=True)
    lines += [f"  {name:<45} {size / 1024:9.1f} KiB" for name, size in ranked[:top]]
    if len(ranked) > top:
        rest = sum(size for _, size in ranked[top:])
        lines.append(f"  ({len(ranked) - top} more entries, {rest / 1024:.1f} KiB)")
    if result.removed:
        lines.append("left to the Lambda runtime: " + ", ".join(result.removed))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__)
    parser.add_argument("--stage", default=DEFAULT_STAGE, help="Chalice stage (default: prod)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="output directory")
    args = parser.parse_args(argv)
    try:
        result = build(args.stage, args.output)
    except PackageError as exc:
        print(f"package failed: {exc}", file=sys.stderr)
        return 1
    print(summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
