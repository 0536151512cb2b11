"""``ccc-numbers doctor``: a read-only first contact with an account, before the first ``pulumi up``.

With the provider's own settings chain (:mod:`ccc_numbers.stack_settings`) it checks, one line
each: which AccessKey it would use (its source and id, never the secret); that the endpoint
answers as a CCC gateway (an unsigned ``GET /``); the local clock against the service's ``Date``
header (requests more than 15 minutes off are refused); that the service accepts the key; and,
per instance (``--instance``, or the instances the stack's state binds numbers to), that it exists,
how many numbers are bound, and which contact flows and skill groups it has. A failed check prints
a hint and skips the checks that depend on it.

Exit codes: 0 every check passed; 1 a check failed (its hint says what to change); 2 the doctor
could not start (bad arguments, a stack config it cannot read, an invalid ``ccc:`` value, no
instance to check).

Owns the checks, their wording and the exit codes. Must not write anything (it makes only list
calls) or print a secret: messages come from the client, which scrubs them, and from
:class:`ccc_numbers.config.Credentials`, whose id is not secret. Talks to the API only through
:mod:`ccc_numbers.client`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from . import client as ccc
from . import stack_settings
from .config import Endpoint, RetryPolicy, RuntimeConfig
from .errors import ApiError, CccError, ConfigurationError, NotFoundError, TransportError, plural

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "add_parser", "run"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

#: The service refuses requests whose timestamp is further off (ccc-api.md §6).
WINDOW_SECONDS = 15 * 60
#: Quick answers: a first contact should not wait two minutes on a throttled account.
_RETRY = RetryPolicy(max_attempts=3, base_delay_ms=200, max_delay_ms=2_000, budget_seconds=15)
_SHOWN = 10

_CLOCK_HINT = (
    "set this machine's clock (NTP): the service refuses requests whose timestamp is more than "
    "15 minutes from its own"
)
_KEY_HINT = (
    "check ccc:accessKeyId, ccc:accessKeySecret and ccc:securityToken in the stack config, or "
    "ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and ALIBABA_CLOUD_SECURITY_TOKEN "
    "(an STS key needs its token)"
)


@dataclass(frozen=True)
class Line:
    """One check's outcome: ``ok``, ``FAIL`` or ``skip``."""

    status: str
    name: str
    detail: str
    hint: str | None = None


def add_parser(commands: stack_settings.Commands) -> None:
    """Register ``doctor`` with the ``ccc-numbers`` command line."""
    parser = commands.add_parser(
        "doctor",
        help="check credentials, endpoint, clock and instances before the first pulumi up",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        epilog="Exit codes: 0 every check passed, 1 a check failed, 2 the doctor could not start.",
    )
    stack_settings.add_arguments(parser)
    parser.add_argument(
        "--instance", metavar="ID", action="append", default=[],
        help="a CCC instance to check (repeatable; default: the instances in the stack's state)",
    )
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace, clock: Callable[[], float]) -> int:
    try:
        settings = stack_settings.load(stack=args.stack, endpoint=args.endpoint)
    except stack_settings.SettingsError as err:
        print(f"ccc-numbers doctor: {err}", file=sys.stderr)
        return EXIT_USAGE
    instances = tuple(dict.fromkeys(args.instance)) or stack_settings.declared_instances(settings)
    if not instances:
        why = (
            f"stack {settings.stack} has no PhoneNumberBinding in its state yet" if settings.project_dir
            else "no Pulumi project here has a state to name one"
        )
        print(f"ccc-numbers doctor: no instance to check: pass --instance ID ({why})", file=sys.stderr)
        return EXIT_USAGE
    return run(settings, instances, out=sys.stdout, clock=clock)


def run(
    settings: stack_settings.LocalSettings,
    instances: Sequence[str],
    *,
    out: TextIO,
    clock: Callable[[], float] = time.time,
) -> int:
    """Run every check against ``instances``, print one line each; the exit code."""
    print(f"ccc-numbers doctor: settings from {settings.origin}", file=out)
    runtime = RuntimeConfig(dataclasses.replace(settings.runtime.settings, retry=_RETRY),
                            settings.runtime.credentials)
    lines = list(_checks(runtime, instances, clock))
    for line in lines:
        print(f"{line.status:<5} {line.name:<13} {line.detail}", file=out)
        if line.hint:
            print(f"{'':<5} {'':<13} hint: {line.hint}", file=out)
    failed = sum(1 for line in lines if line.status == "FAIL")
    skipped = sum(1 for line in lines if line.status == "skip")
    if failed:
        tail = f", {skipped} skipped" if skipped else ""
        print(f"{plural(failed, 'check')} failed{tail}: fix the first failure and run ccc-numbers doctor "
              "again", file=out)
        return EXIT_FAILED
    print(f"all {plural(len(lines), 'check')} passed", file=out)
    return EXIT_OK


