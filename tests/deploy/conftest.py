"""The packaged deployment, built once per test session when `make package` has not run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra import package
from tests.servers import ROOT

STAGE = "prod"
# What the packaged template is made from: newer than sam.json means it must be rebuilt.
INPUTS = (
    ROOT / ".chalice" / "config.json",
    *sorted((ROOT / ".chalice").glob("policy-*.json")),
    ROOT / "infra" / "resources.json",
    ROOT / "infra" / "package.py",
    ROOT / "requirements.txt",
    ROOT / "app.py",
)


@dataclass(frozen=True)
class Packaged:
    """The artefacts of `python -m infra.package --stage prod` and the config they came from."""

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

    def stage_config(self, stage: str = STAGE) -> dict[str, Any]:
        stage_config: dict[str, Any] = self.config["stages"][stage]
        return stage_config


def _is_current(template: Path) -> bool:
    if not template.is_file() or not (template.parent / package.ZIP_NAME).is_file():
        return False
    document = json.loads(template.read_text())
    if document.get("Parameters", {}).get("Stage", {}).get("Default") != STAGE:
        return False
    built = template.stat().st_mtime
    return all(not path.exists() or path.stat().st_mtime <= built for path in INPUTS)


@pytest.fixture(scope="session")
def packaged() -> Packaged:
    template = package.DEFAULT_OUTPUT / package.TEMPLATE_NAME
    if not _is_current(template):
        package.build(STAGE, package.DEFAULT_OUTPUT)
    return Packaged(
        template_path=template,
        zip_path=package.DEFAULT_OUTPUT / package.ZIP_NAME,
        template=json.loads(template.read_text()),
        config=json.loads((ROOT / ".chalice" / "config.json").read_text()),
    )
