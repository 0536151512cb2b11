"""The example projects and the root demo project, run as users run them: the real CLI on the folder.

Each project is copied to a tmp folder (its virtualenv name linked to the test's), its committed
dev stack selected, and the real ``pulumi`` CLI runs preview, up, an unchanged up, an edit of the
program as a user would make it (preview --diff, then up) and destroy. For the examples the
stack's ``ccc:endpoint`` is pointed at the test's emulator (with the demo key) so that the
journal shows every API call; the root project runs as committed, on its embedded emulator, whose
state file is then inspected. Nothing is written into the repository.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from real_engine.harness import ProjectFolder
from real_engine.programs import count, resource_block

from ccc_emulator import Emulator, demo

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = REPO / "examples"
INSTANCE = demo.DEMO_INSTANCE_ID
INSTANCE_2 = demo.DEMO_INSTANCE_2_ID
EXAMPLE_NAMES = ("quickstart", "per-number-settings", "from-csv", "multi-instance")
EXAMPLE_FILES = ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py", "requirements.txt", "README.md")
WELCOME = demo.WELCOME_FLOW_ID


@dataclass(frozen=True)
class Edit:
    """A change a user makes to one file of the project, and what it costs."""

    file: str
    old: str
    new: str
    #: The binding whose diff shows the change, and the lines `preview --diff` prints for it.
    binding: str
    diff: tuple[str, ...]
    #: The API calls of the up that applies it, besides the listing and the preflight's reads (one each).
    writes: Mapping[str, int]

    @property
    def calls(self) -> dict[str, int]:
        return {"ListPhoneNumbers": 1, "ListContactFlows": 1, "ListSkillGroups": 1, **self.writes}


@dataclass(frozen=True)
class Expected:
    """What one project's first up does, and the edit made to it afterwards."""

    path: Path
    #: Binding name → (instance id, how many numbers), in registration order.
    bindings: Mapping[str, tuple[str, int]]
    #: Numbers per AddBulkPhoneNumbers call, sorted (calls for different bindings may interleave).
    batches: tuple[int, ...]
    edit: Edit

    @property
    def instances(self) -> int:
        return len({instance for instance, _ in self.bindings.values()})

    @property
    def create_calls(self) -> dict[str, int]:
        """1 ListPhoneNumbers per binding, the preflight's reads once per instance, and the batches.

        (Every example names contact flows and skill groups, so each instance's are listed once in
        the provider process: preflight.py.)
        """
        return {
            "ListPhoneNumbers": len(self.bindings),
            "ListContactFlows": self.instances,
            "ListSkillGroups": self.instances,
            "AddBulkPhoneNumbers": len(self.batches),
        }

    @property
    def total(self) -> int:
        return sum(n for _, n in self.bindings.values())


