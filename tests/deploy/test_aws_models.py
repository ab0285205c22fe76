"""The trimmed AWS SDK data the runtime's session loads first (`infra/aws_models.py`)."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader

from chalicelib import aws_session
from chalicelib.aws_loader import TrimmedModelsLoader, search_paths, trimmed_versions
from chalicelib.secrets import SecretSources, resolve_secrets
from chalicelib.settings import Settings
from infra import aws_models
from tests.servers import moto_server


def test_the_committed_files_are_what_the_installed_botocore_gives() -> None:
    # After a botocore upgrade: `python -m infra.aws_models` writes them again.
    assert aws_models.written() == aws_models.generated()


def test_the_shared_sessions_clients_know_only_the_operations_the_runtime_calls() -> None:
    for (service, _), operations in aws_models.SERVICES.items():
        client = aws_session.client(service, endpoint_url="http://127.0.0.1:9")
        assert set(client.meta.service_model.operation_names) == operations


def test_a_trim_keeps_every_shape_its_operations_reach() -> None:
    model = {
        "metadata": {"protocol": "json"},
        "operations": {
            "Get": {"input": {"shape": "In"}, "errors": [{"shape": "Oops"}], "documentation": "d"},
            "Other": {"input": {"shape": "Unused"}},
        },
        "shapes": {
            "In": {"type": "structure", "members": {"Keys": {"shape": "KeyList"}}},
            "KeyList": {"type": "list", "member": {"shape": "Key"}},
            "Key": {"type": "string", "documentation": "gone"},
            "Oops": {"type": "structure", "members": {}},
            "Unused": {"type": "string"},
        },
    }

    trimmed = aws_models.trimmed_model(model, frozenset({"Get"}))

    assert list(trimmed["operations"]) == ["Get"]
    assert sorted(trimmed["shapes"]) == ["In", "Key", "KeyList", "Oops"]
    assert "documentation" not in str(trimmed)
    with pytest.raises(ValueError, match="no operation"):
        aws_models.trimmed_model(model, frozenset({"Missing"}))


def test_secrets_are_read_through_the_trimmed_models(monkeypatch: pytest.MonkeyPatch) -> None:
    with moto_server() as endpoint:
        ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1")
        secrets = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
        key, signatures = (f"/trimmed/{uuid.uuid4().hex}/{n}" for n in ("key", "signatures"))
        ssm.put_parameter(Name=key, Value="trimmed-api-key-0001", Type="SecureString")
        secrets.create_secret(Name=signatures, SecretString="trimmed-signature-0001")
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", endpoint)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint)

        resolved = resolve_secrets(
            Settings(api_key_parameter=key, signatures_parameter=f"secretsmanager:{signatures}"),
            sources=SecretSources(),  # its clients come from the shared session
            max_age=0,
        )

    assert resolved.api_key is not None
    assert resolved.api_key.reveal() == "trimmed-api-key-0001"
    assert [s.value.reveal() for s in resolved.signatures] == ["trimmed-signature-0001"]


def _loaders() -> tuple[TrimmedModelsLoader, Loader]:
    paths = search_paths(aws_session.MODELS, None)
    return TrimmedModelsLoader(trimmed_versions(aws_session.MODELS), paths), Loader(
        extra_search_paths=paths
    )


def test_the_trimmed_services_load_as_botocore_loads_them_without_listing_every_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ours, botocores = _loaders()
    expected = {
        (service, kind): botocores.load_service_model(service, kind)
        for service, _ in aws_models.SERVICES
        for kind in ("service-2", "endpoint-rule-set-1")
    }

    def listing(*_: object) -> list[str]:
        raise AssertionError("listed every service")

    monkeypatch.setattr(ours, "list_available_services", listing)

    assert {key: ours.load_service_model(*key) for key in expected} == expected


def test_other_services_and_unknown_ones_take_botocores_own_way() -> None:
    ours, botocores = _loaders()

    assert ours.load_service_model("sqs", "service-2") == botocores.load_service_model(
        "sqs", "service-2"
    )
    with pytest.raises(UnknownServiceError):
        ours.load_service_model("no-such-service", "service-2")


def test_the_trimmed_versions_are_the_folders_that_hold_a_model(tmp_path: Path) -> None:
    (tmp_path / "ssm" / "2014-11-06").mkdir(parents=True)
    (tmp_path / "ssm" / "2014-11-06" / "service-2.json").write_text("{}", encoding="utf-8")
    (tmp_path / "ssm" / "2099-01-01").mkdir()  # no model in it
    (tmp_path / "endpoints.json").write_text("{}", encoding="utf-8")

    assert trimmed_versions(tmp_path) == {"ssm": "2014-11-06"}
    assert trimmed_versions(tmp_path / "missing") == {}
    assert trimmed_versions(aws_session.MODELS) == {
        service: version for service, version in aws_models.SERVICES
    }


def test_the_shared_session_loads_through_it() -> None:
    loader = aws_session.session()._session.get_component("data_loader")

    assert isinstance(loader, TrimmedModelsLoader)
    assert loader.search_paths[0] == str(aws_session.MODELS)
