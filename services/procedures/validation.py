"""What a draft must satisfy before it is published, each failure with a JSON pointer."""

from collections.abc import Iterable

from jsonschema import Draft202012Validator

from services.procedures.schemas import Problem, ProcedureContent, TimeUnit
from shared import eforms

# Working hours a unit of legal time holds at most (an 8-hour working day).
_HOURS_PER_UNIT = {
    TimeUnit.WORKING_DAYS: 8,
    TimeUnit.WORKING_HOURS: 1,
    # Calendar days include days off, so they hold at most this many working hours.
    TimeUnit.CALENDAR_DAYS: 8,
}
SAME_DAY_HOURS = 8
_META = Draft202012Validator(Draft202012Validator.META_SCHEMA)


def _pointer(*parts: str | int) -> str:
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def legal_hours(content: ProcedureContent) -> float | None:
    time = content.processing_time
    if time is None:
        return None
    if time.unit is TimeUnit.SAME_DAY:
        return SAME_DAY_HOURS
    assert time.value is not None  # ProcessingTime guarantees it for these units
    return time.value * _HOURS_PER_UNIT[time.unit]


def problems(content: ProcedureContent, *, known_fields: Iterable[str]) -> list[Problem]:
    """Every reason ``content`` cannot be published; empty when it can."""
    found: list[Problem] = []
    if content.field_code not in set(known_fields):
        found.append(Problem(pointer=_pointer("field_code"), message="Lĩnh vực không tồn tại."))
    if content.eform_schema is not None:
        for error in _META.iter_errors(content.eform_schema):
            found.append(
                Problem(
                    pointer=_pointer("eform_schema", *error.absolute_path),
                    # In Vietnamese, without jsonschema's English (which may also echo
                    # the value): the keyword at fault names the rule for an admin.
                    message=f"Biểu mẫu không phải JSON Schema hợp lệ: {eforms.message(error)}",
                )
            )
        for path, message in eforms.schema_problems(content.eform_schema):
            found.append(Problem(pointer=_pointer("eform_schema", *path), message=message))
    budget = sum(step.budget_hours for step in content.steps)
    available = legal_hours(content)
    if content.steps and available is not None and budget > available:
        found.append(
            Problem(
                pointer=_pointer("steps"),
                message=(
                    f"Tổng thời gian các bước ({budget:g} giờ) vượt thời hạn giải quyết "
                    f"({available:g} giờ làm việc)."
                ),
            )
        )
    names = [document.name for document in content.required_documents]
    for index, name in enumerate(names):
        if name in names[:index]:
            found.append(
                Problem(
                    pointer=_pointer("required_documents", index, "name"),
                    message="Thành phần hồ sơ bị lặp.",
                )
            )
    return found
