"""The packaged deployment of each AWS stage, built once per test session.

Prod is the stage `make package` writes to `build/package`, reused when it is current; dev is
packaged into a temporary directory (Chalice caches the vendored dependencies under
`.chalice/deployments`, so a second stage costs about a second).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra import package
from tests.servers import ROOT

STAGE = "prod"
STAGES = ("prod", "dev")
# What the packaged template is made from: newer than sam.json means it must be rebuilt.
INPUTS = (
    ROOT / ".chalice" / "config.json",
    *sorted((ROOT / ".chalice").glob("policy-*.json")),
    ROOT / "infra" / "resources.json",
    ROOT / "infra" / "package.py",
    ROOT / "requirements.txt",
    ROOT / "app.py",
    *sorted((ROOT / "chalicelib").rglob("*.py")),
)


@dataclass(frozen=True)
class Packaged:
    """The artefacts of `python -m infra.package --stage STAGE` and the config they came from."""

    stage: str
    template_path: Path
    zip_path: Path
    template: dict[str, Any]
    config: dict[str, Any]

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.template["Resources"]
        return resources

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {name: r for name, r in self.resources.items() if r["Type"] == cfn_type}

    def stage_config(self, stage: str | None = None) -> dict[str, Any]:
        stage_config: dict[str, Any] = self.config["stages"][stage or self.stage]
        return stage_config


def _is_current(template: Path, stage: str) -> bool:
    if not template.is_file() or not (template.parent / package.ZIP_NAME).is_file():
        return False
    document = json.loads(template.read_text())
    if document.get("Parameters", {}).get("Stage", {}).get("Default") != stage:
        return False
    built = template.stat().st_mtime
    return all(not path.exists() or path.stat().st_mtime <= built for path in INPUTS)


def _load(stage: str, output: Path) -> Packaged:
    template = output / package.TEMPLATE_NAME
    return Packaged(
        stage=stage,
        template_path=template,
        zip_path=output / package.ZIP_NAME,
        template=json.loads(template.read_text()),
        config=json.loads((ROOT / ".chalice" / "config.json").read_text()),
    )


@pytest.fixture(scope="session")
def prod_packaged() -> Packaged:
    """What `make package` wrote (rebuilt when an input changed since)."""
    template = package.DEFAULT_OUTPUT / package.TEMPLATE_NAME
    if not _is_current(template, STAGE):
        package.build(STAGE, package.DEFAULT_OUTPUT)
    return _load(STAGE, package.DEFAULT_OUTPUT)


@pytest.fixture(scope="session")
def dev_packaged(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    output = tmp_path_factory.mktemp("package") / "dev"
    package.build("dev", output)
    return _load("dev", output)


@pytest.fixture(scope="session", params=STAGES)
def packaged(request: pytest.FixtureRequest) -> Packaged:
    """Each deployed stage's package in turn."""
    packaged: Packaged = request.getfixturevalue(f"{request.param}_packaged")
    return packaged
