"""The API key and the accepted signatures, read from SSM Parameter Store or Secrets Manager.

In AWS the secrets live in SecureString parameters (or secrets) named by
`DAILYBOT_API_KEY_PARAMETER` / `DAILYBOT_SIGNATURES_PARAMETER`; locally the plain
`DAILYBOT_API_KEY` / `DAILYBOT_SIGNATURES` variables are used and nothing here touches AWS.
Values are read through Powertools Parameters, whose providers cache them for `max_age`
seconds, so calling `resolve_secrets` on every delivery costs a dictionary lookup and a
rotated signature is picked up within `max_age`. Only parameter names are ever logged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from chalicelib import aws_session
from chalicelib.redaction import Secret
from chalicelib.settings import AcceptedSignature, Settings, SettingsError, parse_signatures

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

logger = logging.getLogger(__name__)

# Powertools' own default is 5 s; secrets change only on rotation, and each miss is an SSM
# call on the reply path. POWERTOOLS_PARAMETERS_MAX_AGE overrides it.
DEFAULT_MAX_AGE_SECONDS: Final = 300
MAX_AGE_ENV: Final = "POWERTOOLS_PARAMETERS_MAX_AGE"
SECRETS_MANAGER_PREFIX: Final = "secretsmanager:"
_SECRETS_MANAGER_ARN: Final = ":secretsmanager:"


class SecretsError(SettingsError):
    """A secret parameter could not be read or holds nothing usable (the name, never a value)."""


@dataclass
class SecretSources:
    """Where secrets are read from: Powertools providers, made on first use unless injected.

    Tests (and any caller with its own boto3 client) inject providers; the default instance
    below keeps one provider per service for the container, so its cache outlives a delivery.
    """

    ssm: SSMProvider | None = None
    secrets_manager: SecretsProvider | None = None

    def ssm_provider(self) -> SSMProvider:
        if self.ssm is None:
            from aws_lambda_powertools.utilities.parameters import SSMProvider  # noqa: PLC0415

            self.ssm = SSMProvider(boto3_session=aws_session.session())
        return self.ssm

    def secrets_manager_provider(self) -> SecretsProvider:
        if self.secrets_manager is None:
            from aws_lambda_powertools.utilities.parameters import (  # noqa: PLC0415
                SecretsProvider,
            )

            self.secrets_manager = SecretsProvider(boto3_session=aws_session.session())
        return self.secrets_manager

    def read(self, name: str, *, max_age: int) -> str:
        """The value of parameter (or `secretsmanager:` / Secrets Manager ARN) `name`."""
        return self.read_all((name,), max_age=max_age)[name]

    def read_all(self, names: Sequence[str], *, max_age: int) -> dict[str, str]:
        """The values of `names`: every SSM parameter among them in one `GetParameters` call
        (decrypted, and cached for `max_age`: later reads of any of them make no call), each
        Secrets Manager secret on its own."""
        # Imported here, not at the top: Powertools Parameters imports boto3, which a local
        # run without parameter names never needs.
        from aws_lambda_powertools.utilities.parameters.exceptions import (  # noqa: PLC0415
            GetParameterError,
            TransformParameterError,
        )

        parameters: dict[str, dict[str, object]] = {
            name: {} for name in names if not _is_secrets_manager(name)
        }
        values: dict[str, object] = {}
        try:
            if parameters:
                values.update(
                    self.ssm_provider().get_parameters_by_name(
                        parameters, decrypt=True, max_age=max_age
                    )
                )
            for name in names:
                if name not in parameters:
                    values[name] = self.secrets_manager_provider().get(
                        name.removeprefix(SECRETS_MANAGER_PREFIX), max_age=max_age
                    )
        except (GetParameterError, TransformParameterError) as exc:
            # Powertools' message wraps botocore's, which names the parameter, not its value.
            which = ", ".join(repr(name) for name in names)
            raise SecretsError(f"cannot read secret parameter {which}: {exc}") from exc
        return {name: _text(name, values.get(name)) for name in names}


_default_sources = SecretSources()


def resolve_secrets(
    settings: Settings, *, sources: SecretSources | None = None, max_age: int | None = None
) -> Settings:
    """`settings` with api_key / signatures read from their parameters, when names are set.

    Without parameter names the settings come back unchanged (and boto3 is never imported).
    The signatures parameter holds the accepted signatures separated by commas, like
    `DAILYBOT_SIGNATURES` (each plain or `command_uuid:signature`), so a rotation can list the
    old and the new one together.
    """
    if settings.api_key_parameter is None and settings.signatures_parameter is None:
        return settings
    sources = _default_sources if sources is None else sources
    age = _max_age() if max_age is None else max_age
    names = [n for n in (settings.api_key_parameter, settings.signatures_parameter) if n]
    # Both in one round trip; the signatures are read again per delivery from the cache.
    values = sources.read_all(names, max_age=age)
    resolved = settings
    if settings.api_key_parameter is not None:
        api_key = values[settings.api_key_parameter].strip()
        resolved = replace(resolved, api_key=Secret(api_key))
    if settings.signatures_parameter is not None:
        name = settings.signatures_parameter
        resolved = replace(resolved, signatures=_signatures_in(name, values[name]))
    logger.debug(
        "secrets resolved from parameters api_key=%s signatures=%s",
        settings.api_key_parameter,
        settings.signatures_parameter,
    )
    return resolved


class CurrentSignatures:
    """The accepted signatures, read again through the parameter cache on every call.

    A signature rotated in its parameter is accepted within the cache's `max_age`, without
    recycling containers. If the parameter cannot be read, the last signatures read stay in
    force (and the failure is logged) rather than refusing every delivery.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        sources: SecretSources | None = None,
        on_change: Callable[[tuple[AcceptedSignature, ...]], None] | None = None,
    ) -> None:
        self._parameter = settings.signatures_parameter
        self._current = settings.signatures
        self._sources = _default_sources if sources is None else sources
        self._on_change = on_change

    def __call__(self) -> tuple[AcceptedSignature, ...]:
        if self._parameter is None:
            return self._current
        try:
            fresh = _read_signatures(self._parameter, self._sources, max_age=_max_age())
        except SecretsError:
            logger.warning("keeping the signatures last read", exc_info=True)
            return self._current
        if fresh != self._current:
            self._current = fresh
            if self._on_change is not None:
                self._on_change(fresh)
        return self._current


def _read_signatures(
    name: str, sources: SecretSources, *, max_age: int
) -> tuple[AcceptedSignature, ...]:
    return _signatures_in(name, sources.read(name, max_age=max_age))


def _signatures_in(name: str, raw: str) -> tuple[AcceptedSignature, ...]:
    try:
        signatures = parse_signatures(raw)
    except SettingsError as exc:
        raise SecretsError(f"secret parameter {name!r}: {exc}") from None
    if not signatures:
        raise SecretsError(f"secret parameter {name!r} lists no signature")
    return signatures


def _text(name: str, value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode()
    if not isinstance(value, str) or not value.strip():
        raise SecretsError(f"secret parameter {name!r} is empty or not text")
    return value


def _is_secrets_manager(name: str) -> bool:
    return name.startswith(SECRETS_MANAGER_PREFIX) or (
        name.startswith("arn:") and _SECRETS_MANAGER_ARN in name
    )


def _max_age() -> int:
    raw = os.environ.get(MAX_AGE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_AGE_SECONDS
    try:
        return max(0, int(raw))
    except ValueError:
        raise SecretsError(
            f"{MAX_AGE_ENV} must be a whole number of seconds, got {raw!r}"
        ) from None
