"""The Pulumi project that ``ccc-numbers import`` writes: groups, names and the text of every file.

From an instance's live bindings (``{number: Settings}``) and the names of its contact flows and
skill groups, it builds one :class:`Group` per set of identical settings (usage, contact flow,
skill groups), each with a resource name derived from the settings, and renders the project:
``Pulumi.yaml``, the stack config file (``ccc:region`` / ``ccc:endpoint`` only, never a
credential), ``requirements.txt``, ``.gitignore``, a ``README.md`` and either a ``__main__.py``
with one ``PhoneNumberBinding`` per group, or a ``numbers.csv`` plus the ``__main__.py`` that
reads it. It also owns the ``--only`` / ``--exclude`` number patterns (:class:`Selection`).

Names are readable and stable: the same listing always gives the same project. A group is named
after its contact flow (``welcome``), or its usage when it has none (``outbound``); only groups
whose names collide get longer ones (the usage, then the skill groups, then ``-2``, ``-3`` in the
order of their settings), so a group's name depends on no other group it does not collide with.

Every file is valid for its reader: the programs are Python that passes the project's ``ruff``
rules (lines within 110 characters, imports sorted as in ``examples/``), strings are written as
escaped literals, and names shown in comments are cut to one line.

Must not do I/O, call the API or read the clock (``importer.py`` does); output depends only on
the arguments.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import keyword
import re
import textwrap
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .errors import plural
from .models import Settings

__all__ = [
    "CSV_COLUMNS",
    "CSV_FILE",
    "PROGRAM_FILE",
    "Group",
    "PatternError",
    "Project",
    "Selection",
    "group_numbers",
    "project_files",
]

PROGRAM_FILE = "__main__.py"
CSV_FILE = "numbers.csv"
#: The CSV's columns; the program reads the first five, the names are for people.
CSV_COLUMNS = (
    "number", "binding", "usage", "contact_flow_id", "skill_group_ids", "contact_flow_name",
    "skill_group_names",
)
#: The project's ruff line length (pyproject.toml): generated lines stay within it.
_LINE = 110
_WRAP = 100
_SLUG_PART = 40
#: Names a binding's Python variable must not take: the generated program's own names.
_RESERVED = frozenset({"pulumi"})


class PatternError(ValueError):
    """A ``--only`` / ``--exclude`` pattern that cannot match a phone number; the text says why."""


# ------------------------------------------------------------------------------------------------
# Which numbers


_PATTERN = re.compile(r"^[0-9+*?\[\]!-]+$")


@dataclass(frozen=True)
class Selection:
    """``--only`` / ``--exclude`` glob patterns: a number is kept when it matches an only (if any) and no
    exclude."""

    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for option, patterns in (("--only", self.only), ("--exclude", self.exclude)):
            for pattern in patterns:
                if not _PATTERN.match(pattern):
                    raise PatternError(
                        f"{option} {json.dumps(pattern, ensure_ascii=False)} is not a number pattern: "
                        "write digits and a leading +, with the glob characters * ? [ ] (e.g. "
                        "0216066* or 021606600[0-4]), or @FILE with one pattern per line"
                    )

    @property
    def active(self) -> bool:
        return bool(self.only or self.exclude)

    def keeps(self, number: str) -> bool:
        if self.only and not any(fnmatch.fnmatchcase(number, p) for p in self.only):
            return False
        return not any(fnmatch.fnmatchcase(number, p) for p in self.exclude)

    def unmatched(self, numbers: Iterable[str]) -> tuple[str, ...]:
        """The patterns that match none of ``numbers`` (a typo, most likely), ``--only`` ones first."""
        listed = tuple(numbers)
        return tuple(
            p for p in (*self.only, *self.exclude)
            if not any(fnmatch.fnmatchcase(n, p) for n in listed)
        )


# ------------------------------------------------------------------------------------------------
# Groups and their names


@dataclass(frozen=True)
class Group:
    """The numbers that share one set of settings, and the binding that will declare them."""

    #: The Pulumi resource name.
    name: str
    #: The Python variable the program assigns the binding to.
    variable: str
    settings: Settings
    #: Sorted.
    numbers: tuple[str, ...]
    #: The contact flow's name; None without a flow, "" when the instance did not say.
    flow_name: str | None
    #: The skill groups' names in the order of ``settings.skill_group_ids`` ("" when unknown).
    group_names: tuple[str, ...]

    def describe(self) -> str:
        """``Bidirection, contact flow Welcome, skill groups Default and Sales``: for people."""
        parts = [self.settings.usage.value]
        if self.settings.contact_flow_id:
            parts.append(f"contact flow {self.flow_name or self.settings.contact_flow_id}")
        else:
            parts.append("no contact flow")
        labels = [name or ident for ident, name in zip(self.settings.skill_group_ids, self.group_names,
                                                         strict=True)]
        if not labels:
            parts.append("no skill groups")
        else:
            shown = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
            parts.append(f"{'skill group' if len(labels) == 1 else 'skill groups'} {shown}")
        return ", ".join(parts)


def _slug(text: str) -> str:
    """Lower-case ASCII letters and digits joined by ``-``; accents dropped, other scripts removed."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:_SLUG_PART].rstrip("-")


