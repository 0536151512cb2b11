"""The PhoneNumberBinding resource: its arguments, its Pulumi dynamic provider, and the resource class.

Owns the edge with the Pulumi engine: each hook turns the engine's dicts into typed values on its
first line and typed values back into dicts on its last (the engine hands ints back as floats and
drops None values, so outputs are read only through :func:`_owned` and
``models.spec_from_canonical``). Must not contain business rules: the rules on inputs are
``validation.py``'s, what to change is ``plan.py``, how to call the API is
``executor.py``. The provider object is
pickled into the state (``__provider``), so it holds no attribute at all: settings and credentials
live in ``config.py``'s process registry, filled by :meth:`PhoneNumberBindingProvider.configure`,
and clients are built per call. The executor (and through it the Alibaba SDK) is imported only by
create, update, read and delete: check and diff run in every preview and stay offline and cheap.

Decisions, for users and reviewers:

* **diff** is offline. An ``instance_id`` change (or an unknown one during preview) replaces the
  binding, deleting first (a number cannot be bound to two instances). Otherwise equal canonical
  inputs answer "no change" and anything else answers "unknown" (``changes=None``), so the engine
  computes a per-key diff and ``pulumi preview --diff`` prints only the numbers that change.
* **Ownership**: a binding owns the numbers in its previous outputs (none on create), plus the ones
  it adopts with ``adopt_existing=True``. It never touches any other number in the instance.
* **A failed create or update unbinds the numbers it bound** (best effort; the error names any it
  could not unbind). Reason: Python dynamic providers cannot return partial state, so after a failed
  update the engine keeps the *old* outputs, in which the newly bound numbers are not owned; left
  bound, the next ``pulumi up`` would refuse them as "bound but not owned". Unbound, the next run
  binds them again and converges with no user action. Removes and settings changes made before the
  failure are kept: the numbers involved are owned in the old outputs, so the next run plans
  against live state and finishes the job. Only when an unbind fails too (or an add's outcome stays
  unknown) do numbers stay behind, and the error says to take them over with ``adopt_existing=True``.
* **One number, one binding, per program.** The resource's constructor, in the program process,
  notes the plain numbers each binding declares; a number a second binding declares too reaches
  that binding's check in a hidden input, and check refuses it at preview, naming the first (the
  provider host checks one resource at a time and never learns its name).
* **Check failures** are shaped for the CLI, which shows a value only for a top-level input named
  exactly by the failure's property (:func:`_for_the_cli`).
* **read** (refresh) reports the owned numbers still bound, with their live settings, as both
  outputs and inputs, so the next preview shows exactly the drift. When none is left, the binding
  is gone (``ReadResult(None, {})``).
"""

from __future__ import annotations

import inspect
import threading
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Never, TypedDict

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

from . import config, handover, host, listing
from .models import BindingSpec, Change, Usage, canonical_dict, classify_change, spec_from_canonical
from .validation import DECLARED_ELSEWHERE, Failure, check_inputs, declared_numbers

if TYPE_CHECKING:
    from .client import BoundNumber

__all__ = [
    "NumberSettingsArgs",
    "PhoneNumberBinding",
    "PhoneNumberBindingArgs",
    "PhoneNumberBindingProvider",
]

_PROVIDER_KEY = "__provider"


class NumberSettingsArgs(TypedDict, total=False):
    """Per-number settings in the mapping form of ``numbers``; each one left out takes the resource's."""

    usage: pulumi.Input[Usage | str]
    contact_flow_id: pulumi.Input[str]
    skill_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]]


_Numbers = pulumi.Input[Sequence[pulumi.Input[str]]] | pulumi.Input[Mapping[str, NumberSettingsArgs]]


