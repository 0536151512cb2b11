"""The example projects and the root demo project, run as they are through the engine driver.

Each project's own ``__main__.py`` runs through preview, up, an unchanged up and destroy with the real
provider host. The committed dev stacks say ``ccc:endpoint: embedded``; here that key is pointed at
the test's emulator (with the demo key and fast provider knobs) so that the journal shows every API
call. One test keeps the root project's committed config and inspects the embedded emulator's state
file instead. Nothing is written into the repository.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from engine import OperationResult, Stack, Step

from ccc_emulator import Emulator, demo

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = REPO / "examples"
INSTANCE = demo.DEMO_INSTANCE_ID
INSTANCE_2 = demo.DEMO_INSTANCE_2_ID
EXAMPLE_NAMES = ("quickstart", "per-number-settings", "from-csv", "multi-instance")
EXAMPLE_FILES = ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py", "requirements.txt", "README.md")


@dataclass(frozen=True)
class Expected:
    """What one project's first up does: its bindings and the exact CCC calls it costs."""

    path: Path
    #: Binding name → (instance id, how many numbers), in registration order.
    bindings: Mapping[str, tuple[str, int]]
    #: Numbers per AddBulkPhoneNumbers call, sorted (calls for different bindings may interleave).
    batches: tuple[int, ...]

    @property
    def create_calls(self) -> dict[str, int]:
        """1 ListPhoneNumbers per binding plus the batches."""
        return {"ListPhoneNumbers": len(self.bindings), "AddBulkPhoneNumbers": len(self.batches)}

    @property
    def total(self) -> int:
        return sum(n for _, n in self.bindings.values())


