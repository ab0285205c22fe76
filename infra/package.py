"""`make package`: the deployment artefacts for one stage, built by `chalice package`.

Writes `build/package/sam.json` (the SAM template merged with `infra/resources.json`) and
`build/package/deployment.zip`, then trims from the zip what the Lambda Python runtime already
ships (and the stale local bytecode Chalice copies), adds compiled bytecode for every module,
and reports what is left. Never talks to AWS: Chalice only needs a region name to render ARNs,
so a placeholder region is set when none is configured.

Why bytecode: `chalice package` ships sources only, and Lambda unpacks the zip into a read-only
`/var/task`, so Python can never cache what it compiles there: every cold start would compile
every module it imports (ours, httpx, anyio, Powertools...) from source again. The zip carries
`__pycache__/<module>.<cache tag>.pyc` files instead, compiled by the interpreter that builds
the package, which must therefore be the template's Lambda runtime's version (checked). They are
unchecked-hash pycs (PEP 552): valid whatever timestamps the unzipped files get, and Python
loads them without reading the source to validate them.

    python -m infra.package [--stage prod] [--output build/package]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from chalicelib.runtime.jobs.retry import receives_before_redrive
from chalicelib.runtime.jobs.runner import JobTimings
from chalicelib.settings import Settings, SettingsError

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
    # Modules shipped with their bytecode, and those left source-only (they did not compile).
    compiled: int = 0
    not_compiled: tuple[str, ...] = ()

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
    check_runtime(template)
    _pin_stage(template, stage)
    _wire_jobs_queue(template)
    removed = _trim(zip_path)
    compiled, not_compiled = _add_bytecode(zip_path)
    sizes = _top_level_sizes(zip_path)
    missing = [name for name in REQUIRED_TOP_LEVEL if name not in sizes]
    if missing:
        raise PackageError(f"{zip_path} lacks {', '.join(missing)}: check requirements.txt")
    return PackageResult(
        stage,
        template,
        zip_path,
        zip_path.stat().st_size,
        removed,
        sizes,
        compiled,
        not_compiled,
    )


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
    """Points the job function at the template's queue, and writes the queue's redrive limit
    from the job function's own settings (`JOBS_ATTEMPTS`, the one definition), checking that
    the function's and the queue's timeouts hold a whole attempt (`JOBS_TIMEOUT_SECONDS`)."""
    document = json.loads(template.read_text())
    resources = document.get("Resources", {})
    function = resources.get(JOBS_FUNCTION, {}).get("Properties", {})
    source = function.get("Events", {}).get(JOBS_EVENT_SOURCE)
    if source is None or JOBS_QUEUE_RESOURCE not in resources:
        return
    source["Properties"]["Queue"] = {"Fn::GetAtt": [JOBS_QUEUE_RESOURCE, "Arn"]}
    variables = function.get("Environment", {}).get("Variables", {})
    try:
        settings = Settings.from_env({k: v for k, v in variables.items() if isinstance(v, str)})
    except SettingsError as error:
        raise PackageError(f"{JOBS_FUNCTION}'s environment: {error}") from None
    queue = resources[JOBS_QUEUE_RESOURCE]["Properties"]
    queue["RedrivePolicy"]["maxReceiveCount"] = receives_before_redrive(settings.jobs_attempts)
    timings = JobTimings(settings.jobs_timeout_seconds)
    for what, seconds in (
        ("the job function's timeout (lambda_timeout)", function.get("Timeout", 0)),
        (f"{JOBS_QUEUE_RESOURCE}'s VisibilityTimeout", queue.get("VisibilityTimeout", 0)),
    ):
        if seconds < timings.attempt_seconds:
            raise PackageError(
                f"{what} is {seconds} s, less than one job attempt may take "
                f"({timings.attempt_seconds:g} s with JOBS_TIMEOUT_SECONDS="
                f"{settings.jobs_timeout_seconds}): raise it or lower JOBS_TIMEOUT_SECONDS"
            )
    template.write_text(json.dumps(document, indent=2) + "\n")


_RUNTIME: Final = re.compile(r"python(\d+)\.(\d+)")
_FUNCTION_TYPES: Final = ("AWS::Serverless::Function", "AWS::Lambda::Function")


def check_runtime(template: Path, interpreter: tuple[int, int] | None = None) -> None:
    """Fail unless every function of `template` runs the Python that compiles the bytecode.

    A pyc loads only in the minor version that wrote it (its magic number says which); Chalice
    picks the runtime from the interpreter running it, but maps versions it does not know yet
    to one it does, so the two can differ.
    """
    running = interpreter or (sys.version_info.major, sys.version_info.minor)
    document = json.loads(template.read_text())
    default = document.get("Globals", {}).get("Function", {}).get("Runtime")
    runtimes = {
        resource.get("Properties", {}).get("Runtime", default)
        for resource in document.get("Resources", {}).values()
        if resource.get("Type") in _FUNCTION_TYPES
    }
    if len(runtimes) != 1:
        found = ", ".join(sorted(str(runtime) for runtime in runtimes)) or "none"
        raise PackageError(f"{template}: expected one Python runtime for its functions: {found}")
    runtime = str(runtimes.pop())
    matched = _RUNTIME.fullmatch(runtime)
    if matched is None:
        raise PackageError(f"{template}: runtime {runtime!r} is not a Lambda Python runtime")
    wanted = (int(matched[1]), int(matched[2]))
    if wanted != running:
        version = f"{wanted[0]}.{wanted[1]}"
        raise PackageError(
            f"{template} deploys to the Lambda runtime {runtime}, but this is Python "
            f"{running[0]}.{running[1]}, whose bytecode Python {version} cannot load: build "
            f"the package with Python {version} (a virtualenv made by python{version})"
        )


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
    # run compiled would ship (and change the zip's size from one build to the next). The zip's
    # bytecode is compiled afresh afterwards, for every module (`_add_bytecode`).
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


# Run in a fresh interpreter (`-S`: no site-packages, no .pth hooks): marshal's bytes depend on
# the compiling process's state (whether a string was interned already, which objects are
# shared), so the same source compiled in a busier process (a test session) gives slightly
# other bytes, and the zip another size.
_COMPILE: Final = """
import pathlib, py_compile, sys
tree = pathlib.Path(sys.argv[1])
for source in sorted(tree.rglob("*.py")):
    name = source.relative_to(tree).as_posix()
    try:
        py_compile.compile(str(source), dfile=name, doraise=True, optimize=0,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError:
        print("source-only", name)
    else:
        print("compiled", name)
"""


def compile_bytecode(tree: Path) -> tuple[int, tuple[str, ...]]:
    """Compile every `.py` under `tree` to `<dir>/__pycache__/<name>.<cache tag>.pyc`.

    Unchecked-hash pycs (never validated against the source, so the file times the zip's
    extraction gives do not matter), not optimised (`-O` would drop asserts Lambda keeps).
    Each records its path relative to `tree` as its file name: the same bytes wherever it is
    built (the import system substitutes the real path when it loads one). A module that does
    not compile (some distributions ship test fixtures with bad syntax) stays source-only.
    Returns how many compiled and the relative paths of those that did not.
    """
    completed = subprocess.run(  # noqa: S603 - our own interpreter with fixed arguments
        [sys.executable, "-S", "-c", _COMPILE, str(tree)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise PackageError(f"compiling the bytecode of {tree} failed:\n{completed.stderr.strip()}")
    outcomes = [line.split(" ", 1) for line in completed.stdout.splitlines()]
    failed = tuple(name for outcome, name in outcomes if outcome == "source-only")
    return len(outcomes) - len(failed), failed


# Chalice dates every entry 1980-01-01; the added pycs too, so the zip is the same each build.
_ENTRY_DATE: Final = (1980, 1, 1, 0, 0, 0)
_ENTRY_MODE: Final = 0o100644 << 16  # a regular file, readable by the Lambda runtime's user


def _add_bytecode(zip_path: Path) -> tuple[int, tuple[str, ...]]:
    """Add each module's compiled bytecode to the zip (see `compile_bytecode`)."""
    with_bytecode = zip_path.with_suffix(".bytecode.zip")
    with tempfile.TemporaryDirectory(prefix="package-") as scratch:
        tree = Path(scratch)
        with zipfile.ZipFile(zip_path) as source:
            source.extractall(tree)
            compiled, failed = compile_bytecode(tree)
            entries: dict[str, zipfile.ZipInfo | Path] = {
                info.filename: info for info in source.infolist()
            }
            entries.update({pyc.relative_to(tree).as_posix(): pyc for pyc in tree.rglob("*.pyc")})
            with zipfile.ZipFile(with_bytecode, "w", zipfile.ZIP_DEFLATED) as target:
                for name in sorted(entries):
                    entry = entries[name]
                    if isinstance(entry, zipfile.ZipInfo):
                        target.writestr(entry, source.read(entry), zipfile.ZIP_DEFLATED)
                        continue
                    info = zipfile.ZipInfo(name, date_time=_ENTRY_DATE)
                    info.external_attr = _ENTRY_MODE
                    target.writestr(info, entry.read_bytes(), zipfile.ZIP_DEFLATED)
    with_bytecode.replace(zip_path)
    return compiled, failed


def _top_level_sizes(zip_path: Path) -> dict[str, int]:
    sizes: Counter[str] = Counter()
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            parts = info.filename.split("/")
            top = parts[0]
            if top == "__pycache__" and len(parts) == 2:  # a top-level module's: app.py's...
                top = parts[1].split(".", 1)[0] + ".py"
            sizes[top] += info.compress_size
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
    lines.append(
        f"bytecode: {result.compiled} modules compiled for Python "
        f"{sys.version_info.major}.{sys.version_info.minor} (unchecked-hash .pyc)"
    )
    if result.not_compiled:
        shown = ", ".join(result.not_compiled[:top])
        more = len(result.not_compiled) - top
        lines.append(
            f"left as source, {len(result.not_compiled)} modules that do not compile: {shown}"
            + (f" and {more} more" if more > 0 else "")
        )
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
