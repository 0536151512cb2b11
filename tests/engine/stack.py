"""Stack state, the engine's operations and the in-process program runner (see driver.py).

Owns: what the engine keeps between operations (resource state in registration order, the
default provider's id and inputs, stack outputs), the step logic of one pass, and running a
Pulumi program under ``set_mocks`` with a monitor that hands registrations to that logic.
Must not: talk gRPC or marshal values itself (driver.py does), or keep anything that a real
engine would not have between two CLI invocations besides its state.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import runpy
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from google.protobuf import empty_pb2
from pulumi.runtime import mocks, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import provider_pb2, resource_pb2
from pulumi.runtime.stack import run_in_stack

from .driver import (
    ENGINE_ADDRESS,
    UNKNOWN,
    ChangesNotExpectedError,
    CheckFailedError,
    EngineError,
    ProviderHost,
    RpcCall,
    annotate_secrets,
    contains_secrets,
    is_secret,
    marshal,
    random_seed,
    secret,
    unmarshal,
    unwrap_secrets,
)

__all__ = ["OperationResult", "PassRecord", "ResourceState", "Stack", "Step"]

PROVIDER_TYPE = "pulumi:providers:pulumi-python"
PROVIDER_NAME = "default"

Program = Callable[[], Any]


@dataclass(frozen=True)
class ResourceState:
    """One resource as the engine stores it; inputs and outputs keep secret wrappers."""

    type: str
    name: str
    urn: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: tuple[str, ...] = ()
    pending_delete: bool = False

    @property
    def plain_inputs(self) -> dict[str, Any]:
        """The inputs with secrets unwrapped."""
        return dict(unwrap_secrets(self.inputs))

    @property
    def plain_outputs(self) -> dict[str, Any]:
        """The outputs with secrets unwrapped."""
        return dict(unwrap_secrets(self.outputs))


class Step(NamedTuple):
    """A step the engine took (or, in preview, would take) on one resource."""

    op: str
    name: str


@dataclass
class PassRecord:
    """One engine pass: its own host process (if it needed one), calls and steps."""

    preview: bool
    calls: list[RpcCall] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    host_pids: list[int] = field(default_factory=list)
    drift: dict[str, str] = field(default_factory=dict)  # refresh: {name: "update" | "delete"}
    raw_outputs: dict[str, Any] = field(default_factory=dict)  # the program's exports, secrets marked
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0


@dataclass
class OperationResult:
    """What one operation (preview, up, refresh, destroy) did."""

    operation: str
    passes: list[PassRecord] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: frozenset[str] = frozenset()
    seconds: float = 0.0

    @property
    def steps(self) -> list[Step]:
        """The steps of the last pass (the real pass of up, refresh and destroy)."""
        return self.passes[-1].steps if self.passes else []

    @property
    def drift(self) -> dict[str, str]:
        """Refresh: {name: "update" | "delete"} for resources the last pass found drifted."""
        return self.passes[-1].drift if self.passes else {}

    @property
    def calls(self) -> list[RpcCall]:
        """Every provider RPC of every pass, in order."""
        return [call for record in self.passes for call in record.calls]

    def methods(self, pass_index: int | None = None) -> list[str]:
        """Method names in call order, of one pass or of all."""
        calls = self.calls if pass_index is None else self.passes[pass_index].calls
        return [call.method for call in calls]

    def requests(self, method: str) -> list[dict[str, Any]]:
        """Request dicts of every call to ``method``, in order."""
        return [call.request for call in self.calls if call.method == method]


@dataclass(frozen=True)
class _ProviderState:
    id: str
    inputs: dict[str, Any]


class _Registration(NamedTuple):
    type: str
    name: str
    urn: str
    goal: dict[str, Any]
    dependencies: tuple[str, ...]
    delete_before_replace: bool | None
    additional_secret_outputs: tuple[str, ...]


class _Diff(NamedTuple):
    changed: bool
    replace: bool
    delete_before_replace: bool


class _AbortedError(Exception):
    """Raised to the program for registrations after the pass has already failed."""


# --- One pass -----------------------------------------------------------------------------------


class _Pass:
    """The engine's work for one pass; owns its host process, started on first need."""

    def __init__(self, stack: Stack, record: PassRecord, *, configure_from_state: bool) -> None:
        self.stack = stack
        self.record = record
        self.preview = record.preview
        self.configure_from_state = configure_from_state
        self.old = [r for r in stack._state if not r.pending_delete]
        self.old_by_urn = {r.urn: r for r in self.old}
        self.pending = [r for r in stack._state if r.pending_delete]
        self.new: dict[str, ResourceState] = {}
        self.registered: set[str] = set()
        self.deleted: set[int] = set()  # id() of old ResourceState objects already deleted
        self.condemned: list[ResourceState] = []
        self.error: BaseException | None = None
        self._host: ProviderHost | None = None
        self._started = time.perf_counter()

    def __enter__(self) -> _Pass:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._host is not None:
            self._host.close()
            self.record.stdout = self._host.stdout
            self.record.stderr = self._host.stderr
        self.record.seconds = time.perf_counter() - self._started

    # Host start and provider configuration (engine notes §1, §2).

    def host(self) -> ProviderHost:
        """The pass's host, started and configured on first use."""
        if self._host is None:
            stack = self.stack
            env = dict(os.environ)
            env["PULUMI_PROJECT"] = stack.project
            env["PULUMI_CONFIG"] = json.dumps(stack._config_plain())
            env.update(stack.env)
            # Kept before configuring, so __exit__ closes it and keeps its stderr even when
            # Configure fails; the pass is over by then.
            self._host = ProviderHost(stack.project_dir, env, self.record.calls)
            self.record.host_pids.append(self._host.pid)
            self._configure(self._host)
        return self._host

    def _configure(self, host: ProviderHost) -> None:
        stack = self.stack
        urn = stack._urn(PROVIDER_TYPE, PROVIDER_NAME)
        # The engine sends the directory of the plugin binary; ours is the interpreter's.
        plugin_dir = str(Path(sys.executable).parent)
        host.call(
            "Handshake",
            provider_pb2.ProviderHandshakeRequest(
                engine_address=ENGINE_ADDRESS,
                root_directory=plugin_dir,
                program_directory=plugin_dir,
                configure_with_urn=True,
            ),
            unimplemented_ok=True,
        )
        stored = stack._provider
        if self.configure_from_state:
            # Refresh and destroy load providers from state and configure them directly
            # with their stored inputs (engine notes §2, gotcha 17).
            assert stored is not None
            inputs = stored.inputs
        else:
            inputs = stack._config_model()
            host.call(
                "CheckConfig",
                provider_pb2.CheckRequest(
                    urn=urn,
                    name=PROVIDER_NAME,
                    type=PROVIDER_TYPE,
                    olds=marshal(stored.inputs if stored else {}, keep_unknowns=self.preview),
                    news=marshal(inputs, keep_unknowns=self.preview),
                ),
                unimplemented_ok=True,
            )
            if stored is not None:
                host.call(
                    "DiffConfig",
                    provider_pb2.DiffRequest(
                        urn=urn,
                        name=PROVIDER_NAME,
                        type=PROVIDER_TYPE,
                        old_inputs=marshal(stored.inputs, keep_unknowns=True),
                        olds=marshal(stored.inputs, keep_unknowns=True),
                        news=marshal(inputs, keep_unknowns=True),
                    ),
                    unimplemented_ok=True,
                )
        # The stored id; else UNKNOWN in a preview of a new stack, a fresh UUID on its first
        # real pass (providers/registry.go).
        new_id = UNKNOWN if self.preview else str(uuid.uuid4())
        provider_id = stored.id if stored is not None else new_id
        variables = {
            f"pulumi-python:config:{k}": _config_string(unwrap_secrets(v)) for k, v in inputs.items()
        }
        response = host.call(
            "Configure",
            provider_pb2.ConfigureRequest(
                variables=variables,
                args=marshal(inputs, keep_unknowns=True, keep_secrets=True),
                acceptSecrets=True,
                acceptResources=True,
                sends_old_inputs=True,
                sends_old_inputs_to_delete=True,
                id=provider_id,
                urn=urn,
                name=PROVIDER_NAME,
                type=PROVIDER_TYPE,
            ),
        )
        if response.acceptSecrets or response.supportsPreview:
            raise EngineError(
                "the host answered Configure with acceptSecrets/supportsPreview set; this driver "
                "models only the Python host's answer (both false)"
            )
        if not self.preview and not self.configure_from_state:
            stack._provider = _ProviderState(provider_id, inputs)

    # Resource steps (engine notes §3, §4, §6).

    def step(self, op: str, name: str) -> None:
        self.record.steps.append(Step(op, name))

    def register(self, reg: _Registration) -> tuple[str, dict[str, Any]]:
        """Handle one RegisterResource; return the id and outputs the engine answers with."""
        if self.error is not None:
            raise _AbortedError(f"deployment already failed: {self.error}")
        try:
            resource_id, outputs = self._register(reg)
        except BaseException as exc:
            self.error = exc
            raise
        return resource_id, _mark_additional_secrets(reg, outputs)

    def _register(self, reg: _Registration) -> tuple[str, dict[str, Any]]:
        if reg.urn in self.registered:
            raise EngineError(f"duplicate resource URN {reg.urn}")
        self.registered.add(reg.urn)
        old = self.old_by_urn.get(reg.urn)
        checked = self._check(reg, old.inputs if old else {})
        if old is None:
            self.step("create", reg.name)
            if self.preview:
                return "", checked
            return self._create(reg, checked)
        diff = self._diff(reg, old, checked)
        if not diff.changed:
            self.step("same", reg.name)
            self._keep(reg, old.id, checked, old.outputs)
            return old.id, old.outputs
        if diff.replace:
            rechecked = self._check(reg, {})
            dbr = (
                reg.delete_before_replace
                if reg.delete_before_replace is not None
                else diff.delete_before_replace
            )
            if dbr:
                self.step("delete-replaced", reg.name)
                if not self.preview:
                    self.delete(old)
                self.step("replace", reg.name)
                self.step("create-replacement", reg.name)
            else:
                self.step("create-replacement", reg.name)
                self.step("replace", reg.name)
            replacement = ("", rechecked) if self.preview else self._create(reg, rechecked)
            if not dbr:
                self.condemned.append(old)
            return replacement
        self.step("update", reg.name)
        if self.preview:
            # supportsPreview=false: no Update call; the inputs stand in for the outputs.
            return old.id, checked
        outputs = self._update(reg, old, checked)
        return old.id, outputs

    def _keep(
        self, reg: _Registration, resource_id: str, inputs: dict[str, Any], outputs: dict[str, Any]
    ) -> None:
        outputs = _mark_additional_secrets(reg, outputs)
        self.new[reg.urn] = ResourceState(
            reg.type, reg.name, reg.urn, resource_id, inputs, outputs, reg.dependencies
        )

    def _check(self, reg: _Registration, olds: dict[str, Any]) -> dict[str, Any]:
        response = self.host().call(
            "Check",
            provider_pb2.CheckRequest(
                urn=reg.urn,
                name=reg.name,
                type=reg.type,
                olds=marshal(olds, keep_unknowns=self.preview),
                news=marshal(reg.goal, keep_unknowns=self.preview),
                randomSeed=random_seed(reg.urn),
            ),
            urn=reg.urn,
        )
        if response.failures:
            raise CheckFailedError(reg.urn, tuple((f.property, f.reason) for f in response.failures))
        inputs = unmarshal(response.inputs)
        annotate_secrets(inputs, reg.goal)
        return inputs

    def _diff_call(
        self,
        reg_or_state: _Registration | ResourceState,
        resource_id: str,
        olds: dict[str, Any],
        old_inputs: dict[str, Any],
        news: dict[str, Any],
    ) -> _Diff:
        response = self.host().call(
            "Diff",
            provider_pb2.DiffRequest(
                id=resource_id,
                urn=reg_or_state.urn,
                name=reg_or_state.name,
                type=reg_or_state.type,
                olds=marshal(olds, keep_unknowns=self.preview),
                old_inputs=marshal(old_inputs, keep_unknowns=self.preview),
                news=marshal(news, keep_unknowns=self.preview),
            ),
            urn=reg_or_state.urn,
        )
        changes = response.changes
        if changes == provider_pb2.DiffResponse.DIFF_UNKNOWN:
            # The engine diffs the inputs itself, secrets unwrapped and __provider included.
            differs = unwrap_secrets(old_inputs) != unwrap_secrets(news)
            changes = provider_pb2.DiffResponse.DIFF_SOME if differs else provider_pb2.DiffResponse.DIFF_NONE
        changed = changes == provider_pb2.DiffResponse.DIFF_SOME
        return _Diff(changed, changed and len(response.replaces) > 0, response.deleteBeforeReplace)

    def _diff(self, reg: _Registration, old: ResourceState, checked: dict[str, Any]) -> _Diff:
        return self._diff_call(reg, old.id, old.outputs, old.inputs, checked)

    def _create(self, reg: _Registration, checked: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        response = self.host().call(
            "Create",
            provider_pb2.CreateRequest(
                urn=reg.urn, name=reg.name, type=reg.type, properties=marshal(checked), preview=False
            ),
            urn=reg.urn,
        )
        if not response.id:
            raise EngineError(f"provider returned an empty id from Create of {reg.urn}")
        outputs = unmarshal(response.properties)
        annotate_secrets(outputs, checked)
        self._keep(reg, response.id, checked, outputs)
        return response.id, outputs

    def _update(self, reg: _Registration, old: ResourceState, checked: dict[str, Any]) -> dict[str, Any]:
        response = self.host().call(
            "Update",
            provider_pb2.UpdateRequest(
                id=old.id,
                urn=reg.urn,
                name=reg.name,
                type=reg.type,
                olds=marshal(old.outputs),
                old_inputs=marshal(old.inputs),
                news=marshal(checked),
                preview=False,
            ),
            urn=reg.urn,
        )
        outputs = unmarshal(response.properties)
        annotate_secrets(outputs, checked)
        self._keep(reg, old.id, checked, outputs)
        return outputs

    def delete(self, resource: ResourceState) -> None:
        self.host().call(
            "Delete",
            provider_pb2.DeleteRequest(
                id=resource.id,
                urn=resource.urn,
                name=resource.name,
                type=resource.type,
                properties=marshal(resource.outputs),
                old_inputs=marshal(resource.inputs),
            ),
            urn=resource.urn,
        )
        self.deleted.add(id(resource))

    def delete_pending(self) -> None:
        """Delete what a failed up left pending; the engine does this before anything else."""
        for resource in reversed(self.pending):
            self.step("delete-replaced", resource.name)
            if not self.preview:
                self.delete(resource)

    def delete_leftovers(self) -> None:
        """End of a successful pass: delete replaced and unregistered resources, last first."""
        condemned = {id(r) for r in self.condemned}
        for resource in reversed(self.old):
            if id(resource) in condemned:
                self.step("delete-replaced", resource.name)
            elif resource.urn not in self.registered:
                self.step("delete", resource.name)
            else:
                continue
            if not self.preview:
                self.delete(resource)

    def state_after(self) -> list[ResourceState]:
        """The state to save after a real pass, complete or failed.

        Processed resources in registration order, then old resources that were neither
        processed nor deleted, then replaced resources not yet deleted, as pending deletes.
        """
        condemned = {id(r) for r in self.condemned}
        state = list(self.new.values())
        state += [
            r
            for r in self.old
            if r.urn not in self.new and id(r) not in self.deleted and id(r) not in condemned
        ]
        state += [
            dataclasses.replace(r, pending_delete=True)
            for r in self.condemned + self.pending
            if id(r) not in self.deleted
        ]
        return state

    # Refresh (engine notes §3 "Read result", §4 "refresh").

    def refresh(self, resource: ResourceState) -> ResourceState | None:
        response = self.host().call(
            "Read",
            provider_pb2.ReadRequest(
                id=resource.id,
                urn=resource.urn,
                name=resource.name,
                type=resource.type,
                properties=marshal(resource.outputs),
                inputs=marshal(resource.inputs),
            ),
            urn=resource.urn,
        )
        self.step("refresh", resource.name)
        if not response.id:
            self.record.drift[resource.name] = "delete"
            return None
        if response.id != resource.id:
            raise EngineError(
                f"reading resource {resource.urn} yielded an unexpected ID; "
                f"expected {resource.id}, got {response.id}"
            )
        outputs = unmarshal(response.properties)
        annotate_secrets(outputs, resource.outputs)
        if response.HasField("inputs"):
            inputs = unmarshal(response.inputs)
            annotate_secrets(inputs, resource.inputs)
        else:
            inputs = resource.inputs
        # The inverted Diff: refreshed state on the old side, the inputs before refresh as news.
        diff = self._diff_call(resource, resource.id, outputs, inputs, resource.inputs)
        if diff.changed:
            self.record.drift[resource.name] = "update"
        return dataclasses.replace(resource, inputs=inputs, outputs=outputs)


def _mark_additional_secrets(reg: _Registration, outputs: dict[str, Any]) -> dict[str, Any]:
    """The ``additional_secret_outputs`` option: the engine marks those outputs secret."""
    marked = dict(outputs)
    for key in reg.additional_secret_outputs:
        if key in marked and not is_secret(marked[key]):
            marked[key] = secret(marked[key])
    return marked


# --- The program runner -------------------------------------------------------------------------


class _NoMocks(mocks.Mocks):
    """Unused: every call the mocks would answer is answered by the monitor or refused."""

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        raise NotImplementedError("resource registration goes through the engine monitor")

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise NotImplementedError(f"invokes are not modelled by the engine driver: {args.token}")


class _EngineMonitor(mocks.MockMonitor):
    """A mock resource monitor that hands each registration to the engine pass (notes §6)."""

    def __init__(self, engine_pass: _Pass) -> None:
        super().__init__(_NoMocks())
        self._pass = engine_pass
        self.root_urn = ""
        self.stack_outputs: dict[str, Any] | None = None

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine leaves the root stack out of URNs and keeps the parent's whole qualified
        # type otherwise; MockMonitor prefixes the stack and only the parent's last type.
        qualified = parent.split("::")[2] if parent else "pulumi:pulumi:Stack"
        if qualified != "pulumi:pulumi:Stack":
            type_ = f"{qualified}${type_}"
        return f"urn:pulumi:{settings.get_stack()}::{settings.get_project()}::{type_}::{name}"

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            self.root_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        if not request.custom:
            # Components involve no provider; the engine only records them.
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _refuse_unmodelled(request)
        registration = _Registration(
            type=request.type,
            name=request.name,
            urn=urn,
            goal=unmarshal(request.object),
            dependencies=tuple(request.dependencies),
            delete_before_replace=request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None,
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
        )
        resource_id, outputs = self._pass.register(registration)
        # The monitor accepts secrets and unknowns, so both go back to the program as they are.
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=resource_id, object=marshal(outputs, keep_unknowns=True, keep_secrets=True)
        )

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn == self.root_urn:
            self.stack_outputs = unmarshal(request.outputs)
        return empty_pb2.Empty()

    def ReadResource(self, request: Any) -> Any:
        raise NotImplementedError(f"Resource.get / read is not modelled by the engine driver: {request.type}")