@dataclass(init=False)
class PhoneNumberBindingArgs:
    """The inputs of a :class:`PhoneNumberBinding`.

    ``numbers`` is a list of numbers that share the resource-level settings, or a mapping from
    number to :class:`NumberSettingsArgs`. ``usage`` defaults to Bidirection (Inbound for 400
    numbers). ``adopt_existing`` takes over numbers already bound in the instance (for example
    after an interrupted run) instead of refusing them.

    Any other keyword (typed ``Never``, so that a type checker flags it) is kept in ``misspelt``
    and passed on, so that check refuses it with a "did you mean" like every other bad input,
    instead of a ``TypeError`` traceback of the program.
    """

    instance_id: pulumi.Input[str]
    numbers: _Numbers
    usage: pulumi.Input[Usage | str] | None
    contact_flow_id: pulumi.Input[str] | None
    skill_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None
    adopt_existing: pulumi.Input[bool] | None
    misspelt: dict[str, Any]

    def __init__(  # noqa: PLR0917 - positional, as the dataclass's generated __init__ was
        self,
        instance_id: pulumi.Input[str],
        numbers: _Numbers,
        usage: pulumi.Input[Usage | str] | None = None,
        contact_flow_id: pulumi.Input[str] | None = None,
        skill_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        adopt_existing: pulumi.Input[bool] | None = None,
        **misspelt: Never,
    ) -> None:
        self.instance_id = instance_id
        self.numbers = numbers
        self.usage = usage
        self.contact_flow_id = contact_flow_id
        self.skill_group_ids = skill_group_ids
        self.adopt_existing = adopt_existing
        self.misspelt = dict(misspelt)

    def to_props(self) -> dict[str, Any]:
        """The resource properties, unset ones left out; misspelt ones kept for check to refuse."""
        props = {
            "instance_id": self.instance_id,
            "numbers": self.numbers,
            "usage": self.usage,
            "contact_flow_id": self.contact_flow_id,
            "skill_group_ids": self.skill_group_ids,
            "adopt_existing": self.adopt_existing,
            **self.misspelt,
        }
        return {key: value for key, value in props.items() if value is not None}


# ------------------------------------------------------------------------------------------------
# dict ⇄ typed values


def _owned(props: Mapping[str, Any]) -> dict[str, str | None]:
    """The numbers a binding's outputs own, each with its last known PhoneNumberId (None if not known)."""
    numbers = props.get("numbers")
    ids = props.get("phone_number_ids")
    ids = ids if isinstance(ids, Mapping) else {}
    owned: dict[str, str | None] = {}
    for number in (*(numbers if isinstance(numbers, Mapping) else ()), *ids):
        pid = ids.get(number)
        owned[number] = pid if isinstance(pid, str) and pid else None
    return owned


def _keep_numbers_without_settings(numbers: Any) -> Any:
    """A mapping of numbers with each ``None`` value made ``{}`` (both mean "the resource's settings").

    The SDK drops ``None`` values inside a mapping before the engine sees it, so ``{number: None}``
    would silently lose the number: never bound, or unbound by the next update. A mapping still
    inside an Output cannot be reached here; there the SDK drops such a number before check runs.
    """
    if isinstance(numbers, Mapping) and any(value is None for value in numbers.values()):
        return {key: {} if value is None else value for key, value in numbers.items()}
    return numbers


def _outputs(spec: BindingSpec, bound: Mapping[str, BoundNumber]) -> dict[str, Any]:
    # The canonical inputs (later operations get only outputs, so they must carry what the binding
    # declares) and each number's PhoneNumberId (the API's key for modify and remove). Nothing else:
    # outputs cross the wire in every Diff, Update and Read and sit in state; the per-number facts
    # once kept here (number_details: trunks, remaining time, names) were 44% of a 10,000-number
    # state, changed with no Pulumi action (remaining time counts down) and belong to the instance,
    # where `ccc-numbers doctor` and the console show them (README, Outputs).
    outs = canonical_dict(spec)
    outs["phone_number_ids"] = {number: bound[number].phone_number_id for number in spec.numbers}
    return outs


def _same_instance(olds: Mapping[str, Any], spec: BindingSpec) -> bool:
    return olds.get("instance_id") == spec.instance_id


def _prints_as_written(value: object) -> bool:
    """True for a value the CLI prints as the user wrote it (a number prints as 2.16066e+09)."""
    return isinstance(value, (str, bool)) or (isinstance(value, (list, Mapping)) and not value)


