"""``ccc-numbers import``: a ready Pulumi project that adopts the phone numbers already bound to an instance.

Every call center adopting this provider already has its numbers bound, by console clicks, and a
Python dynamic resource cannot be brought in with ``pulumi import`` (pulumi/pulumi#16175). With the
provider's own settings chain (:mod:`ccc_numbers.stack_settings`) this lists the instance's live
bindings (ListPhoneNumbers) and the names of their contact flows and skill groups
(ListContactFlows, ListSkillGroups), keeps the numbers ``--only`` / ``--exclude`` select, and
writes a project to ``--out``: one ``PhoneNumberBinding`` per set of identical settings, each with
``adopt_existing=True``, so that its first ``pulumi up`` lists the instance and writes nothing
(:mod:`ccc_numbers.scaffold` renders the files). With ``--format csv`` the numbers go into a CSV
that the program reads.

Exit codes: 0 the project was written; 1 nothing to import or the service said no (an unknown
instance, a refused key, no bindings, none left after the filters, a failed listing); 2 the import
could not start (bad arguments, an unreadable pattern file, a non-empty ``--out`` without
``--force``, a stack config it cannot read, an invalid ``ccc:`` value, no credentials).

Owns the command: its options, the order of its checks (everything local before the first API
call), its messages (one line each, with what to do) and writing the files. Must not write to the
API (it makes only the three list calls) or put a credential into a file or a message: the
generated stack config holds only ``ccc:region`` / ``ccc:endpoint``, and messages name the
AccessKey by its id. Talks to the API only through :mod:`ccc_numbers.client`.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from . import client as ccc
from . import scaffold, stack_settings
from .config import EMBEDDED, K_EMBEDDED_STATE_PATH, K_ENDPOINT, K_REGION, Endpoint, RuntimeConfig
from .errors import ApiError, CccError, ConfigurationError, NotFoundError, TransportError, plural
from .models import Settings
from .validation import normalize_number

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "Request", "add_parser", "run", "stack_config"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_PROG = "ccc-numbers import"
_DISTRIBUTION = "pulumi-ccc-numbers"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_SHOWN = 5


_EVERY_NUMBER = scaffold.Selection()


class _UsageError(Exception):
    """The import cannot start; the text says why and what to pass instead."""


@dataclass(frozen=True)
class Request:
    """What to import and where to write it: the parsed command line."""

    instance_id: str
    out: Path
    form: str = "program"
    selection: scaffold.Selection = _EVERY_NUMBER
    force: bool = False
    #: The Pulumi project name; None: from the folder's name.
    name: str | None = None
    #: The stack of the generated config file; None: the stack the settings came from, else dev.
    stack: str | None = None
    #: The requirements.txt line; None: this version of pulumi-ccc-numbers.
    requirement: str | None = None
    protect: bool = True


def add_parser(commands: stack_settings.Commands) -> None:
    """Register ``import`` with the ``ccc-numbers`` command line."""
    parser = commands.add_parser(
        "import",
        help="write a Pulumi project that adopts the numbers already bound to an instance",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        epilog="Exit codes: 0 the project was written, 1 nothing to import or the service said no, "
        "2 the import could not start.",
    )
    stack_settings.add_arguments(parser)
    parser.add_argument("--instance", metavar="ID", required=True, help="the CCC instance to import")
    parser.add_argument(
        "--out", metavar="DIR", required=True, type=Path,
        help="the folder to write the project to (new or empty, unless --force)",
    )
    parser.add_argument(
        "--format", choices=("program", "csv"), default="program",
        help="program: one PhoneNumberBinding per set of settings in __main__.py (default); csv: the "
        "numbers in numbers.csv and a __main__.py that reads it",
    )
    for option, what in (("--only", "import only numbers matching"),
                         ("--exclude", "leave out numbers matching")):
        parser.add_argument(
            option, metavar="PATTERN", action="append", default=[],
            help=f"{what} this glob (0216066*, 021606600[0-4]), or @FILE with one pattern per line "
            "(repeatable)",
        )
    parser.add_argument(
        "--force", action="store_true",
        help="write into a non-empty --out, replacing the files import writes (an existing stack config "
        "file is kept)",
    )
    parser.add_argument("--name", metavar="PROJECT", help="the Pulumi project name (default: from --out)")
    parser.add_argument(
        "--out-stack", metavar="NAME",
        help="the stack whose config file to write, Pulumi.NAME.yaml (default: the stack the settings came "
        "from, else dev)",
    )
    parser.add_argument(
        "--requirement", metavar="SPEC",
        help="the requirements.txt line for the provider (default: pulumi-ccc-numbers==<this version>), "
        "e.g. 'pulumi-ccc-numbers @ file:///path/to/the.whl'",
    )
    parser.add_argument(
        "--no-protect", action="store_true",
        help="leave out protect=True (by default, as with pulumi import, the bindings are protected)",
    )
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace, clock: Callable[[], float]) -> int:  # noqa: ARG001 - handler shape
    try:
        request = Request(
            instance_id=_instance(args.instance),
            out=args.out,
            form=args.format,
            selection=scaffold.Selection(
                _patterns("--only", args.only), _patterns("--exclude", args.exclude)
            ),
            force=args.force,
            name=_checked_name("--name", args.name),
            stack=_checked_name("--out-stack", args.out_stack),
            requirement=args.requirement,
            protect=not args.no_protect,
        )
        _check_out(request.out, force=request.force)
        settings = stack_settings.load(stack=args.stack, endpoint=args.endpoint)
    except (_UsageError, scaffold.PatternError, stack_settings.SettingsError) as err:
        print(f"{_PROG}: {err}", file=sys.stderr)
        return EXIT_USAGE
    return run(settings, request, out=sys.stdout, err=sys.stderr)


def _instance(value: str) -> str:
    if not value.strip() or value != value.strip():
        raise _UsageError(f"--instance {value!r} is not an instance id: write it without spaces around it")
    return value


def _checked_name(option: str, value: str | None) -> str | None:
    if value is not None and not _NAME.match(value):
        raise _UsageError(
            f"{option} {value!r} is not a Pulumi name: use letters, digits, '-', '_' and '.' (at most 100)"
        )
    return value


def _patterns(option: str, values: Sequence[str]) -> tuple[str, ...]:
    """The patterns of the command line, each ``@FILE`` replaced by the file's (blank lines and # skipped)."""
    patterns: list[str] = []
    for value in values:
        if not value.startswith("@"):
            patterns.append(value.strip())
            continue
        path = Path(value[1:]).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            raise _UsageError(f"cannot read {option} {value}: {reason}") from None
        patterns.extend(
            line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
        )
    return tuple(patterns)


