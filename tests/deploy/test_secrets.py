"""chalicelib.secrets against moto's SSM and Secrets Manager served over real HTTP."""

from __future__ import annotations

import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider
from moto.server import ThreadedMotoServer

from chalicelib.redaction import Secret
from chalicelib.secrets import (
    DEFAULT_MAX_AGE_SECONDS,
    MAX_AGE_ENV,
    CurrentSignatures,
    SecretsError,
    SecretSources,
    resolve_secrets,
)
from chalicelib.settings import AcceptedSignature, Settings
from tests.servers import ROOT

API_KEY = "prod-api-key-5f1c9a7e2b"
OLD_SIGNATURE = "signature-old-8d2e41aa90"
NEW_SIGNATURE = "signature-new-3b77c0f1de"
OLD = AcceptedSignature(Secret(OLD_SIGNATURE))
NEW = AcceptedSignature(Secret(NEW_SIGNATURE))
COMMAND = "c0000000-0000-4000-8000-000000000001"


@dataclass
class Moto:
    server: ThreadedMotoServer
    endpoint: str

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1")

    def sources(self) -> SecretSources:
        return SecretSources(
            ssm=SSMProvider(boto3_client=self.client("ssm")),
            secrets_manager=SecretsProvider(boto3_client=self.client("secretsmanager")),
        )

    def put_parameter(self, value: str) -> str:
        name = f"/dailybot-runtime/test-{uuid.uuid4().hex[:8]}/secret"
        self.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString")
        return name


def _start() -> Moto:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return Moto(server, f"http://{host}:{port}")


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    handle = _start()
    yield handle
    handle.server.stop()


def test_without_parameter_names_settings_come_back_unchanged() -> None:
    settings = Settings(api_key=Secret("local"), signatures=(AcceptedSignature(Secret("sig")),))
    assert resolve_secrets(settings, sources=SecretSources()) is settings


def test_reads_api_key_and_signature_list_from_ssm(moto: Moto) -> None:
    key_name = moto.put_parameter(API_KEY)
    signatures_name = moto.put_parameter(f" {OLD_SIGNATURE} , {NEW_SIGNATURE},")
    settings = Settings(api_key_parameter=key_name, signatures_parameter=signatures_name)

    resolved = resolve_secrets(settings, sources=moto.sources())

    assert resolved.api_key == Secret(API_KEY)
    assert resolved.signatures == (OLD, NEW)
    assert resolved.api_key_parameter == key_name


def test_both_parameters_come_in_one_call_and_later_reads_from_the_cache(moto: Moto) -> None:
    settings = Settings(
        api_key_parameter=moto.put_parameter(API_KEY),
        signatures_parameter=moto.put_parameter(OLD_SIGNATURE),
    )
    sources = moto.sources()
    sent: list[str] = []
    sources.ssm_provider().client.meta.events.register(
        "before-send.ssm", lambda request, **_: sent.append(request.headers["X-Amz-Target"])
    )

    resolved = resolve_secrets(settings, sources=sources, max_age=300)
    # What each delivery asks for: the signatures, answered by the cache.
    assert CurrentSignatures(resolved, sources=sources)() == (OLD,)

    assert sent == [b"AmazonSSM.GetParameters"]
    assert resolved.api_key == Secret(API_KEY)


def test_plain_values_stay_when_only_one_parameter_is_named(moto: Moto) -> None:
    settings = Settings(
        api_key=Secret("local-key"),
        signatures_parameter=moto.put_parameter(NEW_SIGNATURE),
    )
    resolved = resolve_secrets(settings, sources=moto.sources())
    assert resolved.api_key == Secret("local-key")
    assert resolved.signatures == (NEW,)


def test_second_resolve_is_served_from_the_cache_with_the_server_gone() -> None:
    handle = _start()
    try:
        name = handle.put_parameter(API_KEY)
        sources = handle.sources()
        settings = Settings(api_key_parameter=name)
        first = resolve_secrets(settings, sources=sources, max_age=300)
    finally:
        handle.server.stop()

    second = resolve_secrets(settings, sources=sources, max_age=300)

    assert first.api_key == second.api_key == Secret(API_KEY)


def test_an_expired_cache_reads_the_rotated_value(moto: Moto) -> None:
    name = moto.put_parameter(OLD_SIGNATURE)
    sources = moto.sources()
    settings = Settings(signatures_parameter=name)
    assert resolve_secrets(settings, sources=sources, max_age=0).signatures == (OLD,)
    moto.client("ssm").put_parameter(
        Name=name, Value=f"{OLD_SIGNATURE},{NEW_SIGNATURE}", Type="SecureString", Overwrite=True
    )
    assert resolve_secrets(settings, sources=sources, max_age=0).signatures == (
        OLD,
        NEW,
    )


@pytest.mark.parametrize("form", ["prefix", "arn"])
def test_reads_from_secrets_manager_by_prefix_or_arn(moto: Moto, form: str) -> None:
    secret_name = f"dailybot-runtime/test-{uuid.uuid4().hex[:8]}/api-key"
    created = moto.client("secretsmanager").create_secret(Name=secret_name, SecretString=API_KEY)
    name = f"secretsmanager:{secret_name}" if form == "prefix" else created["ARN"]

    resolved = resolve_secrets(Settings(api_key_parameter=name), sources=moto.sources())

    assert resolved.api_key == Secret(API_KEY)