def hundreds(n: int) -> list[int]:
    """Batch sizes of n numbers with one set of settings: ceil(n/100) calls."""
    return [100] * (n // 100) + ([n % 100] if n % 100 else [])


PROJECTS: dict[str, Expected] = {
    "quickstart": Expected(EXAMPLES_DIR / "quickstart", {"support": (INSTANCE, 3)}, (3,)),
    # Three groups of settings: ten 400 numbers (Inbound, IVR), five sales and five support lines.
    "per-number-settings": Expected(
        EXAMPLES_DIR / "per-number-settings", {"hotline": (INSTANCE, 20)}, (5, 5, 10)
    ),
    # One binding per team, sorted by team: 200 + 300 + 500 numbers, 2 + 3 + 5 calls.
    "from-csv": Expected(
        EXAMPLES_DIR / "from-csv",
        {"team-billing": (INSTANCE, 200), "team-sales": (INSTANCE, 300), "team-support": (INSTANCE, 500)},
        tuple(sorted(hundreds(200) + hundreds(300) + hundreds(500))),
    ),
    "multi-instance": Expected(
        EXAMPLES_DIR / "multi-instance",
        {"shanghai-lines": (INSTANCE, 10), "beijing-lines": (INSTANCE_2, 10)},
        (10, 10),
    ),
    "root": Expected(REPO, {"support": (INSTANCE, 3)}, (3,)),
}


# --- Helpers ------------------------------------------------------------------------------------


def committed_config(project_dir: Path) -> dict[str, Any]:
    """The `config:` block of the project's committed Pulumi.dev.yaml."""
    data = yaml.safe_load((project_dir / "Pulumi.dev.yaml").read_text())
    config: dict[str, Any] = data["config"]
    return config


def emulator_config(project_dir: Path, emu: Emulator) -> dict[str, Any]:
    """The committed config with the endpoint pointed at `emu`, the demo key and fast provider knobs."""
    return {
        **committed_config(project_dir),
        "ccc:endpoint": emu.url,
        "ccc:accessKeyId": demo.DEMO_ACCESS_KEY_ID,
        "ccc:accessKeySecret": demo.DEMO_ACCESS_KEY_SECRET,
        "ccc:requestsPerSecond": "10000",
        "ccc:retryBaseDelayMs": "0",
        "ccc:retryMaxDelayMs": "0",
    }


def example_stack(project_dir: Path, emu: Emulator) -> Stack:
    """The project's own program (its __main__.py) on a dev stack against `emu`."""
    return Stack(
        project_dir, None, config=emulator_config(project_dir, emu), secret_keys={"ccc:accessKeySecret"}
    )


def count(emu: Emulator) -> dict[str, int]:
    """Calls per action in the journal, every outcome counted, without the preflight's reads.

    (ListContactFlows / ListSkillGroups before the first write: counted in tests/provider.)
    """
    counts: dict[str, int] = {}
    for entry in emu.journal:
        if entry.action not in ("ListContactFlows", "ListSkillGroups"):
            counts[entry.action] = counts.get(entry.action, 0) + 1
    return counts


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


def diff_answers(res: OperationResult) -> list[str]:
    return [call.response["changes"] for call in res.calls if call.method == "Diff" and call.response]


def tree(path: Path) -> dict[str, float] | None:
    """Every file under `path` with its modification time; None when `path` does not exist."""
    if not path.exists():
        return None
    return {str(p): p.stat().st_mtime for p in sorted(path.rglob("*"))}


@pytest.fixture
def repo_untouched() -> Iterator[None]:
    """Fail the test if it left an embedded emulator state directory in the repository."""
    watched = [REPO / ".ccc-emulator", *(EXAMPLES_DIR / name / ".ccc-emulator" for name in EXAMPLE_NAMES)]
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


@pytest.mark.parametrize("name", list(PROJECTS))
def test_project_uses_only_ids_and_free_numbers_of_the_demo_seed(
    name: str, ccc_emulator: Emulator, repo_untouched: None
) -> None:
    """Every instance, flow, skill group and number the program declares exists in the demo seed."""
    expected = PROJECTS[name]
    seed = demo.demo_seed()
    instances = {i["id"]: i for i in seed["instances"]}
    free = {n["number"] for n in seed["numbers"] if not n["in_arrears"]} - {
        b["number"] for b in seed["bindings"]
    }

    res = example_stack(expected.path, ccc_emulator).preview()

    checked = [call.response["inputs"] for call in res.calls if call.method == "Check" and call.response]
    assert len(checked) == len(expected.bindings)
    declared = 0
    for inputs in checked:
        instance = instances[inputs["instance_id"]]
        flows = {f["id"] for f in instance["contact_flows"]}
        groups = {g["id"] for g in instance["skill_groups"]}
        for number, settings in inputs["numbers"].items():
            declared += 1
            assert number in free
            assert settings.get("contact_flow_id") in flows
            assert set(settings["skill_group_ids"]) <= groups
    assert declared == expected.total
    assert ccc_emulator.journal == []


@pytest.mark.parametrize("name", list(PROJECTS))
def test_project_previews_ups_idles_and_destroys_with_exact_api_calls(
    name: str, ccc_emulator: Emulator, repo_untouched: None
) -> None:
    """Preview and a no-op up call nothing; up lists once per binding and adds in batches; destroy unbinds."""
    expected = PROJECTS[name]
    before = all_bindings(ccc_emulator)
    stack = example_stack(expected.path, ccc_emulator)

    preview = stack.preview()

    assert ccc_emulator.journal == []
    assert preview.steps == [Step("create", b) for b in expected.bindings]

    up = stack.up(skip_preview=True)

    assert count(ccc_emulator) == expected.create_calls
    assert batch_sizes(ccc_emulator) == expected.batches
    assert up.steps == [Step("create", b) for b in expected.bindings]
    live: dict[str, str] = {}
    for binding, (instance_id, n) in expected.bindings.items():
        outputs = stack.resources[binding].plain_outputs
        in_instance = {b["number"]: b["phone_number_id"] for b in ccc_emulator.bindings(instance_id)}
        assert (outputs["instance_id"], len(outputs["phone_number_ids"])) == (instance_id, n)
        assert outputs["phone_number_ids"] == {number: in_instance[number] for number in outputs["numbers"]}
        live.update(outputs["phone_number_ids"])
    exported = list(exported_ids(up.outputs))
    assert dict(exported) == live
    assert len(exported) == expected.total
    ccc_emulator.clear_journal()

    idle = stack.up(expect_no_changes=True)

    assert ccc_emulator.journal == []
    assert diff_answers(idle) == ["DIFF_NONE"] * (2 * len(expected.bindings))

    destroy = stack.destroy(skip_preview=True)

    # Each delete lists its instance once, then removes what is still bound (issue 10.1).
    assert count(ccc_emulator) == {
        "ListPhoneNumbers": len(expected.bindings), "RemovePhoneNumber": expected.total,
    }
    assert destroy.steps == [Step("delete", b) for b in reversed(list(expected.bindings))]
    assert all_bindings(ccc_emulator) == before
    assert stack.resources == {}


def test_root_project_as_committed_runs_on_its_embedded_emulator(
    tmp_path: Path, repo_untouched: None
) -> None:
    """As committed (embedded), up binds in the state file, an unchanged up keeps that, destroy unbinds it."""
    state_path = tmp_path / "embedded" / "state.sqlite3"
    config = {**committed_config(REPO), "ccc:embeddedStatePath": str(state_path)}
    stack = Stack(REPO, None, config=config)

    up = stack.up()

    # A second process (this test) opens the provider's state file: seeded with the demo account.
    assert state_path.is_file()
    # Only inspected (never started); closed at the end so its SQLite connection does not linger.
    with closing(Emulator(state_path=state_path)) as embedded:
        numbers = ["02160660000", "02160660001", "02160660002"]
        bound = {b["number"]: b for b in embedded.bindings(INSTANCE)}
        assert sorted(bound) == numbers
        assert {(b["contact_flow_id"], tuple(b["skill_group_ids"])) for b in bound.values()} == {
            (demo.WELCOME_FLOW_ID, (demo.DEFAULT_SKILL_GROUP_ID,))
        }
        ids = {n: b["phone_number_id"] for n, b in bound.items()}
        assert up.outputs == {"phone_number_ids": ids}
        assert [b["number"] for b in embedded.bindings(INSTANCE_2)] == [demo.PREBOUND_NUMBER]

        idle = stack.up(expect_no_changes=True)

        assert diff_answers(idle) == ["DIFF_NONE", "DIFF_NONE"]
        assert [m for m in idle.methods() if m in ("Create", "Update", "Delete", "Read")] == []
        assert {b["number"]: b["phone_number_id"] for b in embedded.bindings(INSTANCE)} == ids

        destroy = stack.destroy()

        assert destroy.steps == [Step("delete", "support")]
        assert embedded.bindings(INSTANCE) == []
        assert [b["number"] for b in embedded.bindings(INSTANCE_2)] == [demo.PREBOUND_NUMBER]
        assert len(embedded.snapshot()["numbers"]) == len(demo.demo_seed()["numbers"])
