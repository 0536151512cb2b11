"""What ``ccc-numbers import`` writes, offline: groups, their names, the selection patterns, valid files."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from ccc_numbers.models import Settings, Usage
from ccc_numbers.scaffold import Group, PatternError, Project, Selection, group_numbers, project_files

ROOT = Path(__file__).resolve().parents[2]
BI, IN, OUT = Usage.BIDIRECTION, Usage.INBOUND, Usage.OUTBOUND


def names(numbers: dict[str, Settings], flows: dict[str, str] | None = None,
          groups: dict[str, str] | None = None) -> dict[str, tuple[str, ...]]:
    return {g.name: g.numbers for g in group_numbers(numbers, flows or {}, groups or {})}


def test_one_group_per_settings_numbers_sorted_groups_by_name() -> None:
    """Identical settings share a group whatever the order given; numbers sorted, groups sorted by name."""
    welcome = Settings(BI, "f1", ("g2", "g1"))
    groups = group_numbers(
        {"0216003": welcome, "0216001": Settings(OUT), "0216002": Settings(BI, "f1", ("g1", "g2"))},
        {"f1": "Welcome"}, {"g1": "Default", "g2": "Sales"},
    )
    assert groups == (
        Group("outbound", "outbound", Settings(OUT), ("0216001",), None, ()),
        Group("welcome", "welcome", welcome, ("0216002", "0216003"), "Welcome", ("Default", "Sales")),
    )
    assert groups[1].describe() == "Bidirection, contact flow Welcome, skill groups Default and Sales"
    assert groups[0].describe() == "Outbound, no contact flow, no skill groups"


def test_names_grow_only_for_groups_that_collide() -> None:
    """Flow name first; then the usage, then the skill groups, only where names collide."""
    numbers = {
        "1": Settings(BI, "f1", ("g1",)),
        "2": Settings(IN, "f1", ("g1",)),
        "3": Settings(IN, "f1", ("g2",)),
        "4": Settings(BI, "f2"),
        "5": Settings(OUT),
        "6": Settings(OUT, None, ("g2",)),
    }
    assert names(numbers, {"f1": "Welcome", "f2": "IVR: main menu"}, {"g1": "Default", "g2": "Sales"}) == {
        "ivr-main-menu": ("4",),
        "outbound-no-skill-groups": ("5",),
        "outbound-sales": ("6",),
        "welcome-bidirection": ("1",),
        "welcome-inbound-default": ("2",),
        "welcome-inbound-sales": ("3",),
    }


def test_names_without_ascii_fall_back_to_the_id_and_still_collide_safely() -> None:
    """A flow named 欢迎 reads as its id; two flows of one name get -2 in the order of their settings."""
    numbers = {"1": Settings(BI, "ivr_Welcome01"), "2": Settings(BI, "fa"), "3": Settings(BI, "fb")}
    assert names(numbers, {"ivr_Welcome01": "欢迎", "fa": "Café", "fb": "Cafe"}) == {
        "ivr-welcome01": ("1",),
        "cafe-bidirection-no-skill-groups": ("2",),
        "cafe-bidirection-no-skill-groups-2": ("3",),
    }


def test_variables_are_python_identifiers() -> None:
    """A name starting with a digit, a keyword or the program's own `pulumi` gets a variable that works."""
    groups = group_numbers(
        {"1": Settings(BI, "8Cvg"), "2": Settings(BI, "f2"), "3": Settings(BI, "f3")},
        {"8Cvg": "", "f2": "class", "f3": "Pulumi"}, {},
    )
    assert [(g.name, g.variable) for g in groups] == [
        ("8cvg", "binding_8cvg"), ("class", "class_binding"), ("pulumi", "pulumi_binding"),
    ]


def test_selection_keeps_only_minus_exclude_and_names_unmatched_patterns() -> None:
    """No --only keeps everything not excluded; patterns are globs over the number."""
    selection = Selection(only=("0216066*", "+86*"), exclude=("0216066000[0-4]",))
    kept = [n for n in ("02160660003", "02160660005", "+8657100", "4001000000") if selection.keeps(n)]
    assert kept == ["02160660005", "+8657100"]
    assert Selection(exclude=("4*",)).keeps("02160660003")
    assert not Selection().active
    assert selection.unmatched(["02160660005"]) == ("+86*", "0216066000[0-4]")


@pytest.mark.parametrize("pattern", ["abc", "0216 066*", "", "0216066*.txt"])
def test_a_pattern_that_is_not_about_numbers_is_refused(pattern: str) -> None:
    """Letters, spaces, an empty pattern: PatternError naming the option and the pattern."""
    with pytest.raises(PatternError, match=r"^--exclude \".*\" is not a number pattern: write digits"):
        Selection(exclude=(pattern,))


PROJECT = Project(
    instance_id="d278629c-c687-4aa3-b044-4fe9b012e7ef", listed_at="https://ccc.cn-shanghai.aliyuncs.com",
    name="callcenter", stack="prod", config={"ccc:region": "cn-shanghai"},
    requirement="pulumi-ccc-numbers==0.1.0", version="0.1.0",
)
#: Names that would break a file if written raw: quotes, a newline, a very long one.
AWKWARD = group_numbers(
    {"02160660001": Settings(BI, 'flow"1', ("g\\1", "g2")), "02160660002": Settings(OUT)},
    {'flow"1': 'Main "menu"\nsecond line # not code'}, {"g\\1": "x" * 300, "g2": "Ünïcode 客服"},
)


@pytest.mark.parametrize("form", ["program", "csv"])
def test_the_files_are_valid_whatever_the_names(form: str, tmp_path: Path) -> None:
    """Awkward names: the program parses, passes ruff with the project's rules, and keeps ids intact."""
    project = Project(**{**PROJECT.__dict__, "form": form})
    files = project_files(project, AWKWARD)
    expected = {"Pulumi.yaml", "Pulumi.prod.yaml", "requirements.txt", ".gitignore", "README.md",
                "__main__.py"}
    assert set(files) == expected | ({"numbers.csv"} if form == "csv" else set())
    tree = ast.parse(files["__main__.py"])
    assert ast.get_docstring(tree) is not None
    if form == "program":
        strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
        assert {'flow"1', "g\\1", "g2", "02160660001", "02160660002"} <= strings
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--config", str(ROOT / "pyproject.toml"), str(tmp_path)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_stack_config_and_requirements_say_how_to_give_what_they_leave_out() -> None:
    """Pulumi.<stack>.yaml: the keys given and how to give credentials; requirements: the provider's line."""
    files = project_files(PROJECT, AWKWARD)
    stack = files["Pulumi.prod.yaml"].splitlines()
    assert stack[-2:] == ["config:", '  ccc:region: "cn-shanghai"']
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET" in " ".join(stack)
    assert files["requirements.txt"].splitlines()[-1] == "pulumi-ccc-numbers==0.1.0"
    no_protect = project_files(Project(**{**PROJECT.__dict__, "protect": False}), AWKWARD)["__main__.py"]
    assert "protect" not in no_protect
    assert "import pulumi\n" not in no_protect
