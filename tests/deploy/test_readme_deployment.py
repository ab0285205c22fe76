"""The README's deployment sections say what the template deploys and grants: every resource
with its type, every output, and every action of every policy with the roles it is attached
to. A resource, output or grant added to (or removed from) either alone fails here."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

import pytest

from tests.deploy.conftest import Packaged
from tests.servers import ROOT

README = (ROOT / "README.md").read_text()
RESOURCE = re.compile(r"^ *- `([A-Za-z0-9]+)` \(`(AWS::[A-Za-z0-9:]+)`\)", re.MULTILINE)
BACKTICKED = re.compile(r"`([^`]+)`")


def section(title: str) -> str:
    """The README's text from the heading `title` to the next heading of any level."""
    body = README.split(f"\n{title}\n", 1)[1]
    return body.split("\n#", 1)[0]


def readme_resources() -> dict[str, str]:
    return dict(RESOURCE.findall(section("### What is deployed")))


def readme_outputs() -> set[str]:
    text = section("### What is deployed")
    # The sentence that starts "The template's outputs:", to its full stop.
    outputs = text.split("The template's outputs:", 1)[1].split(".\n", 1)[0]
    return {name for name in BACKTICKED.findall(outputs) if re.fullmatch(r"[A-Za-z]+", name)}


def readme_grants() -> dict[str, tuple[set[str], set[str]]]:
    """Per policy in the least-privilege table: the roles it is attached to, its actions."""
    grants: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    table = [
        line for line in section("#### Least privilege").splitlines() if line.startswith("| `")
    ]
    for row in table:
        policy, roles, actions, _ = (cell.strip() for cell in row.strip("|").split(" | "))
        (name,) = BACKTICKED.findall(policy)
        grants[name][0].update(BACKTICKED.findall(roles))
        grants[name][1].update(BACKTICKED.findall(actions))
    return dict(grants)


def _actions(document: dict[str, Any]) -> set[str]:
    statements = document["Statement"]
    statements = statements if isinstance(statements, list) else [statements]
    found: set[str] = set()
    for statement in statements:
        action = statement["Action"]
        found.update(action if isinstance(action, list) else [action])
    return found


def template_grants(packaged: Packaged) -> dict[str, tuple[set[str], set[str]]]:
    grants = {
        name: (
            {role["Ref"] for role in resource["Properties"]["Roles"]},
            _actions(resource["Properties"]["PolicyDocument"]),
        )
        for name, resource in packaged.of_type("AWS::IAM::Policy").items()
    }
    # The stage's policy file is every function role's inline policy.
    stage_file = packaged.stage_config()["iam_policy_file"]
    functions = packaged.stage_config().get("lambda_functions", {})
    assert all(f.get("iam_policy_file", stage_file) == stage_file for f in functions.values())
    roles = set(packaged.of_type("AWS::IAM::Role"))
    document = json.loads((ROOT / ".chalice" / stage_file).read_text())
    grants["policy-<stage>.json"] = (roles, _actions(document))
    return grants


def test_the_readme_lists_every_resource_of_the_template_with_its_type(
    packaged: Packaged,
) -> None:
    deployed = {name: resource["Type"] for name, resource in packaged.resources.items()}
    assert readme_resources() == deployed


def test_the_readme_lists_every_output_of_the_template(packaged: Packaged) -> None:
    assert readme_outputs() == set(packaged.template["Outputs"])


def test_the_readme_s_least_privilege_table_is_what_the_template_grants(
    packaged: Packaged,
) -> None:
    assert readme_grants() == template_grants(packaged)


@pytest.mark.parametrize("stage", ["prod", "dev"])
def test_every_stage_names_a_policy_file_the_table_describes(stage: str) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert config["stages"][stage]["iam_policy_file"] == f"policy-{stage}.json"