def _for_the_cli(failure: Failure, news: Mapping[str, Any]) -> CheckFailure:
    """One check failure in the form that makes the CLI show the user's value, never ``{<nil>}``.

    The CLI prints ``property <p> value {<v>} has a problem: <reason>``, where ``<v>`` is the
    top-level input named exactly ``<p>`` in what the program registered: not a path into it, and
    not the inputs check returns (``issueCheckFailures`` in pkg/resource/deploy/step_generator.go,
    v3.276.0; seen with the real CLI). A path such as ``numbers[1]`` therefore printed ``{<nil>}``.
    A failure keeps its property only when that is a top-level input whose value prints as
    written; any other is sent without one, which the CLI prints as ``resource '<name>' has a
    problem: <path> <reason>``, the user's value being in the reason.
    """
    path, reason = failure.property, failure.reason
    if path in news and _prints_as_written(news[path]):
        return CheckFailure(path, reason)
    # "numbers is required", "numbers[0] must be …"; a reason that opens with the value gets a colon.
    joiner = " " if reason.startswith(("is ", "must ")) else ": "
    return CheckFailure("", f"{path}{joiner}{reason}")


# ------------------------------------------------------------------------------------------------
# The provider


class PhoneNumberBindingProvider(ResourceProvider):
    """The dynamic provider behind :class:`PhoneNumberBinding`. Stateless: safe to pickle into state."""

    # Nothing secret is pickled (the object has no attributes), so ``__provider`` need not be a secret.
    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        """Install the stack's ``ccc:`` settings and credentials in the process registry, not on self.

        It does not start importing the Alibaba SDK in the background: measured with the real CLI,
        that made every preview slower (the import competes for the CPU and the GIL while the
        engine finishes the preview) by more than it saved on the first create (README, Performance).
        """
        # First, so that even a configuration error reads as text in the CLI (host.py).
        host.install()
        config.configure(req.config)
        # Listings shared by reads belong to the previous configuration (endpoint, account).
        listing.clear()

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the user's inputs offline and return the canonical inputs."""
        outcome = check_inputs(news)
        if outcome.ok:
            # Numbers this binding gives up, so that another one receiving them gets the right advice.
            handover.note_check(olds, outcome.inputs)
        inputs = dict(outcome.inputs)
        if _PROVIDER_KEY in news:
            inputs[_PROVIDER_KEY] = news[_PROVIDER_KEY]
        return CheckResult(inputs, [_for_the_cli(failure, news) for failure in outcome.failures])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Offline: replace on an instance change, no change when equal, else let the engine diff keys."""
        change = classify_change(olds, news)
        if change is Change.REPLACE:
            return DiffResult(changes=True, replaces=["instance_id"], delete_before_replace=True)
        if change is Change.NONE:
            return DiffResult(changes=False)
        # None, not True: the engine then diffs the inputs per key and shows only the changed numbers.
        return DiffResult(changes=None)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Bind the declared numbers, refusing any already bound unless adopting them."""
        spec = spec_from_canonical(props)
        from . import executor  # noqa: PLC0415 - check/diff must not pay for the client and its SDK

        bound = executor.converge(spec, {}, operation="create")
        return CreateResult(f"{spec.instance_id}/{uuid.uuid4().hex}", _outputs(spec, bound))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Bring the owned and declared numbers to the declared state, planned against live state."""
        spec = spec_from_canonical(news)
        owned = _owned(olds) if _same_instance(olds, spec) else {}
        from . import executor  # noqa: PLC0415 - see create

        bound = executor.converge(spec, owned, operation="update")
        return UpdateResult(_outputs(spec, bound))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The owned numbers still bound, with live settings, as outputs and inputs; gone when none is."""
        instance_id = str(props["instance_id"])
        owned = _owned(props)
        adopt = bool(props.get("adopt_existing", False))
        from . import executor  # noqa: PLC0415 - see create

        live = executor.read_live(instance_id, owned)
        if not live:
            # Not ReadResult(None, None): the host writes __provider into the outputs.
            return ReadResult(None, {})
        spec = BindingSpec(instance_id, {n: b.settings for n, b in live.items()}, adopt_existing=adopt)
        return ReadResult(id_, _outputs(spec, live), canonical_dict(spec))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Unbind every owned number; one already gone counts as done."""
        instance_id = str(props["instance_id"])
        owned = _owned(props)
        from . import executor  # noqa: PLC0415 - see create

        executor.unbind(instance_id, owned)


# ------------------------------------------------------------------------------------------------
# Numbers declared by two bindings of one program


class _DeclaredNumbers:
    """The numbers each binding of a program run declares, so that check refuses one in two bindings.

    The provider host checks one resource at a time and never learns its name, so the program
    process, where the resources are constructed, finds the number a second binding declares and
    hands it to that binding's check in the hidden input `DECLARED_ELSEWHERE`, naming the first.
    A run is keyed by its resource monitor: the Automation API and test drivers run programs again
    in one process, each run with a new monitor. Numbers inside an Output are claimed when it
    resolves (before the resource registers); one still unknown in a preview is not compared.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: weakref.WeakKeyDictionary[object, dict[str, tuple[str, str, str]]] = (
            weakref.WeakKeyDictionary()
        )

    def claim(self, resource_name: str, numbers: object) -> object:
        """What the binding's `DECLARED_ELSEWHERE` input is: None when no number is taken."""
        monitor = pulumi.runtime.settings.get_monitor()
        if monitor is None:
            return None
        with self._lock:
            run = self._runs.setdefault(monitor, {})
        if isinstance(numbers, Mapping) or (
            isinstance(numbers, (list, tuple)) and not any(_is_awaitable(raw) for raw in numbers)
        ):
            return self._claim(run, resource_name, numbers)
        return pulumi.Output.from_input(numbers).apply(
            lambda resolved: self._claim(run, resource_name, resolved)
        )

    def _claim(
        self, run: dict[str, tuple[str, str, str]], resource_name: str, numbers: object
    ) -> dict[str, list[str]] | None:
        taken: dict[str, list[str]] = {}
        with self._lock:
            for number, (path, raw) in declared_numbers(numbers).items():
                first = run.setdefault(number, (resource_name, path, raw))
                if first[0] != resource_name:
                    taken[number] = list(first)
        return taken or None