def _checks(runtime: RuntimeConfig, instances: Sequence[str], clock: Callable[[], float]) -> list[Line]:
    lines: list[Line] = []
    try:
        endpoint = ccc.resolve_endpoint(runtime.settings)
    except (ConfigurationError, OSError) as err:
        return [Line("FAIL", "endpoint", str(err), "check ccc:endpoint and ccc:embeddedStatePath")]
    key = _credentials(runtime, endpoint)
    lines.append(key)
    probe = _probe(endpoint, clock, lines)
    _clock(probe, lines)
    if key.status != "ok" or probe is None:
        lines.append(Line("skip", "access", "needs credentials and an endpoint that answers"))
        lines.extend(_skipped(instances, "needs credentials and an endpoint that answers"))
        return lines
    client = ccc.CccClient(runtime)
    first, rest = instances[0], instances[1:]
    try:
        numbers = client.list_numbers(first)
    except CccError as err:
        access = _access_failure(err, runtime)
        if access is not None:
            lines.append(access)
            lines.extend(_skipped(instances, "needs an accepted AccessKey"))
            return lines
        lines.append(Line("ok", "access", "the service accepts the AccessKey's signed calls"))
        lines.extend(_instance_failure(first, err, endpoint, runtime))
    else:
        lines.append(Line("ok", "access", "the service accepts the AccessKey's signed calls"))
        lines.extend(_instance(client, first, numbers))
    for instance_id in rest:
        try:
            numbers = client.list_numbers(instance_id)
        except CccError as err:
            lines.extend(_instance_failure(instance_id, err, endpoint, runtime))
        else:
            lines.extend(_instance(client, instance_id, numbers))
    return lines


def _credentials(runtime: RuntimeConfig, endpoint: Endpoint) -> Line:
    creds = runtime.credentials
    if creds is not None:
        token = " with an STS token" if creds.security_token else ""
        return Line("ok", "credentials", f"AccessKey {creds.access_key_id}{token} from {creds.source}")
    try:
        found = ccc.default_credential_identity(endpoint)
    except ConfigurationError as err:
        return Line("FAIL", "credentials", str(err), "set one of them, then run ccc-numbers doctor again")
    return Line("ok", "credentials", f"AccessKey {found.access_key_id} from {found.source}")


def _probe(endpoint: Endpoint, clock: Callable[[], float], lines: list[Line]) -> ccc.Probe | None:
    try:
        probe = ccc.probe(endpoint, clock=clock)
    except TransportError as err:
        lines.append(Line(
            "FAIL", "endpoint", err.reason,
            "check ccc:region or ccc:endpoint (or --endpoint), the network, and HTTPS_PROXY / HTTP_PROXY",
        ))
        return None
    took = f"{probe.elapsed * 1000:.0f} ms"
    if probe.code is None:
        lines.append(Line(
            "FAIL", "endpoint",
            f"{endpoint.url} answers HTTP {probe.http_status}, but not as a CCC gateway ({took})",
            "something else answers there (a proxy, a captive portal?): check ccc:endpoint and the proxy "
            "variables",
        ))
        return None
    lines.append(Line(
        "ok", "endpoint",
        f"{endpoint.url} answers as a CCC gateway (HTTP {probe.http_status} {probe.code} to an unsigned "
        f"request, {took})",
    ))
    return probe


def _clock(probe: ccc.Probe | None, lines: list[Line]) -> None:
    if probe is None:
        lines.append(Line("skip", "clock", "needs an endpoint that answers"))
        return
    if probe.server_time is None:
        lines.append(Line("skip", "clock", "the answer had no Date header to compare with"))
        return
    skew = probe.local_time - probe.server_time  # positive: this machine is ahead
    if abs(skew) >= WINDOW_SECONDS:
        lines.append(Line(
            "FAIL", "clock",
            f"this machine's clock is {_duration(skew)} {_side(skew)} the service's Date header: signed "
            "requests will be refused",
            _CLOCK_HINT,
        ))
        return
    if abs(skew) < 2:
        said = "within 2 s of the service's Date header"
    else:
        said = f"{_duration(skew)} {_side(skew)} the service's Date header"
    lines.append(Line("ok", "clock", f"{said} (requests more than 15 minutes off are refused)"))


def _side(skew: float) -> str:
    return "ahead of" if skew > 0 else "behind"