def _label(ident: str, name: str) -> str:
    # A name in another script (欢迎) leaves no ASCII: the id still reads as itself.
    return _slug(name) or _slug(ident) or "unnamed"


def _levels(settings: Settings, flow_name: str, group_names: Sequence[str]) -> tuple[str, str, str]:
    """The three names a group may take, shortest first."""
    usage = settings.usage.value.lower()
    if settings.contact_flow_id:
        flow = _label(settings.contact_flow_id, flow_name)
        first, second = flow, f"{flow}-{usage}"
    else:
        first = second = usage
    groups = "-".join(
        _label(ident, name) for ident, name in zip(settings.skill_group_ids, group_names, strict=True)
    ) or "no-skill-groups"
    return first, second, f"{second}-{groups[: _SLUG_PART * 2].rstrip('-')}"


def _variable(name: str) -> str:
    variable = name.replace("-", "_")
    if variable[0].isdigit():
        variable = f"binding_{variable}"
    if keyword.iskeyword(variable) or keyword.issoftkeyword(variable) or variable in _RESERVED:
        variable = f"{variable}_binding"
    return variable


def group_numbers(
    numbers: Mapping[str, Settings],
    flow_names: Mapping[str, str],
    group_names: Mapping[str, str],
) -> tuple[Group, ...]:
    """One :class:`Group` per set of identical settings, sorted by name, numbers sorted in each.

    ``flow_names`` / ``group_names`` map ids to names (an id missing from them has name "").
    """
    by_settings: dict[Settings, list[str]] = {}
    for number, settings in numbers.items():
        by_settings.setdefault(settings, []).append(number)
    ordered = sorted(by_settings, key=lambda s: s.sort_key)
    names = {
        s: (
            flow_names.get(s.contact_flow_id, "") if s.contact_flow_id else None,
            tuple(group_names.get(g, "") for g in s.skill_group_ids),
        )
        for s in ordered
    }
    levels = {s: _levels(s, names[s][0] or "", names[s][1]) for s in ordered}
    chosen = _unique_names(ordered, levels)
    groups = [
        Group(
            name=chosen[s], variable=_variable(chosen[s]), settings=s, numbers=tuple(sorted(by_settings[s])),
            flow_name=names[s][0], group_names=names[s][1],
        )
        for s in ordered
    ]
    return tuple(sorted(groups, key=lambda g: g.name))


def _unique_names(
    ordered: Sequence[Settings], levels: Mapping[Settings, tuple[str, str, str]]
) -> dict[Settings, str]:
    level = dict.fromkeys(ordered, 0)
    while True:
        taken: dict[str, list[Settings]] = {}
        for s in ordered:
            taken.setdefault(levels[s][level[s]], []).append(s)
        grown = False
        for members in taken.values():
            if len(members) > 1:
                for s in members:
                    if level[s] < 2:
                        level[s] += 1
                        grown = True
        if not grown:
            break
    chosen: dict[Settings, str] = {}
    used: set[str] = set()
    for s in ordered:  # in settings order: the first of a collision keeps the bare name
        base = levels[s][level[s]]
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}-{n}"
        used.add(name)
        chosen[s] = name
    return chosen


# ------------------------------------------------------------------------------------------------
# The project's files