def _is_awaitable(value: object) -> bool:
    return isinstance(value, pulumi.Output) or inspect.isawaitable(value)


_declared = _DeclaredNumbers()


# ------------------------------------------------------------------------------------------------
# The resource


class PhoneNumberBinding(Resource, module="ccc", name="PhoneNumberBinding"):
    """Phone numbers bound to one Alibaba Cloud Contact Center (CCC) instance, applied in batches.

    Type token ``pulumi-python:dynamic/ccc:PhoneNumberBinding``. Pass a
    :class:`PhoneNumberBindingArgs` or the same fields as keyword arguments.
    """

    instance_id: pulumi.Output[str]
    #: Whether numbers already bound in the instance are taken over.
    adopt_existing: pulumi.Output[bool]
    #: The canonical numbers: ``{number: {usage, contact_flow_id, skill_group_ids}}``. Typed Any on
    #: purpose: the SDK converts outputs to the declared type, and in a preview the engine echoes the
    #: inputs, where ``numbers`` may still be the user's list.
    numbers: pulumi.Output[Any]
    #: ``{number: PhoneNumberId}``.
    phone_number_ids: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        resource_name: str,
        args: PhoneNumberBindingArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        instance_id: pulumi.Input[str] | None = None,
        numbers: _Numbers | None = None,
        usage: pulumi.Input[Usage | str] | None = None,
        contact_flow_id: pulumi.Input[str] | None = None,
        skill_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        adopt_existing: pulumi.Input[bool] | None = None,
        **misspelt: Never,
    ) -> None:
        keywords = {
            "instance_id": instance_id,
            "numbers": numbers,
            "usage": usage,
            "contact_flow_id": contact_flow_id,
            "skill_group_ids": skill_group_ids,
            "adopt_existing": adopt_existing,
        }
        given = {key: value for key, value in keywords.items() if value is not None}
        if args is not None and given:
            raise TypeError(
                f"PhoneNumberBinding {resource_name!r}: pass either args or keyword arguments, not both "
                f"(got args and {', '.join(sorted(given))})"
            )
        # Missing required inputs and misspelt keywords (``usgae=``, ``contactFlowId=``; typed Never so
        # that a type checker flags them) are reported by check, with "did you mean" and the same
        # wording as every other failure: raising here would print a traceback of the program.
        props: dict[str, Any] = args.to_props() if args is not None else given
        unknown: dict[str, Any] = misspelt
        props.update({key: value for key, value in unknown.items() if value is not None})
        if "numbers" in props:
            props["numbers"] = _keep_numbers_without_settings(props["numbers"])
            elsewhere = _declared.claim(resource_name, props["numbers"])
            if elsewhere is not None:
                props[DECLARED_ELSEWHERE] = elsewhere
        # The output-only property, declared so that it becomes an attribute; check drops it.
        props["phone_number_ids"] = None
        super().__init__(PhoneNumberBindingProvider(), resource_name, props, opts)
