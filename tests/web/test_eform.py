"""Every shipped e-form as a form and back: filled as a citizen would fill it, its data
passes the check intake makes; blanks and bad numbers are told at their field."""

from __future__ import annotations

from typing import Any

import pytest

from services.procedures import seed
from services.web import eform
from shared import eforms

_, PROCEDURES = seed.load_catalogue()
SCHEMAS: dict[str, dict[str, Any]] = {
    p.code: p.eform_schema for p in PROCEDURES if p.eform_schema is not None
}


def sample(field: eform.Field) -> str:
    """What a citizen types into the field, by its kind and its rules."""
    schema = field.schema
    if field.kind == "enum":
        return str(field.options[0])
    if field.kind == "date":
        return "2020-05-17"
    if field.kind == "email":
        return "an@example.vn"
    if field.kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        return str(int(low) + 1)
    if "pattern" in schema:
        return {"^[0-9]{12}$": "001099000001"}.get(schema["pattern"], "0912345678")
    return "Nội dung" if "maxLength" not in schema or schema["maxLength"] >= 8 else "B"


def filled(fields: list[eform.Field], form: dict[str, Any]) -> dict[str, Any]:
    for field in fields:
        if field.kind in ("object", "array"):
            filled(field.children, form)
        elif field.kind == "boolean":
            form[field.name] = "true"
        else:
            form[field.name] = sample(field)
    return form


@pytest.mark.parametrize("code", sorted(SCHEMAS))
def test_a_filled_form_is_the_data_the_eform_wants(code: str) -> None:
    schema = SCHEMAS[code]
    fields = eform.build(schema, {}, fill_defaults=True)
    data = eform.parse(schema, filled(fields, {}))
    assert list(eforms.problems(schema, data)) == [], data
    # And back: the form shows what was parsed.
    again = eform.parse(schema, filled(eform.build(schema, data), {}))
    assert again == data


def test_every_kind_the_shipped_eforms_use_is_drawn() -> None:
    kinds: set[str] = set()

    def walk(fields: list[eform.Field]) -> None:
        for field in fields:
            kinds.add(field.kind)
            walk(field.children)

    for schema in SCHEMAS.values():
        walk(eform.build(schema, {}))
    assert kinds == {"text", "date", "email", "integer", "number", "enum", "boolean",
                     "object", "array"}  # fmt: skip


def test_blanks_are_left_out_and_numbers_read_as_numbers() -> None:
    schema = {
        "type": "object",
        "required": ["count"],
        "properties": {
            "count": {"type": "integer", "minimum": 1},
            "area": {"type": "number", "exclusiveMinimum": 0},
            "kind": {"enum": [1, 2]},
            "urgent": {"type": "boolean"},
            "note": {"type": "string"},
        },
    }
    data = eform.parse(schema, {"count": "3", "area": "12,5", "kind": "2", "note": "  "})
    assert data == {"count": 3, "area": 12.5, "kind": 2, "urgent": False}
    wrong = eform.parse(schema, {"count": "ba", "area": "0"})
    problems = {tuple(path): message for path, message in eforms.problems(schema, wrong)}
    assert problems == {("count",): "Phải là một số nguyên.", ("area",): "Phải lớn hơn 0."}
    fields = eform.build(schema, wrong, errors={"/count": "Phải là một số nguyên."})
    assert fields[0].value == "ba"  # kept as typed, beside its message
    assert fields[0].error == "Phải là một số nguyên."


def test_rows_are_added_and_removed_by_their_buttons() -> None:
    schema = SCHEMAS["TTHC-10"]  # parties: an array of people, at least two
    [parties] = [f for f in eform.build(schema, {}) if f.kind == "array"]
    assert len(parties.children) == 2  # minItems rows are drawn from the start
    form = filled(eform.build(schema, {}), {})
    data = eform.parse(schema, form)
    assert eform.resize(data, schema, {**form, eform.ADD_ROW: parties.name})
    assert len(data[parties.name]) == 3
    grown = next(f for f in eform.build(schema, data) if f.kind == "array")
    assert len(grown.children) == 3
    assert eform.resize(data, schema, {eform.REMOVE_ROW: f"{parties.name}.0"})
    assert len(data[parties.name]) == 2
    assert not eform.resize(data, schema, form)  # no button: nothing to do
    # A button naming what is not an array changes nothing.
    assert eform.resize(data, schema, {eform.ADD_ROW: "khong-co"})
    assert len(data[parties.name]) == 2
