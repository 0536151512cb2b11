"""Two call-center instances, each with its own numbers.

A number can be bound to one instance at a time, so each instance gets its own binding. Ids are the
CCC emulator's demo account: a Shanghai instance and a Beijing instance.
"""

import pulumi

from ccc_numbers import PhoneNumberBinding

INSTANCES = {
    "shanghai": {
        "instance_id": "d278629c-c687-4aa3-b044-4fe9b012e7ef",
        "contact_flow_id": "8Cvg_0mcsm6K",
        "skill_group_ids": ["3f3ceb0d-d6b6-4c97-af20-f3daf04f90e0"],
        "numbers": [f"0216066{i:04d}" for i in range(10, 20)],
    },
    "beijing": {
        "instance_id": "6a1f0f7e-2b0c-4d7e-9a51-3c9d2e8b4f10",
        "contact_flow_id": "bj_Welcome0001",
        "skill_group_ids": ["c0ffee00-1234-4abc-9def-00000000bj01"],
        "numbers": [f"0216066{i:04d}" for i in range(20, 30)],
    },
}

for name, spec in INSTANCES.items():
    binding = PhoneNumberBinding(f"{name}-lines", usage="Bidirection", **spec)
    pulumi.export(f"{name}_phone_number_ids", binding.phone_number_ids)