def hundreds(n: int) -> list[int]:
    """Batch sizes of n numbers with one set of settings: ceil(n/100) calls."""
    return [100] * (n // 100) + ([n % 100] if n % 100 else [])


def whole(sign: str, number: str, flow: str | None, groups: list[str], usage: str) -> tuple[str, ...]:
    """How `preview --diff` prints an added (+) or removed (-) number: its whole settings block."""
    lines = [f"    {sign} {number}: {{"]
    if flow is not None:
        lines.append(f'        {sign} contact_flow_id: "{flow}"')
    if groups:
        lines.append(f"        {sign} skill_group_ids: [")
        lines.extend(f'        {sign}     [{i}]: "{group}"' for i, group in enumerate(groups))
        lines.append("          ]")
    else:
        lines.append(f"        {sign} skill_group_ids: []")
    lines += [f'        {sign} usage          : "{usage}"', "      }"]
    return tuple(lines)


def numbers_diff(*entries: tuple[str, ...]) -> tuple[str, ...]:
    return ("~ numbers: {", *(line for entry in entries for line in entry), "  }")


PROJECTS: dict[str, Expected] = {
    "quickstart": Expected(
        EXAMPLES_DIR / "quickstart",
        {"support": (INSTANCE, 3)},
        (3,),
        Edit(
            "__main__.py", '"02160660002"]', '"02160660003"]', "support",
            numbers_diff(
                whole("-", "02160660002", WELCOME, [demo.DEFAULT_SKILL_GROUP_ID], "Bidirection"),
                whole("+", "02160660003", WELCOME, [demo.DEFAULT_SKILL_GROUP_ID], "Bidirection"),
            ),
            {"RemovePhoneNumber": 1, "AddBulkPhoneNumbers": 1},
        ),
    ),
    # Three groups of settings: ten 400 numbers (Inbound, IVR), five sales and five support lines.
    "per-number-settings": Expected(
        EXAMPLES_DIR / "per-number-settings",
        {"hotline": (INSTANCE, 20)},
        (5, 5, 10),
        Edit(
            "__main__.py", "range(105, 110)", "range(105, 111)", "hotline",
            numbers_diff(
                whole(
                    "+", "02160660110", WELCOME,
                    sorted([demo.SUPPORT_SKILL_GROUP_ID, demo.DEFAULT_SKILL_GROUP_ID]), "Bidirection",
                )
            ),
            {"AddBulkPhoneNumbers": 1},
        ),
    ),
    # One binding per team, sorted by team: 200 + 300 + 500 numbers, 2 + 3 + 5 calls.
    "from-csv": Expected(
        EXAMPLES_DIR / "from-csv",
        {"team-billing": (INSTANCE, 200), "team-sales": (INSTANCE, 300), "team-support": (INSTANCE, 500)},
        tuple(sorted(hundreds(200) + hundreds(300) + hundreds(500))),
        Edit(
            "numbers.csv", "02160660201,sales\n", "", "team-sales",
            numbers_diff(whole("-", "02160660201", WELCOME, [demo.SALES_SKILL_GROUP_ID], "Bidirection")),
            {"RemovePhoneNumber": 1},
        ),
    ),
    "multi-instance": Expected(
        EXAMPLES_DIR / "multi-instance",
        {"shanghai-lines": (INSTANCE, 10), "beijing-lines": (INSTANCE_2, 10)},
        (10, 10),
        Edit(
            "__main__.py", "range(20, 30)", "range(20, 31)", "beijing-lines",
            numbers_diff(
                whole(
                    "+", "02160660030", demo.INSTANCE_2_FLOW_ID, [demo.INSTANCE_2_SKILL_GROUP_ID],
                    "Bidirection",
                )
            ),
            {"AddBulkPhoneNumbers": 1},
        ),
    ),
}


# --- Helpers ------------------------------------------------------------------------------------


def committed_config(project_dir: Path) -> dict[str, Any]:
    """The `config:` block of the project's committed Pulumi.dev.yaml."""
    data = yaml.safe_load((project_dir / "Pulumi.dev.yaml").read_text())
    config: dict[str, Any] = data["config"]
    return config


def batch_sizes(emu: Emulator) -> tuple[int, ...]:
    """Numbers carried by each AddBulkPhoneNumbers request, sorted."""
    return tuple(
        sorted(
            sum(1 for key in entry.params if key.startswith("PhoneNumber."))
            for entry in emu.journal
            if entry.action == "AddBulkPhoneNumbers"
        )
    )


def all_bindings(emu: Emulator) -> list[dict[str, Any]]:
    return sorted(emu.bindings(), key=lambda b: b["number"])


def exported_ids(value: Any) -> Iterator[tuple[str, str]]:
    """Every (number, PhoneNumberId) pair in stack outputs, however the program nested them."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, str):
                yield key, item
            else:
                yield from exported_ids(item)


def bindings_in(project: ProjectFolder) -> dict[str, dict[str, Any]]:
    """The project's PhoneNumberBinding resources in state, by name."""
    resources = project.export().get("resources") or []
    return {
        r["urn"].rsplit("::", 1)[1]: r
        for r in resources
        if r["type"] == "pulumi-python:dynamic/ccc:PhoneNumberBinding"
    }


def tree(path: Path) -> dict[str, float] | None:
    """Every file under `path` with its modification time; None when `path` does not exist."""
    if not path.exists():
        return None
    return {str(p): p.stat().st_mtime for p in sorted(path.rglob("*"))}


@pytest.fixture
def repo_untouched() -> Iterator[None]:
    """Fail the test if it left an embedded emulator state or failure file in the repository."""
    watched = [
        *(REPO / d for d in (".ccc-emulator", ".ccc-numbers")),
        *(EXAMPLES_DIR / name / d for name in EXAMPLE_NAMES for d in (".ccc-emulator", ".ccc-numbers")),
    ]
    before = [tree(path) for path in watched]
    yield
    assert [tree(path) for path in watched] == before


# --- The committed projects ------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_is_a_complete_python_project_on_the_embedded_emulator(name: str) -> None:
    """Each example has its program, README, requirements on this checkout and an embedded dev stack."""
    project = EXAMPLES_DIR / name
    assert [f for f in EXAMPLE_FILES if not (project / f).is_file()] == []
    meta = yaml.safe_load((project / "Pulumi.yaml").read_text())
    runtime = meta["runtime"]
    assert (runtime if isinstance(runtime, str) else runtime["name"]) == "python"
    assert meta["name"] == f"ccc-numbers-{name}"
    config = committed_config(project)
    assert config["ccc:endpoint"] == "embedded"
    assert [key for key in config if "secret" in key.lower() or "token" in key.lower()] == []
    editable = [
        line.split(None, 1)[1]
        for line in (project / "requirements.txt").read_text().splitlines()
        if line.startswith("-e ")
    ]
    assert [(project / target).resolve() for target in editable] == [REPO]


def test_root_project_is_the_demo_stack_on_the_embedded_emulator() -> None:
    """The root project is a Python program whose committed dev stack uses the embedded emulator."""
    meta = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert (meta["name"], meta["runtime"]["name"]) == ("ccc-numbers-demo", "python")
    assert (REPO / "__main__.py").is_file()
    assert committed_config(REPO) == {"ccc:endpoint": "embedded"}


def test_demo_seed_has_at_least_1200_purchased_numbers() -> None:
    """The demo account the examples rely on has at least 1,200 purchased numbers."""
    assert len(demo.demo_seed()["numbers"]) >= 1200


@pytest.mark.real_engine
@pytest.mark.parametrize("name", list(PROJECTS))
def test_example_previews_ups_idles_edits_and_destroys_with_exact_api_calls(
    name: str, pulumi_cli: Path, ccc_emulator: Emulator, tmp_path: Path, repo_untouched: None
) -> None:
    """Preview and a no-op up call nothing; up lists once per binding and adds in batches; an edit
    shows in `preview --diff` and costs exactly its calls; destroy unbinds everything it bound."""
    expected = PROJECTS[name]
    seed = demo.demo_seed()
    bound_in_seed = {b["number"] for b in seed["bindings"]}
    free = {n["number"] for n in seed["numbers"] if not n["in_arrears"]} - bound_in_seed
    before = all_bindings(ccc_emulator)
    project = ProjectFolder(expected.path, tmp_path, cli_dir=pulumi_cli)
    project.set_config("ccc:endpoint", ccc_emulator.url)
    project.set_config("ccc:accessKeyId", demo.DEMO_ACCESS_KEY_ID)
    project.set_config("ccc:accessKeySecret", demo.DEMO_ACCESS_KEY_SECRET, secret=True)

    preview = project.run("preview")

    assert preview.ok, preview.text
    assert ccc_emulator.journal == []
    assert f"+ {len(expected.bindings) + 1} to create" in preview.stdout

    up = project.run("up", "--yes")

    assert up.ok, up.text
    assert count(ccc_emulator) == expected.create_calls
    assert batch_sizes(ccc_emulator) == expected.batches
    state = bindings_in(project)
    assert sorted(state) == sorted(expected.bindings)
    live: dict[str, str] = {}
    for binding, (instance_id, n) in expected.bindings.items():
        outputs = state[binding]["outputs"]
        in_instance = {b["number"]: b["phone_number_id"] for b in ccc_emulator.bindings(instance_id)}
        assert (outputs["instance_id"], len(outputs["phone_number_ids"])) == (instance_id, n)
        assert outputs["phone_number_ids"] == {number: in_instance[number] for number in outputs["numbers"]}
        assert set(outputs["numbers"]) <= free
        live.update(outputs["phone_number_ids"])
    exported = list(exported_ids(project.outputs()))
    assert dict(exported) == live
    assert len(exported) == expected.total
    ccc_emulator.clear_journal()

    idle = project.run("up", "--yes", "--expect-no-changes")

    assert idle.ok, idle.text
    assert ccc_emulator.journal == []

    edit = expected.edit
    project.edit(edit.file, edit.old, edit.new)
    diff = project.run("preview", "--diff")

    assert diff.ok, diff.text
    assert ccc_emulator.journal == []
    assert tuple(resource_block(diff.stdout, edit.binding)) == edit.diff
    edited = project.run("up", "--yes")
    assert edited.ok, edited.text
    assert count(ccc_emulator) == edit.calls
    ccc_emulator.clear_journal()

    owned = sum(len(r["outputs"]["phone_number_ids"]) for r in bindings_in(project).values())
    assert owned == expected.total + edit.writes.get("AddBulkPhoneNumbers", 0) - edit.writes.get(
        "RemovePhoneNumber", 0
    )

    destroy = project.run("destroy", "--yes")

    assert destroy.ok, destroy.text
    # Each delete lists its instance once, then removes what is still bound.
    assert count(ccc_emulator) == {"ListPhoneNumbers": len(expected.bindings), "RemovePhoneNumber": owned}
    assert all_bindings(ccc_emulator) == before
    assert bindings_in(project) == {}


@pytest.mark.real_engine
def test_root_project_as_committed_runs_on_its_embedded_emulator(
    pulumi_cli: Path, tmp_path: Path, repo_untouched: None
) -> None:
    """As committed (embedded): up binds in the state file, an unchanged up keeps it, an edit adds the
    number, destroy unbinds them all; the demo account's other numbers are untouched."""
    project = ProjectFolder(REPO, tmp_path, cli_dir=pulumi_cli)
    state_path = project.path / ".ccc-emulator" / "state.sqlite3"
    numbers = ["02160660000", "02160660001", "02160660002"]

    up = project.run("up", "--yes")

    assert up.ok, up.text
    assert state_path.is_file()
    # A second process (this test) opens the provider's state file; only inspected, never started.
    with closing(Emulator(state_path=state_path)) as embedded:
        bound = {b["number"]: b for b in embedded.bindings(INSTANCE)}
        assert sorted(bound) == numbers
        assert {(b["contact_flow_id"], tuple(b["skill_group_ids"])) for b in bound.values()} == {
            (demo.WELCOME_FLOW_ID, (demo.DEFAULT_SKILL_GROUP_ID,))
        }
        ids = {n: b["phone_number_id"] for n, b in bound.items()}
        assert project.outputs() == {"phone_number_ids": ids}
        assert [b["number"] for b in embedded.bindings(INSTANCE_2)] == [demo.PREBOUND_NUMBER]

    assert project.run("up", "--yes", "--expect-no-changes").ok
    project.edit("__main__.py", '"02160660002"]', '"02160660002", "02160660003"]')
    diff = project.run("preview", "--diff")
    assert tuple(resource_block(diff.stdout, "support")) == numbers_diff(
        whole("+", "02160660003", WELCOME, [demo.DEFAULT_SKILL_GROUP_ID], "Bidirection")
    )
    assert project.run("up", "--yes").ok
    with closing(Emulator(state_path=state_path)) as embedded:
        assert sorted(b["number"] for b in embedded.bindings(INSTANCE)) == [*numbers, "02160660003"]
        after = {b["number"]: b["phone_number_id"] for b in embedded.bindings(INSTANCE)}
        assert {n: after[n] for n in ids} == ids

    destroy = project.run("destroy", "--yes")

    assert destroy.ok, destroy.text
    with closing(Emulator(state_path=state_path)) as embedded:
        assert embedded.bindings(INSTANCE) == []
        assert [b["number"] for b in embedded.bindings(INSTANCE_2)] == [demo.PREBOUND_NUMBER]
        assert len(embedded.snapshot()["numbers"]) == len(demo.demo_seed()["numbers"])
