"""``ccc-numbers import`` against the emulator: its files, filters, refusals and exit codes; and issue 12's
"Done when" through the real Pulumi CLI: an imported project adopts 300 numbers with 0 writes.

Numbers are bound through Alibaba's generated SDK directly, never through this project. For the
"Done when", 300 numbers in 3 settings groups; then ``ccc-numbers import`` (the installed console
script) runs in a Pulumi project whose stack config was given with ``pulumi config set`` (endpoint,
demo key, secret with ``--secret``), so it reads its settings through the real CLI. The project it
writes is then run as a user runs it: the real ``pulumi up`` (preview pass and update pass) makes
only the listing and preflight reads and 0 writes, and the next ``pulumi preview
--expect-no-changes`` passes, with no API call at all.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import runpy
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from alibabacloud_ccc20170705 import models
from alibabacloud_ccc20170705.client import Client
from alibabacloud_tea_openapi.models import Config
from real_engine import harness
from real_engine.programs import count

from ccc_emulator import Emulator, demo
from ccc_numbers import cli as ccc_cli
from ccc_numbers import importer
from ccc_numbers.config import RuntimeConfig
from ccc_numbers.retry import instant_retries
from ccc_numbers.validation import check_inputs

INSTANCE = demo.DEMO_INSTANCE_ID
ROOT = Path(__file__).resolve().parents[2]
CCC_NUMBERS = Path(sys.executable).parent / "ccc-numbers"
WRITE_ACTIONS = ("AddBulkPhoneNumbers", "AddPhoneNumber", "ModifyPhoneNumber", "RemovePhoneNumber")


@dataclass(frozen=True)
class Bound:
    """Numbers bound together with one AddBulkPhoneNumbers call of the official SDK."""

    numbers: tuple[str, ...]
    usage: str
    contact_flow_id: str | None = None
    skill_group_ids: tuple[str, ...] = ()


def landlines(start: int, stop: int) -> tuple[str, ...]:
    return tuple(demo.landline(i) for i in range(start, stop))


#: Issue 12's instance: 300 numbers in 3 settings groups.
GROUPS_300 = (
    Bound(landlines(0, 100), "Bidirection", demo.WELCOME_FLOW_ID, (demo.DEFAULT_SKILL_GROUP_ID,)),
    Bound(landlines(100, 200), "Bidirection", demo.IVR_FLOW_ID,
          (demo.SUPPORT_SKILL_GROUP_ID, demo.SALES_SKILL_GROUP_ID)),
    Bound(landlines(200, 300), "Inbound", demo.AFTER_HOURS_FLOW_ID, (demo.SUPPORT_SKILL_GROUP_ID,)),
)


def sdk_bind(emu: Emulator, groups: Sequence[Bound], instance_id: str = INSTANCE) -> dict[str, str]:
    """Bind through Alibaba's generated SDK directly (not this project); {number: PhoneNumberId}."""
    client = Client(Config(
        endpoint=emu.endpoint, protocol="http", region_id="cn-shanghai",
        access_key_id=demo.DEMO_ACCESS_KEY_ID, access_key_secret=demo.DEMO_ACCESS_KEY_SECRET,
    ))
    ids: dict[str, str] = {}
    for group in groups:
        answer = client.add_bulk_phone_numbers(models.AddBulkPhoneNumbersRequest(
            instance_id=instance_id, phone_number=list(group.numbers), usage=group.usage,
            contact_flow_id=group.contact_flow_id, skill_group_id=list(group.skill_group_ids) or None,
        ))
        bound = answer.body.phone_numbers.phone_number
        assert sorted(b.number for b in bound) == sorted(group.numbers), answer.body.to_map()
        ids.update({b.number: b.phone_number_id for b in bound})
    return ids


# -- the command against the emulator ------------------------------------------------------------------


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder without Pulumi.yaml, with the demo key in the environment (and nothing else)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", demo.DEMO_ACCESS_KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", demo.DEMO_ACCESS_KEY_SECRET)
    monkeypatch.delenv("ALIBABA_CLOUD_SECURITY_TOKEN", raising=False)
    return work


