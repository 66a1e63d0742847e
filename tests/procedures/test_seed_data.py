"""The shipped catalogue data: complete, consistent, and every e-form a valid JSON Schema."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from services.procedures.schemas import FeeChannel
from services.procedures.seed import load_catalogue
from services.procedures.validation import legal_hours, problems
from shared.auth import Position

FIELDS, PROCEDURES = load_catalogue()
BY_CODE = {p.code: p for p in PROCEDURES}


def test_the_33_real_procedures_in_16_fields_are_there() -> None:
    assert len(PROCEDURES) == 33
    assert len({p.field_code for p in PROCEDURES}) == len(FIELDS) == 16


@pytest.mark.parametrize("procedure", PROCEDURES, ids=lambda p: p.code)
def test_each_procedure_would_pass_publication(procedure: Any) -> None:
    assert problems(procedure, known_fields=FIELDS) == []
    assert procedure.eform_schema["$schema"].endswith("2020-12/schema")


@pytest.mark.parametrize("procedure", PROCEDURES, ids=lambda p: p.code)
def test_each_procedure_says_what_it_issues_and_who_does_what(procedure: Any) -> None:
    assert procedure.result_documents
    assert not procedure.confirmed.result_documents  # the source does not list them
    if procedure.processing_time is None:  # time not verified: no budget can be checked
        assert procedure.steps == []
        return
    positions = [step.position for step in procedure.steps]
    assert positions == [Position.DESK, Position.SPECIALIST, Position.LEADER, Position.DESK]
    assert sum(step.budget_hours for step in procedure.steps) <= legal_hours(procedure)


def fee(code: str, name: str, channel: FeeChannel = FeeChannel.ANY) -> int | None:
    [item] = [f for f in BY_CODE[code].fees if f.name == name and f.channel is channel]
    return item.amount_vnd


class TestFees:
    def test_fixed_amounts_are_read_from_the_source(self) -> None:
        assert fee("TTHC-07", "Phí cấp bản sao trích lục hộ tịch") == 8_000
        assert fee("TTHC-11", "Phí cung cấp thông tin lý lịch tư pháp") == 200_000

    def test_a_fee_lower_online_has_one_item_per_channel(self) -> None:
        name = "Lệ phí đăng ký thường trú"
        assert fee("1.004222", name, FeeChannel.COUNTER) == 20_000
        assert fee("1.004222", name, FeeChannel.ONLINE) == 10_000

    def test_a_provincial_rate_has_no_invented_amount(self) -> None:
        item = BY_CODE["1.004873"].fees[0]  # Cấp Giấy xác nhận tình trạng hôn nhân
        assert item.amount_vnd is None
        assert item.condition is not None
        assert "HĐND" in item.condition

    def test_no_fee_means_no_items(self) -> None:
        assert BY_CODE["TTHC-33"].fee_text == "Không"
        assert BY_CODE["TTHC-33"].fees == []


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


# What a schema may say: the 2020-12 keywords jsonschema validates, and the annotations.
SCHEMA_KEYWORDS = set(Draft202012Validator.VALIDATORS) | {
    "$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples",
    "readOnly", "writeOnly", "deprecated", "format",
}  # fmt: skip
# Keywords whose value is data or a map of names to schemas, not a schema.
DATA = {"enum", "const", "default", "examples", "required"}
NAMED = {"properties", "$defs", "patternProperties", "dependentSchemas"}


def _strays(schema: Any, path: str) -> list[str]:
    """Keys of ``schema`` and its subschemas that are no schema keyword (a title with an
    unquoted comma in YAML's flow style splits into a title and such a key)."""
    if not isinstance(schema, dict):
        return []
    found = [f"{path}/{key}" for key in schema if key not in SCHEMA_KEYWORDS]
    for key, value in schema.items():
        if key in NAMED and isinstance(value, dict):
            for name, sub in value.items():
                found += _strays(sub, f"{path}/{key}/{name}")
        elif key not in DATA and isinstance(value, dict):
            found += _strays(value, f"{path}/{key}")
        elif key not in DATA and isinstance(value, list):
            for index, sub in enumerate(value):
                found += _strays(sub, f"{path}/{key}/{index}")
    return found


@pytest.mark.parametrize("procedure", PROCEDURES, ids=lambda p: p.code)
def test_each_e_form_says_only_what_json_schema_reads(procedure: Any) -> None:
    assert _strays(procedure.eform_schema, "#") == []


def test_a_title_split_by_a_comma_is_caught() -> None:
    split = yaml.safe_load("{type: string, title: Họ, chữ đệm và tên, minLength: 1}")
    assert _strays({"properties": {"full_name": split}}, "#") == [
        "#/properties/full_name/chữ đệm và tên"
    ]
