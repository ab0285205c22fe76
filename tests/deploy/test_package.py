"""infra.package's own behaviour: clear failures, trimming, bytecode, the printed report."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import botocore
import pytest

from infra import package
from tests.deploy.conftest import Packaged
from tests.servers import ROOT


def test_a_project_without_app_py_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(package.PackageError, match=r"no app\.py"):
        package.build("prod", tmp_path / "out", project_dir=tmp_path)


def test_a_failing_chalice_is_reported_with_its_output(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("from chalice import Chalice\napp = Chalice('broken')\n")
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text("{not json")
    shutil.copy(ROOT / "requirements.txt", tmp_path / "requirements.txt")
    with pytest.raises(package.PackageError, match="chalice package --stage prod failed"):
        package.build("prod", tmp_path / "out", project_dir=tmp_path)


def test_main_prints_a_clear_message_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(stage: str, output: Path) -> package.PackageResult:
        raise package.PackageError("chalice package --stage prod failed with exit code 2")

    monkeypatch.setattr(package, "build", refuse)
    assert package.main(["--output", str(tmp_path)]) == 1
    assert "package failed: chalice package --stage prod failed" in capsys.readouterr().err


def test_trim_drops_runtime_provided_distributions_and_stale_bytecode(tmp_path: Path) -> None:
    zip_path = tmp_path / "deployment.zip"
    kept = ["app.py", "httpx/__init__.py", "wrapt/__init__.py", "six_extras/x.py"]
    dropped = [
        "botocore/__init__.py",
        "botocore-1.44.8.dist-info/METADATA",
        "dateutil/tz.py",
        "python_dateutil-2.9.0.dist-info/RECORD",
        "six.py",
        "jmespath-1.1.0.data/scripts/jp.py",
        "wrapt-stubs/__init__.pyi",
    ]
    bytecode = ["chalicelib/__pycache__/app.cpython-311.pyc", "chalicelib/stale.pyc"]
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name in kept + dropped + bytecode:
            archive.writestr(name, "x")

    removed = package._trim(zip_path)

    with zipfile.ZipFile(zip_path) as archive:
        assert sorted(archive.namelist()) == sorted(kept)
    assert set(removed) == {name.split("/", 1)[0] for name in dropped}


def _flags(pyc: bytes) -> int:
    # PEP 552: the magic number, then a little-endian flags word (bit 0: hash-based; bit 1:
    # check the source), then the source's hash (or its mtime and size) before the code.
    return int.from_bytes(pyc[4:8], "little")


def _cached(name: str) -> str:
    directory, _, module = name.rpartition("/")
    pyc = f"__pycache__/{module.removesuffix('.py')}.{sys.implementation.cache_tag}.pyc"
    return f"{directory}/{pyc}" if directory else pyc


def test_trimmed_zip_gets_bytecode_for_each_module_that_compiles(tmp_path: Path) -> None:
    zip_path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("app.py", "VALUE = 1\n")
        archive.writestr("lib/__init__.py", "")
        archive.writestr("lib/tests/bad_fixture.py", "def broken(:\n")
        archive.writestr("lib/py.typed", "")
        archive.writestr("lib/stub.pyi", "VALUE: int\n")
        archive.writestr("lib/__pycache__/__init__.cpython-311.pyc", "stale")

    package._trim(zip_path)
    compiled, not_compiled = package._add_bytecode(zip_path)

    assert (compiled, not_compiled) == (2, ("lib/tests/bad_fixture.py",))
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert sorted(names) == sorted([
            "app.py", _cached("app.py"), "lib/__init__.py", _cached("lib/__init__.py"),
            "lib/tests/bad_fixture.py", "lib/py.typed", "lib/stub.pyi",
        ])  # fmt: skip
        assert archive.read(_cached("lib/__init__.py"))[:4] == importlib.util.MAGIC_NUMBER
        added = archive.getinfo(_cached("app.py"))
        assert added.date_time == (1980, 1, 1, 0, 0, 0)
        assert added.compress_type == zipfile.ZIP_DEFLATED


def test_packaged_modules_ship_unchecked_hash_bytecode(packaged: Packaged) -> None:
    with zipfile.ZipFile(packaged.zip_path) as archive:
        names = set(archive.namelist())
        sources = sorted(name for name in names if name.endswith(".py"))
        assert "app.py" in sources
        assert "httpx/_client.py" in sources
        assert [name for name in sources if _cached(name) not in names] == []
        for name in sources:
            pyc = archive.read(_cached(name))
            assert pyc[:4] == importlib.util.MAGIC_NUMBER, f"{name}: another Python's bytecode"
            assert _flags(pyc) == 0b01, f"{name}: not an unchecked-hash pyc ({_flags(pyc):#b})"
        # Only what infra.package compiled: nothing stale from the working tree.
        pycs = {name for name in names if name.endswith(".pyc")}
        assert pycs == {_cached(name) for name in sources}


def _template(path: Path, *runtimes: str) -> Path:
    resources = {
        f"Function{number}": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": r}}
        for number, r in enumerate(runtimes)
    }
    resources["Table"] = {"Type": "AWS::DynamoDB::Table", "Properties": {}}
    path.write_text(json.dumps({"Resources": resources}))
    return path


def test_bytecode_is_built_only_by_the_runtime_python(tmp_path: Path) -> None:
    template = _template(tmp_path / "sam.json", "python3.11", "python3.11")
    package.check_runtime(template, (3, 11))
    with pytest.raises(package.PackageError) as raised:
        package.check_runtime(template, (3, 12))
    message = str(raised.value)
    assert "python3.11" in message
    assert "Python 3.12" in message
    assert "build the package with Python 3.11" in message


def test_a_template_without_one_python_runtime_fails_clearly(tmp_path: Path) -> None:
    mixed = _template(tmp_path / "mixed.json", "python3.11", "python3.12")
    with pytest.raises(package.PackageError, match=r"one Python runtime.*python3\.11, python3\.12"):
        package.check_runtime(mixed, (3, 11))
    other = _template(tmp_path / "other.json", "nodejs20.x")
    with pytest.raises(package.PackageError, match=r"'nodejs20\.x' is not a Lambda Python runtime"):
        package.check_runtime(other, (3, 11))


def test_summary_reports_bytes_mib_and_what_was_left_out(prod_packaged: Packaged) -> None:
    sizes = {"aws_lambda_powertools": 900_000, "httpx": 60_000, "app.py": 1_000}
    result = package.PackageResult(
        "prod",
        prod_packaged.template_path,
        prod_packaged.zip_path,
        3 * package.MIB,
        ("botocore",),
        sizes,
        640,
        ("lib/tests/a.py", "lib/tests/b.py", "lib/tests/c.py"),
    )
    text = package.summary(result, top=2)
    assert f"{3 * package.MIB} bytes (3.00 MiB)" in text
    assert "aws_lambda_powertools" in text
    assert "1 more entries" in text
    assert "left to the Lambda runtime: botocore" in text
    assert "bytecode: 640 modules compiled" in text
    assert "3 modules that do not compile: lib/tests/a.py, lib/tests/b.py and 1 more" in text


def test_readme_reports_the_size_of_the_zip(prod_packaged: Packaged) -> None:
    section = (ROOT / "README.md").read_text().split("## Deploying to AWS", 1)[1]
    found = re.search(r"about \*\*([0-9.]+) MiB\*\* \(([0-9,]+) bytes", section)
    assert found, "the deployment section states the zip's size"
    mib, stated = float(found[1]), int(found[2].replace(",", ""))
    size = prod_packaged.zip_path.stat().st_size
    # The figure is re-measured with each release: it may be off by a little code, no more.
    assert round(size / package.MIB, 1) == mib, f"README says {mib} MiB, the zip has {size} bytes"
    assert abs(size - stated) <= 0.01 * size, f"README says {stated} bytes, the zip has {size}"


def test_packaged_stage_is_pinned_in_the_template(packaged: Packaged) -> None:
    document = json.loads(packaged.template_path.read_text())
    assert document["Parameters"]["Stage"]["Default"] == packaged.stage


# Run inside a bare interpreter (`-S`: no site-packages) whose path holds only the unpacked
# zip and the libraries the Lambda Python runtime provides.
_LAMBDA_LIKE_PROBE = """
import sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import app
from app import container
runtime = container.get()
import aws_xray_sdk.core
from aws_lambda_powertools.utilities.idempotency.persistence.dynamodb import (
    DynamoDBPersistenceLayer,
)
assert isinstance(runtime.ledger.store, DynamoDBPersistenceLayer), type(runtime.ledger.store)
assert all(p.startswith((sys.argv[1], sys.argv[2], sys.base_prefix)) for p in
           (m.__file__ for m in sys.modules.values() if getattr(m, "__file__", None))), "leak"