def _duration(seconds: float) -> str:
    total = round(abs(seconds))
    minutes, secs = divmod(total, 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _first_sentence(message: str) -> str:
    # SignatureDoesNotMatch quotes the whole string to sign after its first sentence.
    head = message.split(" server string to sign is", 1)[0]
    return head if len(head) <= 200 else head[:200] + "…"


def _said(err: CccError) -> str:
    if isinstance(err, ApiError):
        return f"{err.code}: {_first_sentence(err.message)}" if err.message else err.code
    return err.reason


def _access_failure(err: CccError, runtime: RuntimeConfig) -> Line | None:
    """A refusal of the key itself, of the clock or of the permission; None when it is about the instance."""
    if not isinstance(err, ApiError):
        return Line("FAIL", "access", f"no usable answer to a signed call: {err.reason}",
                    "check the network and proxies, then run ccc-numbers doctor again")
    kind = ccc.refusal_kind(err)
    key = runtime.credentials.access_key_id if runtime.credentials else "of the default credential chain"
    if kind == "credentials":
        return Line("FAIL", "access", f"the service refused the AccessKey {key} ({_said(err)})", _KEY_HINT)
    if kind == "clock":
        return Line(
            "FAIL", "access", f"the service refused the request's timestamp ({_said(err)})", _CLOCK_HINT
        )
    if kind == "permission":
        return Line(
            "FAIL", "access", f"the AccessKey {key} may not list the instance's numbers ({_said(err)})",
            "give the key's RAM user or role a policy that allows the CCC actions the provider calls "
            "(README, \"Configuration and credentials\")",
        )
    if err.http_status >= 500 or err.code.startswith("Throttling"):
        return Line("FAIL", "access", f"the service did not answer the signed call ({_said(err)})",
                    "the service is busy or failing: run ccc-numbers doctor again in a minute")
    return None


def _instance_failure(
    instance_id: str, err: CccError, endpoint: Endpoint, runtime: RuntimeConfig
) -> list[Line]:
    if isinstance(err, NotFoundError):
        key = runtime.credentials.access_key_id if runtime.credentials else "the default chain's key"
        line = Line(
            "FAIL", "instance",
            f"{instance_id} does not exist at {endpoint.url} for AccessKey {key} ({_said(err)})",
            "check the instance id (--instance) and ccc:region or ccc:endpoint: an instance is found only "
            "through its own region's endpoint",
        )
    else:
        line = Line("FAIL", "instance", f"{instance_id}: {_said(err)}",
                    "see the service's message; run ccc-numbers doctor again once it is fixed")
    return [line, *(_skipped_lists(instance_id, "needs the instance"))]


def _instance(client: ccc.CccClient, instance_id: str, numbers: Sequence[ccc.BoundNumber]) -> list[Line]:
    lines = [Line("ok", "instance", f"{instance_id} exists: {plural(len(numbers), 'phone number')} bound")]
    try:
        flows = client.list_contact_flows(instance_id)
    except CccError as err:
        lines.append(Line("FAIL", "contact flows", f"{instance_id}: {_said(err)}",
                          "bindings that name a contact flow will fail their preflight"))
    else:
        listed = _listed([(f.contact_flow_id, f.name) for f in flows], "contact flow")
        lines.append(Line("ok", "contact flows", f"{instance_id}: {listed}"))
    try:
        groups = client.list_skill_groups(instance_id)
    except CccError as err:
        lines.append(Line("FAIL", "skill groups", f"{instance_id}: {_said(err)}",
                          "bindings that name skill groups will fail their preflight"))
    else:
        listed = _listed([(g.skill_group_id, g.name) for g in groups], "skill group")
        lines.append(Line("ok", "skill groups", f"{instance_id}: {listed}"))
    return lines


def _listed(items: Sequence[tuple[str, str]], kind: str) -> str:
    if not items:
        return f"no {kind}s"
    shown = ", ".join(f"{ident} ({name})" if name else ident for ident, name in sorted(items)[:_SHOWN])
    more = f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return f"{plural(len(items), kind)}: {shown}{more}"


def _skipped(instances: Sequence[str], why: str) -> list[Line]:
    lines: list[Line] = []
    for instance_id in instances:
        lines.append(Line("skip", "instance", f"{instance_id}: {why}"))
        lines.extend(_skipped_lists(instance_id, why))
    return lines


def _skipped_lists(instance_id: str, why: str) -> list[Line]:
    return [Line("skip", "contact flows", f"{instance_id}: {why}"),
            Line("skip", "skill groups", f"{instance_id}: {why}")]
