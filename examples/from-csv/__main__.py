"""Numbers from a spreadsheet: one binding per team, a thousand numbers in all.

numbers.csv has a `number` and a `team` column (exported from the operator's inventory sheet,
spellings as people type them). Each team becomes one PhoneNumberBinding with that team's
contact flow and skill group. Ids are the CCC emulator's demo account.
"""

import csv
from collections import defaultdict
from pathlib import Path

import pulumi

from ccc_numbers import PhoneNumberBinding

INSTANCE_ID = "d278629c-c687-4aa3-b044-4fe9b012e7ef"

# What each team's numbers do; a team in the CSV but not here is an error, on purpose.
TEAMS = {
    "sales": {
        "contact_flow_id": "8Cvg_0mcsm6K",
        "skill_group_ids": ["9a7c1e52-5b1d-4f0e-8d3a-2f6b7c8d9e01"],
    },
    "support": {
        "contact_flow_id": "ivr_MainMenu01",
        "skill_group_ids": ["b2e4f6a8-1c3d-4e5f-9a7b-0c2d4e6f8a02"],
    },
    "billing": {
        "contact_flow_id": "ivr_AfterHrs01",
        "skill_group_ids": ["3f3ceb0d-d6b6-4c97-af20-f3daf04f90e0"],
    },
}

# The CSV sits beside this program; the Pulumi program runs with the project dir as cwd.
by_team: dict[str, list[str]] = defaultdict(list)
with (Path(__file__).parent / "numbers.csv").open(newline="") as f:
    for row in csv.DictReader(f):
        by_team[row["team"].strip()].append(row["number"])

unknown = sorted(set(by_team) - set(TEAMS))
if unknown:
    raise ValueError(f"numbers.csv names teams with no settings in __main__.py: {', '.join(unknown)}")

ids = {}
for team, numbers in sorted(by_team.items()):
    binding = PhoneNumberBinding(
        f"team-{team}",
        instance_id=INSTANCE_ID,
        numbers=numbers,
        usage="Bidirection",
        **TEAMS[team],
    )
    ids[team] = binding.phone_number_ids

pulumi.export("phone_number_ids", ids)
