"""A tiny dynamic provider that keeps one text file per resource: the engine driver's test subject.

Imported as the top-level module ``filestore`` both by the programs (the project dir is on their
sys.path) and by the provider host (its cwd is this project dir), so the provider is pickled by
reference, as a real provider module is.

Config (read in ``configure``, namespaced by the project, ``trivial``): ``trivial:root`` is the
directory the files live in (required); ``trivial:token`` is optional and only reported. Every
hook prints ``filestore: <hook> <name>`` to stderr, so tests can see the host's output.

Inputs: ``name`` (file name, the resource id; a change replaces), ``content`` (text; a change
updates in place), ``exclusive`` (replace delete-before-create), ``note``, ``size_hint``,
``fail_on`` (a hook name that raises, to test error handling). Outputs: the inputs plus ``path``
and ``size``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

INPUT_KEYS = ("name", "content", "exclusive", "note", "size_hint", "fail_on")
CONFIGURE_RECORD = "configure.json"


def _log(hook: str, name: object) -> None:
    print(f"filestore: {hook} {name}", file=sys.stderr, flush=True)


class FileProvider(ResourceProvider):
    """CRUD on ``<root>/<name>``; ``diff`` answers SOME/NONE itself and replaces on a rename."""

    def configure(self, req: ConfigureRequest) -> None:
        self._root = Path(req.config.require("root"))
        self._root.mkdir(parents=True, exist_ok=True)
        # Recorded so tests can see what configure() received in the host (plain values).
        record = {"root": str(self._root), "token": req.config.get("token")}
        (self._root / CONFIGURE_RECORD).write_text(json.dumps(record))
        _log("configure", self._root)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        for key in ("name", "content"):
            value = news.get(key)
            # During preview a value from another resource's output arrives as Unknown.
            if not isinstance(value, (str, Unknown)) or value == "":
                failures.append(CheckFailure(key, f"{key} must be a non-empty string"))
        inputs = {k: news[k] for k in INPUT_KEYS if news.get(k) is not None}
        inputs.setdefault("exclusive", False)
        _log("check", news.get("name"))
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        _log("diff", news.get("name"))
        if olds.get("name") != news.get("name"):
            return DiffResult(
                changes=True, replaces=["name"], delete_before_replace=bool(news.get("exclusive"))
            )
        changed = any(olds.get(k) != news.get(k) for k in INPUT_KEYS)
        return DiffResult(changes=changed)

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._fail_if("create", props)
        _log("create", props["name"])
        return CreateResult(props["name"], self._write(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._fail_if("update", news)
        _log("update", news["name"])
        return UpdateResult(self._write(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        _log("read", id_)
        path = self._root / id_
        if not path.exists():
            return ReadResult(None, {})
        content = path.read_text()
        inputs = {k: props[k] for k in INPUT_KEYS if k in props}
        inputs["content"] = content
        return ReadResult(id_, {**inputs, "path": str(path), "size": len(content)}, inputs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._fail_if("delete", props)
        _log("delete", id_)
        (self._root / id_).unlink(missing_ok=True)

    def _write(self, props: dict[str, Any]) -> dict[str, Any]:
        path = self._root / props["name"]
        path.write_text(props["content"])
        outputs = {k: props[k] for k in INPUT_KEYS if k in props}
        return {**outputs, "path": str(path), "size": len(props["content"])}

    @staticmethod
    def _fail_if(hook: str, props: dict[str, Any]) -> None:
        if props.get("fail_on") == hook:
            raise RuntimeError(f"refusing to {hook} {props['name']}")


class LooseFileProvider(FileProvider):
    """The same files, but ``diff`` is the SDK default: changes unknown, the engine decides."""

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        _log("diff", _news.get("name"))
        return DiffResult()


class TextFile(Resource, module="trivial", name="TextFile"):
    """One text file: ``pulumi-python:dynamic/trivial:TextFile``."""

    path: pulumi.Output[str]
    size: pulumi.Output[float]
    content: pulumi.Output[str]
    note: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        *,
        content: pulumi.Input[str],
        name: pulumi.Input[str] | None = None,
        exclusive: bool | None = None,
        note: pulumi.Input[str] | None = None,
        size_hint: int | None = None,
        fail_on: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "name": name if name is not None else resource_name,
            "content": content,
            "exclusive": exclusive,
            "note": note,
            "size_hint": size_hint,
            "fail_on": fail_on,
            "path": None,
            "size": None,
        }
        super().__init__(self._make_provider(), resource_name, props, opts)

    @staticmethod
    def _make_provider() -> ResourceProvider:
        return FileProvider()


class LooseFile(TextFile, module="trivial", name="LooseFile"):
    """A text file whose provider leaves the diff to the engine."""

    @staticmethod
    def _make_provider() -> ResourceProvider:
        return LooseFileProvider()