def run_import(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    """Exit code, stdout lines, stderr lines of ``ccc-numbers import ARGV``."""
    code = ccc_cli.main(["import", *argv])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err.splitlines()


NO_PROJECT = (
    "ccc-numbers import: settings from no Pulumi project in this folder: defaults and the environment"
)
GROUPS_MIXED = (
    Bound(landlines(0, 3), "Bidirection", demo.WELCOME_FLOW_ID, (demo.DEFAULT_SKILL_GROUP_ID,)),
    Bound(landlines(10, 12), "Inbound", demo.WELCOME_FLOW_ID, (demo.DEFAULT_SKILL_GROUP_ID,)),
    Bound(landlines(20, 22), "Outbound"),
    Bound(("4001000001",), "Inbound", demo.IVR_FLOW_ID,
          (demo.SUPPORT_SKILL_GROUP_ID, demo.SALES_SKILL_GROUP_ID)),
)
READS = ["ListPhoneNumbers", "ListContactFlows", "ListSkillGroups"]


def test_import_writes_one_binding_per_settings_group_with_only_reads(
    ccc_emulator: Emulator, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Groups by settings, names them from the flow (then the usage), sorts numbers; three reads, no write."""
    # Bound in an order that is not the sorted one, so the program's order is import's own.
    sdk_bind(ccc_emulator, GROUPS_MIXED[::-1])
    ccc_emulator.clear_journal()

    code, out, err = run_import(
        capsys, "--endpoint", ccc_emulator.url, "--instance", INSTANCE, "--out", "adopt"
    )

    assert (code, err) == (0, [])
    assert out == [
        NO_PROJECT,
        f"listed 8 phone numbers bound to CCC instance {INSTANCE} at {ccc_emulator.url}",
        "wrote 4 bindings to adopt: Pulumi.yaml, Pulumi.dev.yaml, requirements.txt, .gitignore, README.md, "
        "__main__.py",
        "  ivr-main-menu        1 phone number   Inbound, contact flow IVR main menu, skill groups Sales and "
        "Support",
        "  outbound             2 phone numbers  Outbound, no contact flow, no skill groups",
        "  welcome-bidirection  3 phone numbers  Bidirection, contact flow Welcome, skill group Default",
        "  welcome-inbound      2 phone numbers  Inbound, contact flow Welcome, skill group Default",
        "the AccessKey (from environment) is not written into the project: in adopt, set "
        "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or pulumi config set "
        "ccc:accessKeyId and pulumi config set --secret ccc:accessKeySecret (README.md)",
        "next: review __main__.py, then in adopt: pulumi stack select dev --create; pulumi up (adopts the "
        "numbers, writes nothing); pulumi preview (no change)",
    ]
    assert [e.action for e in ccc_emulator.journal] == READS
    program = (elsewhere / "adopt" / "__main__.py").read_text()
    assert program.index('"welcome-bidirection"') < program.index('"welcome-inbound"')
    welcome = program[program.index("welcome_bidirection = "):program.index("# 2 phone numbers: Inbound")]
    assert welcome.splitlines() == [
        "welcome_bidirection = PhoneNumberBinding(",
        '    "welcome-bidirection",',
        "    instance_id=INSTANCE_ID,",
        '    usage="Bidirection",',
        f'    contact_flow_id="{demo.WELCOME_FLOW_ID}",  # Welcome',
        "    skill_group_ids=[",
        f'        "{demo.DEFAULT_SKILL_GROUP_ID}",  # Default',
        "    ],",
        "    adopt_existing=True,",
        "    numbers=[",
        '        "02160660000",',
        '        "02160660001",',
        '        "02160660002",',
        "    ],",
        "    opts=pulumi.ResourceOptions(protect=True),",
        ")",
        "",
    ]
    assert f'INSTANCE_ID = "{INSTANCE}"' in program
    assert "# 1 phone number: Inbound, contact flow IVR main menu, skill groups Sales and Support." in program
    assert (elsewhere / "adopt" / "Pulumi.dev.yaml").read_text().splitlines()[-3:] == [
        "config:", '  ccc:region: "cn-shanghai"', f'  ccc:endpoint: "{ccc_emulator.url}"',
    ]
    assert yaml.safe_load((elsewhere / "adopt" / "Pulumi.yaml").read_text()) == {
        "name": "adopt",
        "description": f"CCC phone numbers of instance {INSTANCE}, imported by ccc-numbers import",
        "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}},
    }
    requirement = (elsewhere / "adopt" / "requirements.txt").read_text().splitlines()[-1]
    assert requirement == f"pulumi-ccc-numbers=={importlib.metadata.version('pulumi-ccc-numbers')}"


def test_the_generated_program_declares_exactly_the_live_bindings(
    ccc_emulator: Emulator, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run under Pulumi's mocks, each form registers one adopting binding per group with the live settings."""
    sdk_bind(ccc_emulator, GROUPS_MIXED)
    live = {b["number"]: b for b in ccc_emulator.bindings(INSTANCE)}
    for form in ("program", "csv"):
        code, _, err = run_import(
            capsys, "--endpoint", ccc_emulator.url, "--instance", INSTANCE, "--out", form, "--format", form
        )
        assert (code, err) == (0, [])
        declared = registered(elsewhere / form)
        assert sorted(declared) == ["ivr-main-menu", "outbound", "welcome-bidirection", "welcome-inbound"]
        assert {n for inputs in declared.values() for n in inputs["numbers"]} == set(live)
        for name, inputs in declared.items():
            assert (inputs["instance_id"], inputs["adopt_existing"]) == (INSTANCE, True), name
            for number, settings in inputs["numbers"].items():
                b = live[number]
                assert settings == {
                    "usage": b["usage"],
                    **({"contact_flow_id": b["contact_flow_id"]} if b["contact_flow_id"] else {}),
                    "skill_group_ids": sorted(b["skill_group_ids"]),
                }, (form, number)


def registered(folder: Path) -> dict[str, dict[str, Any]]:
    """The checked inputs of each PhoneNumberBinding the project's __main__.py registers (mocked engine)."""
    found: dict[str, dict[str, Any]] = {}

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
            outcome = check_inputs({k: v for k, v in args.inputs.items() if k != "__provider"})
            assert outcome.ok, outcome.failures
            found[args.name] = outcome.inputs
            return f"{args.name}-id", dict(args.inputs)

        def call(self, _args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
            return {}, []

    asyncio.set_event_loop(asyncio.new_event_loop())  # pulumi's runtime uses the thread's loop
    pulumi.runtime.set_mocks(Mocks(), project="adopted", stack="dev", preview=False)

    @pulumi.runtime.test
    def program() -> None:
        runpy.run_path(str(folder / "__main__.py"), run_name="__main__")

    program()
    return found


def test_csv_form_holds_one_row_per_number_with_the_names_for_people(
    ccc_emulator: Emulator, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """numbers.csv: sorted rows, the binding name, settings, and the flow and skill group names."""
    sdk_bind(ccc_emulator, GROUPS_MIXED)

    code, out, _ = run_import(
        capsys, "--endpoint", ccc_emulator.url, "--instance", INSTANCE, "--out", "csv", "--format", "csv"
    )

    assert code == 0
    assert out[2] == (
        "wrote 4 bindings to csv: Pulumi.yaml, Pulumi.dev.yaml, requirements.txt, .gitignore, README.md, "
        "numbers.csv, __main__.py"
    )
    sales_support = f"{demo.SALES_SKILL_GROUP_ID} {demo.SUPPORT_SKILL_GROUP_ID}"
    welcome = f"welcome,{demo.WELCOME_FLOW_ID},{demo.DEFAULT_SKILL_GROUP_ID},Welcome,Default"
    assert (elsewhere / "csv" / "numbers.csv").read_text().splitlines() == [
        "number,binding,usage,contact_flow_id,skill_group_ids,contact_flow_name,skill_group_names",
        f"02160660000,welcome-bidirection,Bidirection,{welcome.removeprefix('welcome,')}",
        f"02160660001,welcome-bidirection,Bidirection,{welcome.removeprefix('welcome,')}",
        f"02160660002,welcome-bidirection,Bidirection,{welcome.removeprefix('welcome,')}",
        f"02160660010,welcome-inbound,Inbound,{welcome.removeprefix('welcome,')}",
        f"02160660011,welcome-inbound,Inbound,{welcome.removeprefix('welcome,')}",
        "02160660020,outbound,Outbound,,,,",
        "02160660021,outbound,Outbound,,,,",
        f"4001000001,ivr-main-menu,Inbound,{demo.IVR_FLOW_ID},{sales_support},IVR main menu,Sales; Support",
    ]
    assert out[-1] == (
        "next: review numbers.csv, then in csv: pulumi stack select dev --create; pulumi up (adopts the "
        "numbers, writes nothing); pulumi preview (no change)"
    )


def test_only_and_exclude_take_globs_and_pattern_files(
    ccc_emulator: Emulator, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--only globs minus an @file's patterns (comments, blank lines skipped); an unmatched one is named."""
    sdk_bind(ccc_emulator, GROUPS_MIXED)
    (elsewhere / "theirs.txt").write_text("# numbers another stack manages\n\n0216066002?\n02160660001\n")

    code, out, err = run_import(
        capsys, "--endpoint", ccc_emulator.url, "--instance", INSTANCE, "--out", "mine",
        "--only", "0216066*", "--only", "0399*", "--exclude", "@theirs.txt",
    )

    assert code == 0
    assert err == ["ccc-numbers import: warning: the pattern 0399* matches none of the numbers bound"]
    assert out[2:6] == [
        "kept 4 of them (--only / --exclude left out 4)",
        "wrote 2 bindings to mine: Pulumi.yaml, Pulumi.dev.yaml, requirements.txt, .gitignore, README.md, "
        "__main__.py",
        "  welcome-bidirection  2 phone numbers  Bidirection, contact flow Welcome, skill group Default",
        "  welcome-inbound      2 phone numbers  Inbound, contact flow Welcome, skill group Default",
    ]
    # Only the flows and skill groups the kept numbers use are looked up: both kinds here.
    assert [e.action for e in ccc_emulator.journal if e.action != "AddBulkPhoneNumbers"] == READS


def test_filters_that_leave_nothing_fail_with_exit_1(
    ccc_emulator: Emulator, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every number excluded: nothing is written, the message says why."""
    sdk_bind(ccc_emulator, GROUPS_MIXED)

    code, _, err = run_import(
        capsys, "--endpoint", ccc_emulator.url, "--instance", INSTANCE, "--out", "none", "--exclude", "*"
    )

    assert code == 1
    assert err == [
        f"ccc-numbers import: --only / --exclude leave none of the 8 phone numbers bound to CCC instance "
        f"{INSTANCE}: nothing to import; check the patterns"
    ]
    assert not (elsewhere / "none").exists()


def test_bad_patterns_and_unreadable_pattern_files_exit_2_before_any_call(
    ccc_emulator: Emulator, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pattern with letters, a missing @file: exit 2, one line, no API call."""
    base = ("--endpoint", ccc_emulator.url, "--instance", INSTANCE, "--out", "x")
    assert run_import(capsys, *base, "--only", "numbers.txt")[::2] == (2, [
        'ccc-numbers import: --only "numbers.txt" is not a number pattern: write digits and a leading +, '
        "with the glob characters * ? [ ] (e.g. 0216066* or 021606600[0-4]), or @FILE with one pattern per "
        "line"
    ])
    assert run_import(capsys, *base, "--exclude", "@missing.txt")[::2] == (2, [
        "ccc-numbers import: cannot read --exclude @missing.txt: No such file or directory"
    ])
    assert ccc_emulator.journal == []


def test_a_non_empty_out_is_refused_without_force(
    ccc_emulator: Emulator, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 before any call; with --force the files are replaced, the stack config file is kept."""
    sdk_bind(ccc_emulator, GROUPS_MIXED)
    ccc_emulator.clear_journal()
    out = elsewhere / "existing"
    out.mkdir()
    (out / "__main__.py").write_text("# mine\n")
    mine = "encryptionsalt: v1:abc\nconfig:\n  ccc:region: cn-hangzhou\n"
    (out / "Pulumi.dev.yaml").write_text(mine)

    code, _, err = run_import(
        capsys, "--endpoint", ccc_emulator.url, "--instance", INSTANCE, "--out", str(out)
    )

    assert (code, err) == (2, [
        f"ccc-numbers import: --out {out} is not empty (Pulumi.dev.yaml, __main__.py): name a new or empty "
        "folder, or pass --force to replace the files import writes there"
    ])
    assert ccc_emulator.journal == []
    assert (out / "__main__.py").read_text() == "# mine\n"

    code, lines, err = run_import(
        capsys, "--endpoint", ccc_emulator.url, "--instance", INSTANCE, "--out", str(out), "--force"
    )

    assert (code, err) == (0, [])
    assert lines[2] == (
        f"wrote 4 bindings to {out}: Pulumi.yaml, requirements.txt, .gitignore, README.md, __main__.py"
    )
    assert (
        "kept Pulumi.dev.yaml as it was (it may hold the stack's secrets): check its ccc:region, ccc:endpoint"
    ) in lines
    assert (out / "Pulumi.dev.yaml").read_text() == mine
    assert "PhoneNumberBinding(" in (out / "__main__.py").read_text()

    (elsewhere / "a-file").write_text("")
    code, _, err = run_import(
        capsys, "--endpoint", ccc_emulator.url, "--instance", INSTANCE, "--out", "a-file"
    )
    assert (code, err) == (2, ["ccc-numbers import: --out a-file is a file: name a new or empty folder"])


def test_an_unknown_instance_says_where_it_looked(
    ccc_emulator: Emulator, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """NotExist.Instance: exit 1, the endpoint and the key id, what to check; nothing written."""
    code, out, err = run_import(
        capsys, "--endpoint", ccc_emulator.url, "--instance", "d278629c-0000", "--out", "x"
    )

    assert code == 1
    assert out == [NO_PROJECT]
    assert err == [
        f"ccc-numbers import: CCC instance d278629c-0000 does not exist at {ccc_emulator.url} for AccessKey "
        "LTAI5tCccEmulatorDemo01 (NotExist.Instance: Call center instance 'd278629c-0000' does not exist); "
        "check --instance and ccc:region or ccc:endpoint (or --endpoint): an instance is found only through "
        "its own region's endpoint"
    ]
    assert not (elsewhere / "x").exists()


def test_an_instance_without_bindings_has_nothing_to_import(
    ccc_emulator: Emulator, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No number bound: exit 1 after the one listing, nothing written."""
    code, _, err = run_import(capsys, "--endpoint", ccc_emulator.url, "--instance", INSTANCE, "--out", "x")

    assert code == 1
    assert err == [
        f"ccc-numbers import: CCC instance {INSTANCE} has no phone numbers bound (listed at "
        f"{ccc_emulator.url}): nothing to import; check --instance, or bind numbers first"
    ]
    assert [e.action for e in ccc_emulator.journal] == ["ListPhoneNumbers"]
    assert not (elsewhere / "x").exists()


def test_a_refused_key_names_the_key_never_the_secret(
    ccc_emulator: Emulator,
    elsewhere: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SignatureDoesNotMatch: exit 1, the key id, the service's first sentence, where to look."""
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-the-secret-0042")

    code, _, err = run_import(capsys, "--endpoint", ccc_emulator.url, "--instance", INSTANCE, "--out", "x")

    assert code == 1
    assert err == [
        f"ccc-numbers import: the service at {ccc_emulator.url} refused AccessKey LTAI5tCccEmulatorDemo01 "
        "(SignatureDoesNotMatch: Specified signature is not matched with our calculation.); check "
        "ccc:accessKeyId and ccc:accessKeySecret, or ALIBABA_CLOUD_ACCESS_KEY_ID and "
        f"ALIBABA_CLOUD_ACCESS_KEY_SECRET; `ccc-numbers doctor --instance {INSTANCE}` checks the settings "
        "one by one"
    ]


def test_a_failed_flow_listing_falls_back_to_the_listings_names(
    ccc_emulator: Emulator, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ListContactFlows failing is a warning: the names ListPhoneNumbers gave still label the program."""
    sdk_bind(ccc_emulator, GROUPS_MIXED[:1])
    ccc_emulator.inject("internal_error", action="ListContactFlows")

    with instant_retries():
        code, out, err = run_import(
            capsys, "--endpoint", ccc_emulator.url, "--instance", INSTANCE, "--out", "x"
        )

    assert code == 0
    assert err == [
        "ccc-numbers import: warning: could not list the contact flows of the instance (InternalError: The "
        "request processing has failed due to some unknown error, exception or failure.): their names come "
        "from the phone number listing alone"
    ]
    assert "  welcome  3 phone numbers  Bidirection, contact flow Welcome, skill group Default" in out


def test_usage_errors_exit_2(elsewhere: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Missing options (argparse), a bad project or stack name, --stack without a project."""
    with pytest.raises(SystemExit) as missing:
        ccc_cli.main(["import", "--instance", INSTANCE])
    assert missing.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "ccc-numbers import: error: the following arguments are required: --out"
    )
    assert run_import(capsys, "--instance", INSTANCE, "--out", "x", "--name", "my project")[::2] == (2, [
        "ccc-numbers import: --name 'my project' is not a Pulumi name: use letters, digits, '-', '_' and '.' "
        "(at most 100)"
    ])
    assert run_import(capsys, "--instance", INSTANCE, "--out", "x", "--stack", "dev")[::2] == (2, [
        f"ccc-numbers import: --stack dev names a stack, but there is no Pulumi.yaml in {elsewhere}: run "
        "from the project's folder"
    ])


def test_the_stack_config_holds_region_and_endpoint_never_a_credential() -> None:
    """What the chain found, minus credentials; embedded keeps its state file by absolute path."""
    keyed = RuntimeConfig.from_pulumi_config(
        {"ccc:endpoint": "ccc.cn-hangzhou.aliyuncs.com", "ccc:region": "cn-hangzhou",
         "ccc:accessKeyId": "LTAIx", "ccc:accessKeySecret": "s3cret-value"}, {},
    )
    assert importer.stack_config(keyed) == {
        "ccc:region": "cn-hangzhou", "ccc:endpoint": "https://ccc.cn-hangzhou.aliyuncs.com",
    }
    assert importer.stack_config(RuntimeConfig.from_pulumi_config({}, {})) == {"ccc:region": "cn-shanghai"}
    embedded = RuntimeConfig.from_pulumi_config({"ccc:endpoint": "embedded"}, {}, cwd=Path("/srv/demo"))
    assert importer.stack_config(embedded) == {
        "ccc:region": "cn-shanghai", "ccc:endpoint": "embedded",
        "ccc:embeddedStatePath": "/srv/demo/.ccc-emulator/state.sqlite3",
    }


# -- issue 12's "Done when", through the real CLI -------------------------------------------------------


@pytest.fixture
def source_project(pulumi_cli: Path, ccc_emulator: Emulator, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A Pulumi project whose dev stack config points at the emulator with the demo key (--secret secret)."""
    project = tmp_path / "callcenter"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: callcenter\nruntime: python\n")
    env = harness.engine_env(tmp_path / "home", tmp_path / "backend", pulumi_cli)
    harness.cli(["stack", "init", "dev"], cwd=project, env=env)
    for args in (["ccc:endpoint", ccc_emulator.url], ["ccc:accessKeyId", demo.DEMO_ACCESS_KEY_ID],
                 ["--secret", "ccc:accessKeySecret", demo.DEMO_ACCESS_KEY_SECRET]):
        harness.cli(["config", "set", *args], cwd=project, env=env)
    return project, env


@pytest.mark.real_engine
@pytest.mark.slow
@pytest.mark.parametrize("form", ["program", "csv"])
def test_an_imported_project_adopts_300_numbers_without_a_write(
    form: str,
    ccc_emulator: Emulator,
    source_project: tuple[Path, dict[str, str]],
    pulumi_cli: Path,
    tmp_path: Path,
) -> None:
    """import → pulumi up: 3 listings, 1 flow and 1 skill group listing, 0 writes → preview: no change."""
    expected = sdk_bind(ccc_emulator, GROUPS_300)
    assert count(ccc_emulator) == {"AddBulkPhoneNumbers": 3}
    ccc_emulator.clear_journal()
    project, env = source_project
    out = tmp_path / "adopted"

    done = subprocess.run(
        [str(CCC_NUMBERS), "import", "--instance", INSTANCE, "--out", str(out), "--format", form],
        cwd=project, env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=False,
    )

    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    lines = done.stdout.splitlines()
    assert lines[:2] == [
        f"ccc-numbers import: settings from the config of stack dev of the Pulumi project in {project}",
        f"listed 300 phone numbers bound to CCC instance {INSTANCE} at {ccc_emulator.url}",
    ]
    assert lines[3:6] == [
        "  after-hours    100 phone numbers  Inbound, contact flow After hours, skill group Support",
        "  ivr-main-menu  100 phone numbers  Bidirection, contact flow IVR main menu, skill groups Sales and "
        "Support",
        "  welcome        100 phone numbers  Bidirection, contact flow Welcome, skill group Default",
    ]
    assert count(ccc_emulator) == {"ListPhoneNumbers": 1, "ListContactFlows": 1, "ListSkillGroups": 1}
    stack_file = yaml.safe_load((out / "Pulumi.dev.yaml").read_text())
    assert stack_file == {"config": {"ccc:region": "cn-shanghai", "ccc:endpoint": ccc_emulator.url}}
    for name in os.listdir(out):
        assert demo.DEMO_ACCESS_KEY_SECRET not in (out / name).read_text(), name
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--config", str(ROOT / "pyproject.toml"), str(out)],
        capture_output=True, text=True, check=False,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr

    # The project as a user runs it: its own folder, the dev stack from its Pulumi.dev.yaml, the
    # credentials given with pulumi config set (the secret with --secret).
    folder = harness.ProjectFolder(out, tmp_path / "run", cli_dir=pulumi_cli)
    folder.set_config("ccc:accessKeyId", demo.DEMO_ACCESS_KEY_ID)
    folder.set_config("ccc:accessKeySecret", demo.DEMO_ACCESS_KEY_SECRET, secret=True)
    ccc_emulator.clear_journal()

    up = folder.run("up", "--yes")

    assert up.ok, up.text
    assert "4 created" in up.stdout, up.stdout
    calls = count(ccc_emulator)
    print(f"first pulumi up ({form}): {calls}")
    print("\n".join(up.stdout.splitlines()[-12:]))
    assert calls == {"ListPhoneNumbers": 3, "ListContactFlows": 1, "ListSkillGroups": 1}
    assert sum(ccc_emulator.calls(action) for action in WRITE_ACTIONS) == 0
    bindings = {b["number"]: b for b in ccc_emulator.bindings(INSTANCE)}
    assert {n: b["phone_number_id"] for n, b in bindings.items()} == expected

    state = folder.export()
    resources = [r for r in state["resources"] if r["type"] == harness.BINDING_TYPE]
    names = sorted(r["urn"].rsplit("::", 1)[1] for r in resources)
    assert names == ["after-hours", "ivr-main-menu", "welcome"]
    assert all(r.get("protect") for r in resources)
    owned = {n: pid for r in resources for n, pid in r["outputs"]["phone_number_ids"].items()}
    assert owned == expected
    assert demo.DEMO_ACCESS_KEY_SECRET not in str(state)
    ccc_emulator.clear_journal()

    preview = folder.run("preview", "--diff", "--expect-no-changes")

    assert preview.ok, preview.text
    print("\n".join(preview.stdout.splitlines()[-6:]))
    assert "4 unchanged" in preview.stdout, preview.stdout
    assert ccc_emulator.journal == []