def _refuse_unmodelled(request: Any) -> None:
    if not request.type.startswith("pulumi-python:dynamic"):
        raise NotImplementedError(f"only Python dynamic resources are modelled, not {request.type}")
    options = {
        "provider": request.provider,
        "ignore_changes": list(request.ignoreChanges),
        "replace_on_changes": list(request.replaceOnChanges),
        "protect": request.protect,
        "retain_on_delete": request.retainOnDelete,
        "deleted_with": request.deletedWith,
        "import_": request.importId,
        "aliases": list(request.aliases) or list(request.aliasURNs),
        # Both decide replacements in the engine's step generator, which this driver reimplements.
        "replace_with": list(request.replace_with),
        "replacement_trigger": request.HasField("replacement_trigger"),
    }
    used = sorted(name for name, value in options.items() if value)
    if used:
        raise NotImplementedError(f"resource options not modelled by the engine driver: {', '.join(used)}")


# Stands in for the root resource while set_mocks runs: set_mocks would otherwise register a
# root Stack of its own, whose (empty) outputs registration races with the program's.
_ROOT_PLACEHOLDER: Any = object()


@contextlib.contextmanager
def _program_environment(project_dir: Path) -> Iterator[None]:
    """cwd = project dir and the project dir first on sys.path, as for the language host.

    Modules imported from the project dir are forgotten afterwards: each pass of the real CLI
    runs the program in a new process.
    """
    old_cwd = os.getcwd()
    old_path = list(sys.path)
    old_modules = set(sys.modules)
    os.chdir(project_dir)
    sys.path.insert(0, str(project_dir))
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        for name in set(sys.modules) - old_modules:
            if _imported_from(sys.modules[name], name, project_dir):
                del sys.modules[name]