def _check_out(out: Path, *, force: bool) -> None:
    """Refuse a ``--out`` that is a file, or a folder with anything in it unless ``force``."""
    if out.exists() and not out.is_dir():
        raise _UsageError(f"--out {out} is a file: name a new or empty folder")
    if out.is_dir() and not force:
        entries = sorted(p.name for p in out.iterdir())
        if entries:
            raise _UsageError(
                f"--out {out} is not empty ({_some(entries, quoted=False)}): name a new or empty folder, "
                "or pass --force to replace the files import writes there"
            )


# ------------------------------------------------------------------------------------------------
# The import


class _StopError(Exception):
    """The import ends here: the exit code, and the one line that says why."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def run(
    settings: stack_settings.LocalSettings,
    request: Request,
    *,
    out: TextIO,
    err: TextIO,
) -> int:
    """List the instance, write the project; progress on ``out``, warnings and failures on ``err``."""
    print(f"{_PROG}: settings from {settings.origin}", file=out)
    warnings: list[str] = []
    try:
        _import(settings, request, out, warnings)
    except _StopError as stop:
        _warn(warnings, err)
        print(f"{_PROG}: {stop}", file=err)
        return stop.code
    _warn(warnings, err)
    return EXIT_OK


def _import(
    settings: stack_settings.LocalSettings, request: Request, out: TextIO, warnings: list[str]
) -> None:
    runtime = settings.runtime
    try:
        endpoint = ccc.resolve_endpoint(runtime.settings)
    except (ConfigurationError, OSError) as exc:
        raise _StopError(EXIT_USAGE, str(exc)) from None
    client = ccc.CccClient(runtime)
    instance_id = request.instance_id
    try:
        listing = client.list_numbers(instance_id)
    except ConfigurationError as exc:  # no credentials anywhere
        raise _StopError(EXIT_USAGE, str(exc)) from None
    except CccError as exc:
        raise _StopError(EXIT_FAILED, _refusal(exc, instance_id, endpoint, runtime)) from None
    where = _listed_at(runtime, endpoint)
    if not listing:
        raise _StopError(
            EXIT_FAILED,
            f"CCC instance {instance_id} has no phone numbers bound (listed at {where}): nothing to import; "
            "check --instance, or bind numbers first",
        )
    print(f"listed {plural(len(listing), 'phone number')} bound to CCC instance {instance_id} at {where}",
          file=out)

    numbers, flow_names, group_names = _usable(listing, warnings)
    kept = {n: s for n, s in numbers.items() if request.selection.keeps(n)}
    warnings += [
        f"the pattern {p} matches none of the numbers bound" for p in request.selection.unmatched(numbers)
    ]
    if not kept:
        raise _StopError(
            EXIT_FAILED,
            f"--only / --exclude leave none of the {plural(len(numbers), 'phone number')} bound to CCC "
            f"instance {instance_id}: nothing to import; check the patterns" if numbers else
            f"none of the {plural(len(listing), 'phone number')} bound to CCC instance {instance_id} can be "
            "adopted as listed: nothing to import",
        )
    if request.selection.active:
        print(f"kept {len(kept)} of them (--only / --exclude left out {len(numbers) - len(kept)})", file=out)
    _catalog(client, instance_id, kept, flow_names=flow_names, group_names=group_names,
             warnings=warnings)

    groups = scaffold.group_numbers(kept, flow_names, group_names)
    project = _project(settings, request, where)
    try:
        written, kept_files = _write(request.out, scaffold.project_files(project, groups), project.stack)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise _StopError(EXIT_FAILED, f"cannot write the project to {request.out}: {reason}") from None
    _summary(out, request, project=project, groups=groups, written=written, kept=kept_files,
             runtime=runtime)


def _warn(warnings: list[str], err: TextIO) -> None:
    for warning in warnings:
        print(f"{_PROG}: warning: {warning}", file=err)
    warnings.clear()


def _listed_at(runtime: RuntimeConfig, endpoint: Endpoint) -> str:
    if runtime.settings.embedded:
        return f"the embedded CCC emulator ({runtime.settings.embedded_state_path})"
    return endpoint.url


def _key(runtime: RuntimeConfig) -> str:
    creds = runtime.credentials
    return f"AccessKey {creds.access_key_id}" if creds else "the default credential chain's AccessKey"


def _said(exc: ApiError) -> str:
    # SignatureDoesNotMatch quotes the whole string to sign after its first sentence.
    message = exc.message.split(" server string to sign is", 1)[0]
    message = message if len(message) <= 200 else message[:200] + "…"
    return f"{exc.code}: {message}" if message else exc.code


def _refusal(  # noqa: PLR0911 - one return per kind of refusal: a table
    exc: CccError, instance_id: str, endpoint: Endpoint, runtime: RuntimeConfig) -> str:
    """One line: what the service said about the listing, and what to change."""
    doctor = f"`ccc-numbers doctor --instance {instance_id}` checks the settings one by one"
    if isinstance(exc, NotFoundError):
        return (
            f"CCC instance {instance_id} does not exist at {endpoint.url} for {_key(runtime)} "
            f"({_said(exc)}); check --instance and ccc:region or ccc:endpoint (or --endpoint): an instance "
            "is found only "
            "through its own region's endpoint"
        )
    if isinstance(exc, ApiError):
        kind = ccc.refusal_kind(exc)
        if kind == "credentials":
            return (
                f"the service at {endpoint.url} refused {_key(runtime)} ({_said(exc)}); check "
                "ccc:accessKeyId and ccc:accessKeySecret, or ALIBABA_CLOUD_ACCESS_KEY_ID and "
                f"ALIBABA_CLOUD_ACCESS_KEY_SECRET; {doctor}"
            )
        if kind == "clock":
            return (
                f"the service at {endpoint.url} refused the request's timestamp ({_said(exc)}); set this "
                "machine's clock (NTP)"
            )
        if kind == "permission":
            return (
                f"{_key(runtime)} may not list the phone numbers of CCC instance {instance_id} "
                f"({_said(exc)}); give its RAM user or role a policy that allows ListPhoneNumbers, "
                "ListContactFlows and "
                "ListSkillGroups"
            )
        return f"{exc.action}: {_said(exc)} ({exc.detail}); {doctor}"
    if isinstance(exc, TransportError):
        return (
            f"{exc.action}: {exc.reason}; check ccc:region or ccc:endpoint (or --endpoint), the network and "
            f"HTTPS_PROXY / HTTP_PROXY; {doctor}"
        )
    return f"{exc}; {doctor}"


def _usable(
    listing: Sequence[ccc.BoundNumber], warnings: list[str]
) -> tuple[dict[str, Settings], dict[str, str], dict[str, str]]:
    """The numbers the provider can adopt as listed, and the flow and skill group names the listing gives.

    A number the provider would spell differently (separators, say) would not be recognised as
    the one bound, and its first ``pulumi up`` would try to bind it again: it is left out, and said so.
    """
    numbers: dict[str, Settings] = {}
    flows: dict[str, str] = {}
    groups: dict[str, str] = {}
    odd: list[str] = []
    for bound in listing:
        try:
            canonical = normalize_number(bound.number)
        except ValueError:
            canonical = None
        if canonical != bound.number:
            odd.append(bound.number)
            continue
        numbers[bound.number] = bound.settings
        if bound.settings.contact_flow_id and bound.contact_flow_name:
            flows.setdefault(bound.settings.contact_flow_id, bound.contact_flow_name)
        for ident, name in zip(bound.settings.skill_group_ids, bound.skill_group_names, strict=False):
            if name:
                groups.setdefault(ident, name)
    if odd:
        warnings.append(
            f"left out {plural(len(odd), 'number')} the instance lists in a form the provider does not "
            f"declare (only digits and a leading +): {_some(odd)}; bind them in that form, or add them to "
            "the program by hand"
        )
    return numbers, flows, groups


def _some(items: Sequence[str], *, quoted: bool = True) -> str:
    shown = ", ".join(repr(i) if quoted else i for i in items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _catalog(
    client: ccc.CccClient,
    instance_id: str,
    numbers: Mapping[str, Settings],
    *,
    flow_names: dict[str, str],
    group_names: dict[str, str],
    warnings: list[str],
) -> None:
    """The instance's own names for the flows and skill groups the numbers use (they win over the listing's).

    A flow or skill group the instance does not list is adopted as it is bound, but the provider's
    preflight will refuse any later change that writes it: a warning says so.
    """
    used_flows: dict[str, list[str]] = {}
    used_groups: dict[str, list[str]] = {}
    for number, settings in numbers.items():
        if settings.contact_flow_id:
            used_flows.setdefault(settings.contact_flow_id, []).append(number)
        for ident in settings.skill_group_ids:
            used_groups.setdefault(ident, []).append(number)
    lists: tuple[tuple[str, dict[str, list[str]], dict[str, str], Callable[[], Mapping[str, str]]], ...] = (
        ("contact flow", used_flows, flow_names,
         lambda: {f.contact_flow_id: f.name for f in client.list_contact_flows(instance_id)}),
        ("skill group", used_groups, group_names,
         lambda: {g.skill_group_id: g.name for g in client.list_skill_groups(instance_id)}),
    )
    for kind, used, names, fetch in lists:
        if not used:
            continue
        try:
            listed = fetch()
        except CccError as exc:
            said = _said(exc) if isinstance(exc, ApiError) else exc.reason
            warnings.append(f"could not list the {kind}s of the instance ({said}): their names come from "
                            "the phone number listing alone")
            continue
        names.update({ident: name for ident, name in listed.items() if name})
        for ident in sorted(set(used) - set(listed)):
            warnings.append(
                f"{kind} {ident} (used by {plural(len(used[ident]), 'number')}: "
                f"{_some(sorted(used[ident]), quoted=False)}) is not among the instance's {kind}s: the "
                "numbers are adopted as bound, but the provider "
                "will refuse any change that writes it"
            )


def _project(settings: stack_settings.LocalSettings, request: Request, where: str) -> scaffold.Project:
    try:
        version: str | None = importlib.metadata.version(_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a bare source tree
        version = None
    name = request.name or re.sub(r"[^A-Za-z0-9_.-]+", "-", request.out.resolve().name).strip("-.")
    stack = request.stack or (settings.stack.rsplit("/", 1)[-1] if settings.stack else "dev")
    return scaffold.Project(
        instance_id=request.instance_id,
        listed_at=where,
        name=(name or "ccc-numbers-import")[:100],
        stack=stack,
        config=stack_config(settings.runtime),
        requirement=request.requirement or (f"{_DISTRIBUTION}=={version}" if version else _DISTRIBUTION),
        version=version,
        form=request.form,
        protect=request.protect,
    )


def stack_config(runtime: RuntimeConfig) -> dict[str, str]:
    """The non-secret ``ccc:`` keys that point the generated stack where the bindings were listed.

    The region always; the endpoint when one was configured (not the region's own); for the embedded
    emulator, its state file by its absolute path, so the new project sees the same state.
    Never a credential: those are the user's to give (environment variables keep them out of state).
    """
    settings = runtime.settings
    config = {K_REGION: settings.region}
    if settings.embedded:
        config[K_ENDPOINT] = EMBEDDED
        config[K_EMBEDDED_STATE_PATH] = settings.embedded_state_path
    elif settings.endpoint is not None:
        config[K_ENDPOINT] = settings.endpoint.url
    return config


def _write(out: Path, files: Mapping[str, str], stack: str) -> tuple[list[str], list[str]]:
    """Write ``files`` into ``out``, except an existing stack config file (it may hold secrets)."""
    out.mkdir(parents=True, exist_ok=True)
    stack_file = f"Pulumi.{stack}.yaml"
    written: list[str] = []
    kept: list[str] = []
    for name, text in files.items():
        path = out / name
        if name == stack_file and path.exists():
            kept.append(name)
            continue
        path.write_text(text, encoding="utf-8")
        written.append(name)
    return written, kept


def _summary(
    out: TextIO,
    request: Request,
    *,
    project: scaffold.Project,
    groups: Sequence[scaffold.Group],
    written: Sequence[str],
    kept: Sequence[str],
    runtime: RuntimeConfig,
) -> None:
    print(f"wrote {plural(len(groups), 'binding')} to {request.out}: {', '.join(written)}", file=out)
    width = max(len(g.name) for g in groups)
    count_width = max(len(plural(len(g.numbers), "phone number")) for g in groups)
    for group in groups:
        count = plural(len(group.numbers), "phone number")
        print(f"  {group.name:<{width}}  {count:<{count_width}}  {group.describe()}", file=out)
    for name in kept:
        keys = ", ".join(project.config)
        print(f"kept {name} as it was (it may hold the stack's secrets): check its {keys}", file=out)
    source = runtime.credentials.source if runtime.credentials else "the default credential chain"
    print(
        f"the AccessKey (from {source}) is not written into the project: in {request.out}, set "
        "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or pulumi config set "
        "ccc:accessKeyId and pulumi config set --secret ccc:accessKeySecret (README.md)",
        file=out,
    )
    reviewed = scaffold.CSV_FILE if project.form == "csv" else scaffold.PROGRAM_FILE
    print(
        f"next: review {reviewed}, then in {request.out}: pulumi stack select {project.stack} --create; "
        "pulumi up (adopts the numbers, writes nothing); pulumi preview (no change)",
        file=out,
    )