@dataclass(frozen=True)
class Project:
    """Everything the files say besides the groups."""

    instance_id: str
    #: Where the bindings were listed (``http://127.0.0.1:8080``, ``https://ccc.cn-shanghai…``).
    listed_at: str
    #: The Pulumi project name (Pulumi.yaml ``name``).
    name: str
    #: The stack whose config file is written (``Pulumi.<stack>.yaml``).
    stack: str
    #: The non-secret ``ccc:`` keys for that file, e.g. ``{"ccc:region": "cn-shanghai"}``.
    config: Mapping[str, str]
    #: The requirements.txt line that installs the provider.
    requirement: str
    #: The version of pulumi-ccc-numbers that wrote the project, when known.
    version: str | None
    #: ``program`` (one PhoneNumberBinding per group) or ``csv`` (numbers.csv and its reader).
    form: str = "program"
    #: ``protect=True`` on every binding, as ``pulumi import`` does.
    protect: bool = True


def project_files(project: Project, groups: Sequence[Group]) -> dict[str, str]:
    """File name → text, for every file of the project (the caller writes them)."""
    files = {
        "Pulumi.yaml": _pulumi_yaml(project),
        f"Pulumi.{project.stack}.yaml": _stack_yaml(project),
        "requirements.txt": _requirements(project),
        ".gitignore": _GITIGNORE,
        "README.md": _readme(project, groups),
    }
    if project.form == "csv":
        files[CSV_FILE] = _csv(groups)
        files[PROGRAM_FILE] = _csv_program(project, groups)
    else:
        files[PROGRAM_FILE] = _program(project, groups)
    return files


def _py(text: str) -> str:
    """A double-quoted Python string literal (JSON's escapes are Python's)."""
    return json.dumps(text, ensure_ascii=False)


def _width(char: str) -> int:
    # As ruff measures a line: wide and full-width characters (客服) take two columns.
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _comment(text: str, room: int) -> str:
    """``text`` as one comment line's content: control characters gone, cut to ``room`` columns."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if sum(map(_width, flat)) <= room:
        return flat
    cut, used = [], 1  # the ellipsis
    for char in flat:
        used += _width(char)
        if used > room:
            break
        cut.append(char)
    return "".join(cut) + "…"


def _with_comment(code: str, note: str) -> str:
    if not note:
        return code
    return f"{code}  # {_comment(note, _LINE - sum(map(_width, code)) - 4)}"


def _wrapped(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, _WRAP, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def _source_sentence(project: Project, groups: Sequence[Group]) -> str:
    total = sum(len(g.numbers) for g in groups)
    by = f"ccc-numbers import (pulumi-ccc-numbers {project.version})" if project.version else (
        "ccc-numbers import"
    )
    return (
        f"Written by {by} from the bindings listed at {project.listed_at}: "
        f"{plural(total, 'phone number')} in {plural(len(groups), 'binding')}, one per set of identical "
        "settings (usage, contact flow, skill groups)."
    )


_ADOPTION = (
    "adopt_existing=True lets the first `pulumi up` take these numbers over as they are bound now: it "
    "lists the instance and writes nothing (`pulumi preview` then shows no change). Review before that "
    "first `pulumi up`: a setting changed here is applied to the live number, a number deleted here is "
    "left alone. Afterwards each binding owns its numbers: deleting one unbinds it (it stays purchased), "
    "and a number moves between bindings in one `pulumi up` only when the receiving binding depends_on "
    "the giving one (README of pulumi-ccc-numbers, \"Moving numbers between bindings\"). Once adopted, "
    "adopt_existing=True may go (one update, no write): a number bound by someone else and then added here "
    "is refused instead of taken over."
)
_PROTECTION = (
    "protect=True, as `pulumi import` does: neither `pulumi destroy` nor deleting a binding from this "
    "program unbinds a live call center's numbers until the option is removed."
)


def _docstring(title: str, paragraphs: Sequence[str]) -> list[str]:
    lines = [f'"""{title}', ""]
    for i, paragraph in enumerate(paragraphs):
        if i:
            lines.append("")
        lines.extend(_wrapped(paragraph))
    lines.append('"""')
    return lines


def _title(project: Project, suffix: str = "") -> str:
    title = f"The phone numbers bound to CCC instance {project.instance_id}{suffix}."
    # The summary line cannot wrap; an unusually long instance id moves to the body instead.
    return title if len(title) <= _WRAP - 3 else f"The phone numbers bound to a CCC instance{suffix}."