def _imported_from(module: Any, name: str, directory: Path) -> bool:
    """Whether ``module`` was found through ``directory`` as a sys.path entry.

    Only modules at the directory's top level count: a package installed from a subdirectory
    (the checkout's ``provider/``) or a virtualenv inside the project stays imported.
    """
    file = getattr(module, "__file__", None)
    if not file or not Path(file).resolve().is_relative_to(directory):
        return False
    top = name.partition(".")[0]
    return Path(file).resolve().relative_to(directory).parts[0] in (top, f"{top}.py")


# --- The stack ----------------------------------------------------------------------------------


class Stack:
    """A stack: config, state between operations and the four CLI operations (see driver.py)."""

    def __init__(
        self,
        project_dir: str | os.PathLike[str],
        program: Program | None = None,
        *,
        project: str | None = None,
        stack: str = "dev",
        config: Mapping[str, Any] | None = None,
        secret_keys: set[str] | frozenset[str] = frozenset(),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.project_dir = Path(project_dir).resolve()
        self.program = program
        self.project = project or _project_name(self.project_dir)
        self.stack = stack
        self.config: dict[str, Any] = dict(config or {})
        self.secret_keys: set[str] = set(secret_keys)
        self.env: dict[str, str] = dict(env or {})
        self.history: list[OperationResult] = []
        self._state: list[ResourceState] = []
        self._provider: _ProviderState | None = None
        self._outputs: dict[str, Any] = {}

    # Views.

    @property
    def resources(self) -> dict[str, ResourceState]:
        """Live resources by name, in state order (pending deletes left out)."""
        return {r.name: r for r in self._state if not r.pending_delete}

    @property
    def state(self) -> list[ResourceState]:
        """Every state entry in order, pending deletes included."""
        return list(self._state)

    @property
    def outputs(self) -> dict[str, Any]:
        """Stack outputs after the last committed operation, secrets unwrapped."""
        return dict(unwrap_secrets(self._outputs))

    @property
    def provider_id(self) -> str | None:
        """The default provider's id in state, None before the first real pass."""
        return self._provider.id if self._provider else None

    # Operations.

    def preview(self) -> OperationResult:
        """`pulumi preview`: one preview pass; nothing is created and state is not saved."""
        return self._operation("preview", [True], self._program_pass)

    def up(self, *, skip_preview: bool = False, expect_no_changes: bool = False) -> OperationResult:
        """`pulumi up --yes`: a preview pass, then the real pass, each with a fresh host."""
        result = self._operation("up", _passes(skip_preview), self._program_pass)
        if expect_no_changes:
            changes = [s for s in result.steps if s.op != "same"]
            if changes:
                error = ChangesNotExpectedError(f"no changes were expected but these occurred: {changes}")
                error.result = result
                raise error
        return result

    def refresh(self, *, skip_preview: bool = False) -> OperationResult:
        """`pulumi refresh --yes`: Read every resource, drop the gone, record drift."""
        return self._operation("refresh", _passes(skip_preview), self._refresh_pass)

    def destroy(self, *, skip_preview: bool = False) -> OperationResult:
        """`pulumi destroy --yes`: Delete every resource in reverse state order."""
        return self._operation("destroy", _passes(skip_preview), self._destroy_pass)

    def _operation(
        self, name: str, previews: list[bool], run_pass: Callable[[PassRecord], None]
    ) -> OperationResult:
        result = OperationResult(name)
        started = time.perf_counter()
        try:
            for preview in previews:
                record = PassRecord(preview=preview)
                result.passes.append(record)
                run_pass(record)
        except EngineError as exc:
            exc.result = result
            raise
        finally:
            result.seconds = time.perf_counter() - started
            self.history.append(result)
        # A preview reports what its program exported; the others, what the stack now holds.
        raw = result.passes[-1].raw_outputs if name == "preview" else self._outputs
        result.outputs = dict(unwrap_secrets(raw))
        result.secret_outputs = _secret_names(raw)
        return result

    def _program_pass(self, record: PassRecord) -> None:
        with _Pass(self, record, configure_from_state=False) as engine_pass:
            try:
                engine_pass.delete_pending()
                raw_outputs = self._run_program(engine_pass)
                engine_pass.delete_leftovers()
            finally:
                if not record.preview:
                    self._state = engine_pass.state_after()
        record.raw_outputs = raw_outputs or {}
        if not record.preview:
            self._outputs = record.raw_outputs
            if not self._state:
                # A successful update drops the default provider once nothing uses it.
                self._provider = None

    def _refresh_pass(self, record: PassRecord) -> None:
        refreshed: list[ResourceState] = []
        with _Pass(self, record, configure_from_state=True) as engine_pass:
            remaining = list(self._state)
            try:
                while remaining:
                    resource = remaining[0]
                    if not resource.pending_delete:
                        fresh = engine_pass.refresh(resource)
                        if fresh is not None:
                            refreshed.append(fresh)
                    else:
                        refreshed.append(resource)
                    remaining.pop(0)
            finally:
                if not record.preview:
                    self._state = refreshed + remaining

    def _destroy_pass(self, record: PassRecord) -> None:
        with _Pass(self, record, configure_from_state=True) as engine_pass:
            remaining = list(self._state)
            if remaining:
                engine_pass.host()
            try:
                for resource in reversed(self._state):
                    engine_pass.step("delete", resource.name)
                    if not record.preview:
                        engine_pass.delete(resource)
                        remaining.remove(resource)
            finally:
                if not record.preview:
                    self._state = remaining
                    if not remaining:
                        self._provider = None
                        self._outputs = {}

    # Program runs.

    def _run_program(self, engine_pass: _Pass) -> dict[str, Any] | None:
        """Run the program in a worker thread against the pass; return the raw stack outputs."""
        box: dict[str, Any] = {}
        thread = threading.Thread(
            target=self._program_thread, args=(engine_pass, box), name="pulumi-program", daemon=True
        )
        thread.start()
        thread.join()
        if engine_pass.error is not None:
            # The provider's error, not the SDK's wrapping of it, is what `pulumi up` reports.
            raise engine_pass.error
        if "error" in box:
            raise box["error"]
        outputs: dict[str, Any] | None = box.get("outputs")
        return outputs

    def _program_thread(self, engine_pass: _Pass, box: dict[str, Any]) -> None:
        # A new thread starts with an empty context, so the SDK's context variables (settings,
        # config, root resource) set here never leak into the test or into the next run.
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_quiet_unobserved)
        asyncio.set_event_loop(loop)
        # One executor thread: monitor calls then reach the pass one at a time, in the order the
        # program makes them, which keeps the step order deterministic.
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pulumi-monitor")
        loop.set_default_executor(executor)
        monitor = _EngineMonitor(engine_pass)
        try:
            set_all_config(self._config_plain(), sorted(self.secret_keys))
            settings.set_root_resource(_ROOT_PLACEHOLDER)
            mocks.set_mocks(
                _NoMocks(),
                project=self.project,
                stack=self.stack,
                preview=engine_pass.preview,
                monitor=monitor,
            )
            settings.set_root_resource(None)  # type: ignore[arg-type]
            with _program_environment(self.project_dir):
                loop.run_until_complete(run_in_stack(self._program_function()))
            box["outputs"] = monitor.stack_outputs
        except BaseException as exc:
            box["error"] = exc
        finally:
            # A failed program leaves output tasks behind; end them here rather than have the
            # loop complain about them at exit, as the language host's process exit would.
            leftovers = asyncio.all_tasks(loop)
            for task in leftovers:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            executor.shutdown(wait=True)
            loop.close()
            asyncio.set_event_loop(None)

    def _program_function(self) -> Callable[[], Any]:
        if self.program is not None:
            return self.program
        main = self.project_dir / "__main__.py"
        if not main.is_file():
            raise FileNotFoundError(f"no program given and no {main}")
        return lambda: runpy.run_path(str(main), run_name="__main__")

    # Config and naming.

    def _urn(self, type_: str, name: str) -> str:
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    def _config_plain(self) -> dict[str, str]:
        """Config as PULUMI_CONFIG and the program see it: plain strings."""
        return {k: _config_string(v) for k, v in self.config.items()}

    def _config_model(self) -> dict[str, Any]:
        """Config as the engine holds provider inputs: strings, secret keys wrapped."""
        return {k: secret(v) if k in self.secret_keys else v for k, v in self._config_plain().items()}


def _quiet_unobserved(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # When a registration fails, every output depending on it fails with the same error and
    # nobody awaits most of them; that error already reaches the test, so asyncio's
    # "exception was never retrieved" reports about them are noise. Anything else is logged.
    if "never retrieved" in str(context.get("message", "")):
        return
    loop.default_exception_handler(context)


def _passes(skip_preview: bool) -> list[bool]:
    return [False] if skip_preview else [True, False]


def _config_string(value: Any) -> str:
    # Config values are strings; structured values travel as their JSON text.
    return value if isinstance(value, str) else json.dumps(value)


def _secret_names(raw_outputs: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(k for k, v in raw_outputs.items() if contains_secrets(v))


def _project_name(project_dir: Path) -> str:
    pulumi_yaml = project_dir / "Pulumi.yaml"
    if not pulumi_yaml.is_file():
        raise FileNotFoundError(f"{pulumi_yaml} not found; pass project= explicitly")
    name = yaml.safe_load(pulumi_yaml.read_text())["name"]
    return str(name)
