"""The deployment under test: the Chalice app, its runtime container and its registry.

They come from the composition root (`app.py` by default), imported once per session, as
`chalice local` and Lambda import it. Deliveries reach the app through `chalice.test.Client`,
so routing, the Chalice adapter and the intake all run as they do when deployed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from chalice.test import Client

from chalicelib.runtime.composition import LazyRuntime
from chalicelib.runtime.registry import CommandRegistry
from testkit.world import KitError

# A stage `.chalice/config.json` does not define: its environment (made for deployments) must
# not override the settings the kit builds the runtime with.
STAGE: Final = "testkit"


@dataclass(frozen=True)
class Deployment:
    """What the kit takes from the composition root module."""

    app: Any
    container: LazyRuntime
    registry: CommandRegistry
    project_dir: Path
    _client: list[Client] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def from_module(cls, name: str) -> Deployment:
        """The module's `app`, `container` and `registry` (as `app.py` names them)."""
        module = importlib.import_module(name)
        missing = [n for n in ("app", "container", "registry") if not hasattr(module, n)]
        if missing:
            raise KitError(f"module {name!r} has no {', '.join(missing)} (see app.py)")
        project_dir = Path(module.__file__ or ".").resolve().parent
        return cls(module.app, module.container, module.registry, project_dir)

    def with_registry(self, registry: CommandRegistry) -> Deployment:
        """The same app running the handlers of `registry` instead (a test's own commands)."""
        return replace(self, registry=registry, _client=self._client)

    def post(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """POSTs to the app as API Gateway would; answers (status, headers, body)."""
        if not self._client:
            self._client.append(
                Client(self.app, stage_name=STAGE, project_dir=str(self.project_dir))
            )
        response = self._client[0].http.post(path, headers=headers, body=body)
        answer_headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower() != "content-length"
        }
        return int(response.status_code), answer_headers, bytes(response.body)
