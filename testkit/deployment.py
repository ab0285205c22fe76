"""The deployment under test: the Chalice app, its runtime container and its registry.

They come from the composition root (`app.py` by default), imported once per session, as
`chalice local` and Lambda import it. Deliveries reach the app through Chalice's local API
Gateway (what `chalice local` and `chalice.test.Client` serve with), so routing, the Chalice
adapter and the intake all run as they do when deployed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from typing import Any

from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException

from chalicelib.runtime.composition import LazyRuntime
from chalicelib.runtime.registry import CommandRegistry
from testkit.world import KitError


@dataclass(frozen=True)
class Deployment:
    """What the kit takes from the composition root module."""

    app: Any
    container: LazyRuntime
    registry: CommandRegistry
    # Made on first use, with no stage configuration: a stage's environment (made for
    # deployments) must not override the settings the kit builds the runtime with.
    _gateway: list[LocalGateway] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def from_module(cls, name: str) -> Deployment:
        """The module's `app`, `container` and `registry` (as `app.py` names them)."""
        module = importlib.import_module(name)
        missing = [n for n in ("app", "container", "registry") if not hasattr(module, n)]
        if missing:
            raise KitError(f"module {name!r} has no {', '.join(missing)} (see app.py)")
        return cls(module.app, module.container, module.registry)

    def with_registry(self, registry: CommandRegistry) -> Deployment:
        """The same app running the handlers of `registry` instead (a test's own commands)."""
        return replace(self, registry=registry, _gateway=self._gateway)

    def post(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """POSTs to the app as API Gateway would; answers (status, headers, body)."""
        if not self._gateway:
            self._gateway.append(LocalGateway(self.app, Config.create()))
        try:
            response = self._gateway[0].handle_request(
                method="POST", path=path, headers=headers, body=body
            )
        except LocalGatewayException as refused:  # API Gateway's own answers (403, 404)
            return int(refused.CODE), dict(refused.headers), bytes(refused.body or b"")
        answer_headers = {
            name: str(value)
            for name, value in response["headers"].items()
            if name.lower() != "content-length"
        }
        return int(response["statusCode"]), answer_headers, _bytes(response["body"])


def _bytes(body: Any) -> bytes:
    return body if isinstance(body, bytes) else str(body or "").encode("utf-8")