def _program(project: Project, groups: Sequence[Group]) -> str:
    lines = _docstring(
        _title(project),
        [_source_sentence(project, groups), _ADOPTION, *([_PROTECTION] if project.protect else [])],
    )
    lines += ["", *(["import pulumi", ""] if project.protect else []),
              "from ccc_numbers import PhoneNumberBinding", "",
              f"INSTANCE_ID = {_py(project.instance_id)}"]
    for group in groups:
        title = f"# {_comment(_group_title(group), _LINE - 2)}"
        lines += ["", title, *_binding_block(group, project.protect)]
    return "\n".join(lines) + "\n"


def _group_title(group: Group) -> str:
    return f"{plural(len(group.numbers), 'phone number')}: {group.describe()}."


def _binding_block(group: Group, protect: bool) -> list[str]:
    s = group.settings
    lines = [
        f"{group.variable} = PhoneNumberBinding(",
        f"    {_py(group.name)},",
        "    instance_id=INSTANCE_ID,",
        f"    usage={_py(s.usage.value)},",
    ]
    if s.contact_flow_id:
        lines.append(_with_comment(f"    contact_flow_id={_py(s.contact_flow_id)},", group.flow_name or ""))
    if s.skill_group_ids:
        lines.append("    skill_group_ids=[")
        lines += [
            _with_comment(f"        {_py(ident)},", name)
            for ident, name in zip(s.skill_group_ids, group.group_names, strict=True)
        ]
        lines.append("    ],")
    lines.append("    adopt_existing=True,")
    lines.append("    numbers=[")
    lines += [f"        {_py(number)}," for number in group.numbers]
    lines.append("    ],")
    if protect:
        lines.append("    opts=pulumi.ResourceOptions(protect=True),")
    lines.append(")")
    return lines