def test_values_never_reach_reprs_or_logs(moto: Moto, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(
        api_key_parameter=moto.put_parameter(API_KEY),
        signatures_parameter=moto.put_parameter(f"{OLD_SIGNATURE},{NEW_SIGNATURE}"),
    )
    with caplog.at_level(logging.DEBUG, logger="chalicelib"):
        resolved = resolve_secrets(settings, sources=moto.sources())

    shown = repr(resolved) + str(resolved) + caplog.text
    assert settings.api_key_parameter in caplog.text
    for value in (API_KEY, OLD_SIGNATURE, NEW_SIGNATURE):
        assert value not in shown


def test_a_missing_parameter_raises_naming_it(moto: Moto) -> None:
    name = "/dailybot-runtime/test/absent"
    with pytest.raises(SecretsError, match="absent"):
        resolve_secrets(Settings(api_key_parameter=name), sources=moto.sources())


def test_a_parameter_binding_a_command_to_no_signature_is_refused(moto: Moto) -> None:
    name = moto.put_parameter(f"{NEW_SIGNATURE},{COMMAND}:")
    with pytest.raises(
        SecretsError, match=f"the signature of command {COMMAND} is empty"
    ) as caught:
        resolve_secrets(Settings(signatures_parameter=name), sources=moto.sources())
    assert name in str(caught.value)
    assert NEW_SIGNATURE not in str(caught.value)


@pytest.mark.parametrize("value", [" ", ", ,"])
def test_a_parameter_without_signatures_is_refused(moto: Moto, value: str) -> None:
    name = moto.put_parameter(value)
    with pytest.raises(SecretsError, match=r"signature|empty") as caught:
        resolve_secrets(Settings(signatures_parameter=name), sources=moto.sources())
    assert name in str(caught.value)


def test_max_age_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import secrets

    monkeypatch.delenv(MAX_AGE_ENV, raising=False)
    assert secrets._max_age() == DEFAULT_MAX_AGE_SECONDS
    monkeypatch.setenv(MAX_AGE_ENV, "42")
    assert secrets._max_age() == 42
    monkeypatch.setenv(MAX_AGE_ENV, "soon")
    with pytest.raises(SecretsError, match=MAX_AGE_ENV):
        secrets._max_age()


def test_default_sources_build_providers_once_with_the_default_session() -> None:
    sources = SecretSources()
    assert sources.ssm_provider() is sources.ssm_provider()
    assert sources.secrets_manager_provider() is sources.secrets_manager_provider()


def test_local_settings_never_import_boto3() -> None:
    code = (
        "import sys\n"
        "from chalicelib.secrets import resolve_secrets\n"
        "from chalicelib.settings import Settings\n"
        "resolve_secrets(Settings.from_env({'DAILYBOT_API_KEY': 'k'}))\n"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules, 'boto3 imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_a_binary_secret_is_read_as_text(moto: Moto) -> None:
    secret_name = f"dailybot-runtime/test-{uuid.uuid4().hex[:8]}/signatures"
    moto.client("secretsmanager").create_secret(
        Name=secret_name, SecretBinary=f"{OLD_SIGNATURE},{NEW_SIGNATURE}".encode()
    )
    settings = Settings(signatures_parameter=f"secretsmanager:{secret_name}")

    resolved = resolve_secrets(settings, sources=moto.sources())

    assert resolved.signatures == (OLD, NEW)


def test_current_signatures_follow_a_rotation_without_a_restart(
    moto: Moto, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_AGE_ENV, "0")
    name = moto.put_parameter(OLD_SIGNATURE)
    settings = resolve_secrets(Settings(signatures_parameter=name), sources=moto.sources())
    changes: list[tuple[AcceptedSignature, ...]] = []
    current = CurrentSignatures(settings, sources=moto.sources(), on_change=changes.append)
    assert current() == (OLD,)
    assert changes == []

    moto.client("ssm").put_parameter(
        Name=name, Value=f"{OLD_SIGNATURE},{NEW_SIGNATURE}", Type="SecureString", Overwrite=True
    )
    assert current() == (OLD, NEW)
    moto.client("ssm").put_parameter(
        Name=name, Value=NEW_SIGNATURE, Type="SecureString", Overwrite=True
    )
    assert current() == (NEW,)
    # The same signature, now bound to its command: a change like any other.
    moto.client("ssm").put_parameter(
        Name=name, Value=f"{COMMAND}:{NEW_SIGNATURE}", Type="SecureString", Overwrite=True
    )
    bound = (AcceptedSignature(Secret(NEW_SIGNATURE), COMMAND),)
    assert current() == bound
    assert changes == [(OLD, NEW), (NEW,), bound]

    # The parameter disappears (or SSM is down): the last signatures read stay in force.
    moto.client("ssm").delete_parameter(Name=name)
    assert current() == bound


def test_current_signatures_without_a_parameter_are_the_plain_ones() -> None:
    settings = Settings(signatures=(AcceptedSignature(Secret("local-signature")),))
    assert CurrentSignatures(settings, sources=SecretSources())() == settings.signatures
