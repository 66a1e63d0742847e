"""E-forms (the applicant's data of a procedure, as a JSON Schema 2020-12): the rules
that keep checking them cheap and safe on the event loop, for the catalogue that
publishes them and for intake that checks a submission against them.

- ``pattern`` is matched with RE2, an engine without backtracking: a catastrophic
  expression (``^(a+)+$``) runs in linear time instead of holding the loop for
  seconds. A pattern RE2 cannot compile (back-references, look-arounds) is refused
  at publication.
- ``patternProperties`` is refused at publication: its keys would be matched with
  Python's backtracking engine.
- Data and schemas are bounded in depth and in size before anything walks them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import re2
from jsonschema import Draft202012Validator, ValidationError, validators

MAX_DEPTH = 10  # nesting of objects and arrays
MAX_NODES = 2_000  # values in all (each key's value, each array item)
MAX_SCHEMA_NODES = 20_000


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern)


def pattern_problem(pattern: object) -> str | None:
    """Why ``pattern`` cannot be used, or None."""
    if not isinstance(pattern, str):
        return "Mẫu (pattern) phải là chuỗi."
    try:
        _compiled(pattern)
    except re2.error:
        return "Mẫu (pattern) dùng cú pháp không được hỗ trợ (tham chiếu ngược, nhìn trước/sau)."
    return None


def _re2_pattern(
    validator: Any, pattern: str, instance: object, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    try:
        matched = _compiled(pattern).search(instance) is not None
    except re2.error:
        matched = False  # published before the check: refuse rather than backtrack
    if not matched:
        yield ValidationError(f"does not match {pattern!r}")


EformValidator = validators.extend(Draft202012Validator, {"pattern": _re2_pattern})  # type: ignore[no-untyped-call]


def validator(schema: dict[str, Any]) -> Any:
    """The validator of an e-form, formats checked, patterns matched by RE2."""
    return EformValidator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


FORMATS = {"date": "Ngày không hợp lệ.", "email": "Địa chỉ thư điện tử không hợp lệ."}
TYPES = {"integer": "Phải là một số nguyên.", "number": "Phải là một số."}


def message(error: ValidationError) -> str:
    """What is wrong, as a person reads it beside the field, without echoing the value
    (it may be personal data). The web form's own checks say the same words
    (services/web/static/app.js)."""
    kind, limit = error.validator, error.validator_value
    messages = {
        "required": "Trường này là bắt buộc.",
        "format": FORMATS.get(str(limit), f"Không đúng định dạng {limit}."),
        "pattern": "Không đúng định dạng.",
        "type": TYPES.get(str(limit), "Sai kiểu dữ liệu."),
        "enum": "Giá trị không nằm trong danh sách cho phép.",
        "additionalProperties": "Có trường không thuộc biểu mẫu.",
        "minLength": "Trường này là bắt buộc." if limit == 1 else f"Cần ít nhất {limit} ký tự.",
        "maxLength": f"Tối đa {limit} ký tự.",
        "minimum": f"Phải lớn hơn hoặc bằng {limit}.",
        "maximum": f"Phải nhỏ hơn hoặc bằng {limit}.",
        "exclusiveMinimum": f"Phải lớn hơn {limit}.",
        "exclusiveMaximum": f"Phải nhỏ hơn {limit}.",
        "minItems": f"Cần ít nhất {limit} mục.",
        "maxItems": f"Tối đa {limit} mục.",
    }
    return messages.get(str(kind), f"Giá trị không hợp lệ ({kind}).")


def problems(schema: dict[str, Any], data: object) -> Iterator[tuple[list[str | int], str]]:
    """Each problem of ``data`` against the e-form, at the path of the field at fault: a
    missing field is named at its own path, not its parent's."""
    shape = shape_problem(data)
    if shape is not None:  # bounded before the walk: it runs on the event loop
        yield [], shape
        return
    found = []
    for error in validator(schema).iter_errors(data):
        path = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            required = error.validator_value if isinstance(error.validator_value, list) else []
            for name in required:
                if name not in error.instance:
                    found.append(([*path, str(name)], message(error)))
        else:
            found.append((path, message(error)))
    yield from sorted(found, key=lambda problem: list(map(str, problem[0])))


def shape_problem(value: object, *, max_nodes: int = MAX_NODES) -> str | None:
    """Why ``value`` (parsed JSON) is too deep or too large to check, or None."""
    stack: list[tuple[object, int]] = [(value, 0)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            return f"Dữ liệu quá lớn (quá {max_nodes} giá trị)."
        if depth > MAX_DEPTH:
            return f"Dữ liệu lồng nhau quá sâu (quá {MAX_DEPTH} cấp)."
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return None


def schema_problems(schema: dict[str, Any]) -> Iterator[tuple[list[str | int], str]]:
    """What in an e-form cannot be published under these rules, by path: its size,
    patterns RE2 cannot compile, ``patternProperties``."""
    shape = shape_problem(schema, max_nodes=MAX_SCHEMA_NODES)
    if shape is not None:
        yield [], shape
        return
    stack: list[tuple[object, list[str | int]]] = [(schema, [])]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if key == "pattern" and not isinstance(child, dict):
                    problem = pattern_problem(child)
                    if problem is not None:
                        yield [*path, key], problem
                elif key == "patternProperties":
                    yield [*path, key], "Biểu mẫu không dùng patternProperties."
                stack.append((child, [*path, key]))
        elif isinstance(item, list):
            stack.extend((child, [*path, index]) for index, child in enumerate(item))
