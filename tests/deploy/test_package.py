"""infra.package's own behaviour: clear failures, trimming, the printed report."""

from __future__ import annotations

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


def test_trim_drops_runtime_provided_distributions_only(tmp_path: Path) -> None:
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


def test_summary_reports_bytes_mib_and_what_was_left_out(prod_packaged: Packaged) -> None:
    sizes = {"aws_lambda_powertools": 900_000, "httpx": 60_000, "app.py": 1_000}
    result = package.PackageResult(
        "prod",
        prod_packaged.template_path,
        prod_packaged.zip_path,
        3 * package.MIB,
        ("botocore",),
        sizes,
    )
    text = package.summary(result, top=2)
    assert f"{3 * package.MIB} bytes (3.00 MiB)" in text
    assert "aws_lambda_powertools" in text
    assert "1 more entries" in text
    assert "left to the Lambda runtime: botocore" in text


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


def test_trimmed_zip_runs_with_only_what_lambda_provides(
    prod_packaged: Packaged, tmp_path: Path
) -> None:
    unpacked = tmp_path / "task"
    with zipfile.ZipFile(prod_packaged.zip_path) as archive:
        archive.extractall(unpacked)
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
    assert completed.stdout.strip().endswith("ok")