def _csv(groups: Sequence[Group]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows = []
    for group in groups:
        s = group.settings
        for number in group.numbers:
            rows.append((
                number, group.name, s.usage.value, s.contact_flow_id or "", " ".join(s.skill_group_ids),
                _comment(group.flow_name or "", 200), "; ".join(_comment(n, 200) for n in group.group_names),
            ))
    writer.writerows(sorted(rows))
    return out.getvalue()


def _csv_program(project: Project, groups: Sequence[Group]) -> str:
    columns = (
        f"{CSV_FILE} has one row per number: `number`, `binding` (the PhoneNumberBinding that declares "
        "it), `usage`, `contact_flow_id` and `skill_group_ids` (separated by spaces); `contact_flow_name` "
        "and `skill_group_names` are there for people and not read. Edit a row to change a number's "
        "settings, or its `binding` to move it to another binding."
    )
    lines = _docstring(
        _title(project, f", read from {CSV_FILE}"),
        [_source_sentence(project, groups), columns, _ADOPTION, *([_PROTECTION] if project.protect else [])],
    )
    lines += [
        "",
        "import csv",
        "from pathlib import Path",
        "",
        *(["import pulumi", ""] if project.protect else []),
        "from ccc_numbers import NumberSettingsArgs, PhoneNumberBinding",
        "",
        f"INSTANCE_ID = {_py(project.instance_id)}",
        "",
        "# binding name -> {number: settings}; the CSV sits beside this program.",
        "bindings: dict[str, dict[str, NumberSettingsArgs]] = {}",
        "seen: dict[str, int] = {}",
        f'with (Path(__file__).parent / "{CSV_FILE}").open(newline="", encoding="utf-8") as f:',
        "    for line, row in enumerate(csv.DictReader(f), start=2):",
        '        number, name = row["number"].strip(), row["binding"].strip()',
        "        if not name:",
        f'            raise ValueError(f"{CSV_FILE} line {{line}}: {{number}} has no binding")',
        "        if number in seen:",
        f'            raise ValueError(f"{CSV_FILE} lists {{number}} twice (lines {{seen[number]}} and '
        '{line})")',
        "        seen[number] = line",
        "        settings: NumberSettingsArgs = {",
        '            "usage": row["usage"].strip(),',
        '            "skill_group_ids": row["skill_group_ids"].split(),',
        "        }",
        '        if row["contact_flow_id"].strip():',
        '            settings["contact_flow_id"] = row["contact_flow_id"].strip()',
        "        bindings.setdefault(name, {})[number] = settings",
        "",
        "for name, numbers in sorted(bindings.items()):",
        "    PhoneNumberBinding(",
        "        name,",
        "        instance_id=INSTANCE_ID,",
        "        numbers=numbers,",
        "        adopt_existing=True,",
        *(["        opts=pulumi.ResourceOptions(protect=True),"] if project.protect else []),
        "    )",
    ]
    return "\n".join(lines) + "\n"


def _yaml(text: str) -> str:
    """A YAML scalar: JSON's quoted string is valid YAML, and reads back as exactly ``text``."""
    return json.dumps(text, ensure_ascii=False)


def _pulumi_yaml(project: Project) -> str:
    description = f"CCC phone numbers of instance {project.instance_id}, imported by ccc-numbers import"
    return (
        f"name: {_yaml(project.name)}\n"
        f"description: {_yaml(description)}\n"
        "runtime:\n"
        "  name: python\n"
        "  options:\n"
        "    toolchain: pip\n"
        "    virtualenv: venv\n"
    )


_CREDENTIALS = (
    "No credential is written here. Give the AccessKey as the environment variables "
    "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (and ALIBABA_CLOUD_SECURITY_TOKEN "
    "for an STS key), which never reach the Pulumi state, or as stack config: `pulumi config set "
    "ccc:accessKeyId <id>` and `pulumi config set --secret ccc:accessKeySecret <secret>` (kept encrypted "
    "in this file and in the state)."
)


def _stack_yaml(project: Project) -> str:
    lines = [
        f"# Written by ccc-numbers import: where the bindings of {project.instance_id} were listed.",
        *(_wrapped(_CREDENTIALS, "# ")),
        "config:",
    ]
    lines += [f"  {key}: {_yaml(value)}" for key, value in project.config.items()]
    if not project.config:
        lines[-1] = "config: {}"
    return "\n".join(lines) + "\n"


def _requirements(project: Project) -> str:
    lines = [
        "# The provider (its dependencies, pulumi among them, come with it).",
        "# Until pulumi-ccc-numbers is on PyPI, replace the line with its wheel or your Git host, e.g.",
        "#   pulumi-ccc-numbers @ file:///path/to/pulumi_ccc_numbers-<version>-py3-none-any.whl",
        "# (README of pulumi-ccc-numbers, \"Using it in your own stack\"; ccc-numbers import --requirement).",
        project.requirement,
    ]
    return "\n".join(lines) + "\n"


_GITIGNORE = """\
# The virtualenv Pulumi.yaml names, caches, and what the provider writes beside the program.
venv/
__pycache__/
.ccc-numbers/
.ccc-emulator/
"""


def _readme(project: Project, groups: Sequence[Group]) -> str:
    total = sum(len(g.numbers) for g in groups)
    program = (
        f"`{CSV_FILE}` (one row per number) and `{PROGRAM_FILE}`, which reads it"
        if project.form == "csv" else f"`{PROGRAM_FILE}`"
    )
    intro = (
        f"The {plural(total, 'phone number')} bound to CCC instance `{project.instance_id}`, as "
        f"`ccc-numbers import` listed them at {project.listed_at}: {program}, with one "
        "`PhoneNumberBinding` per set of identical settings."
    )
    rows = [
        f"| `{g.name}` | {len(g.numbers)} | {_comment(g.describe(), 200).replace('|', '/')} |" for g in groups
    ]
    config = ", ".join(f"`{key}`" for key in project.config) or "no config"
    doctor = (
        f"Run `ccc-numbers doctor --instance {project.instance_id}` in this folder to check them before "
        "the first `pulumi up`."
    )
    lines = [
        f"# {project.name}", "", *_wrapped(intro), "",
        "| binding | numbers | settings |", "|---|---|---|", *rows, "",
        "## Adopting them", "",
        "```bash",
        "python -m venv venv && venv/bin/pip install -r requirements.txt",
        f"pulumi stack select {project.stack} --create   # Pulumi.{project.stack}.yaml holds {config}",
        "export ALIBABA_CLOUD_ACCESS_KEY_ID=… ALIBABA_CLOUD_ACCESS_KEY_SECRET=…",
        "pulumi up        # adopts the numbers: it lists the instance and writes nothing",
        "pulumi preview   # no change",
        "```", "",
        *_wrapped(_ADOPTION), "",
        *([*_wrapped(f"Every binding has {_PROTECTION}"), ""] if project.protect else []),
        "## Credentials", "",
        *_wrapped(f"{_CREDENTIALS} {doctor}"),
    ]
    return "\n".join(lines) + "\n"
