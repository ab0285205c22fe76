"""The data loader of the shared boto3 session: the trimmed models first, found directly.

botocore's `Loader.load_service_model` lists every folder of every data path (some 400
services, a directory listing each) to check that the service exists, once per kind of file
it loads (the model, then the endpoint rules): some 25 ms of a cold start, for the two
services the first delivery uses. For the services `aws_models/` holds, that folder already
says that they exist and which API version to load. Anything else, and anything that goes
wrong on the way, takes botocore's own way. Imported only with boto3 (the AWS configuration).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import DataNotFoundError  # type: ignore[import-untyped]
from botocore.loaders import Loader  # type: ignore[import-untyped]


def trimmed_versions(models: Path) -> dict[str, str]:
    """Service name -> the API version `models` holds a service model of."""
    found: dict[str, str] = {}
    if not models.is_dir():
        return found
    for service in models.iterdir():
        versions = sorted(
            version.name
            for version in (service.iterdir() if service.is_dir() else ())
            if (version / "service-2.json").is_file()
        )
        if versions:
            found[service.name] = versions[-1]
    return found


class TrimmedModelsLoader(Loader):  # type: ignore[misc]  # botocore is untyped
    """A botocore `Loader` that loads the trimmed services without listing every service."""

    def __init__(self, versions: Mapping[str, str], search_paths: list[str]) -> None:
        super().__init__(extra_search_paths=search_paths)
        self._versions = dict(versions)
        self._models: dict[tuple[str, str], Any] = {}

    def load_service_model(
        self, service_name: str, type_name: str, api_version: str | None = None
    ) -> Any:
        version = self._versions.get(service_name)
        if version is None or api_version not in (None, version):
            return super().load_service_model(service_name, type_name, api_version)
        key = (service_name, type_name)
        if key not in self._models:
            try:
                model = self.load_data(os.path.join(service_name, version, type_name))
                # As botocore does: a service's SDK extras are merged into its model once.
                extras = self._find_extras(service_name, type_name, version)
                self._extras_processor.process(model, extras)
            except (DataNotFoundError, AttributeError):
                # A file botocore keeps under another version, or a botocore whose loader
                # works differently: its own way finds it.
                return super().load_service_model(service_name, type_name, api_version)
            self._models[key] = model
        return self._models[key]


def search_paths(models: Path, given: str | None) -> list[str]:
    """`models` first, then the paths of `AWS_DATA_PATH`, expanded as botocore does."""
    extra = [os.path.expanduser(os.path.expandvars(p)) for p in (given or "").split(os.pathsep)]
    return [str(models), *filter(None, extra)]