print("ok")
"""


def _run_lambda_like(zip_path: Path, tmp_path: Path, *, ours_from_source: bool = True) -> str:
    """The probe's output, or its stderr in the failure; `ours_from_source=False` first
    overwrites every source of ours (app.py, chalicelib) with one that raises."""
    unpacked = tmp_path / "task"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(unpacked)
    if not ours_from_source:
        for source in [unpacked / "app.py", *(unpacked / "chalicelib").rglob("*.py")]:
            source.write_text("raise RuntimeError('imported from source, not bytecode')\n")
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site_packages = Path(botocore.__file__).parent.parent
    for names in package.RUNTIME_PROVIDED.values():
        for name in names:
            (runtime / name).symlink_to(site_packages / name)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "IDEMPOTENCY_STORE": "dynamodb://idempotency",
        "DAILYBOT_API_KEY": "k",
        "DAILYBOT_SIGNATURES": "s",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    completed = subprocess.run(
        [sys.executable, "-S", "-c", _LAMBDA_LIKE_PROBE, str(unpacked), str(runtime)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_trimmed_zip_runs_with_only_what_lambda_provides(
    prod_packaged: Packaged, tmp_path: Path
) -> None:
    assert _run_lambda_like(prod_packaged.zip_path, tmp_path).strip().endswith("ok")


def test_the_unpacked_zip_imports_from_its_bytecode(
    prod_packaged: Packaged, tmp_path: Path
) -> None:
    # Unchecked-hash pycs: Python loads them without reading the source it would compile.
    output = _run_lambda_like(prod_packaged.zip_path, tmp_path, ours_from_source=False)
    assert output.strip().endswith("ok")
