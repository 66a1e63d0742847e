"""The shipped catalogue data: complete, consistent, and every e-form a valid JSON Schema."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from services.procedures.seed import load_catalogue
from services.procedures.validation import problems

FIELDS, PROCEDURES = load_catalogue()
BY_CODE = {p.code: p for p in PROCEDURES}


def test_the_33_real_procedures_in_16_fields_are_there() -> None:
    assert len(PROCEDURES) == 33
    assert len({p.field_code for p in PROCEDURES}) == len(FIELDS) == 16


@pytest.mark.parametrize("procedure", PROCEDURES, ids=lambda p: p.code)
def test_each_procedure_would_pass_publication(procedure: Any) -> None:
    assert problems(procedure, known_fields=FIELDS) == []
    assert procedure.eform_schema["$schema"].endswith("2020-12/schema")


def errors(code: str, data: dict[str, Any]) -> list[str]:
    schema = BY_CODE[code].eform_schema
    assert schema is not None
    return sorted(e.json_path for e in Draft202012Validator(schema).iter_errors(data))


APPLICANT = {
    "full_name": "Trần Thị Bình",
    "id_number": "001099000001",
    "contact_address": "Hạ Long",
}


class TestBirthRegistrationForm:
    def test_a_complete_form_is_valid(self) -> None:
        data = {
            "applicant": APPLICANT,
            "child": {
                "full_name": "Trần An",
                "date_of_birth": "2026-11-01",
                "sex": "nữ",
                "place_of_birth": "Bệnh viện Bãi Cháy",
            },
            "mother": {"full_name": "Trần Thị Bình", "id_number": "001099000001"},
        }
        assert errors("TTHC-01", data) == []

    def test_each_mistake_is_pointed_at(self) -> None:
        data = {
            "applicant": APPLICANT | {"id_number": "12345"},
            "child": {"full_name": "An", "date_of_birth": "2026-11-01", "sex": "khác"},
            "mother": {"full_name": "Bình"},
            "unexpected": 1,
        }
        assert errors("TTHC-01", data) == [
            "$",  # unexpected property
            "$.applicant.id_number",
            "$.child",  # place_of_birth missing
            "$.child.sex",
        ]
