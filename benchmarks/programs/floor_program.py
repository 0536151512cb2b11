"""Contender "floor": the cheapest program the engine can run, one dynamic resource that does nothing.

Copied into a Pulumi project folder as ``__main__.py`` and run in a virtualenv without this project:
its figures are what every Python dynamic-provider program pays (CLI, language host, program,
provider host start, state) before it does any work. The provider lives in the program, as a
minimal dynamic provider usually does (pickled by value). ``bench-input.json`` holds ``value``;
the one-change operation changes it.
"""

import json
from pathlib import Path
from typing import Any

from pulumi import ResourceOptions
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult


class NoopProvider(ResourceProvider):
    """Stores its inputs as outputs; no I/O."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult("floor", dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=olds.get("value") != news.get("value"))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(dict(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class Floor(Resource):
    def __init__(self, name: str, value: str, opts: ResourceOptions | None = None) -> None:
        super().__init__(NoopProvider(), name, {"value": value}, opts)


Floor("floor", json.loads(Path("bench-input.json").read_text())["value"])
