"""A procedure's e-form (its JSON Schema) as an HTML form, and the form's fields back
as the e-form's data.

Every type and format the catalogue's e-forms use: strings (text, ``date``,
``email``, patterns, lengths), enums (strings or numbers), integers and numbers
(bounds), booleans, nested objects (``$ref`` to ``$defs`` too) and arrays of either.
A field's name is its path joined by dots (``applicant.full_name``,
``parcels.0.area_m2``); its errors are keyed by JSON pointer (``/applicant/full_name``).
Arrays grow and shrink by buttons that post the form back, so it works without script.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Rows an array may have on the page: far beyond any e-form's need, and a bound.
MAX_ROWS = 50
ADD_ROW = "_them"  # the button that adds a row to the array it names
REMOVE_ROW = "_bot"  # the button that removes the row it names
SHAPES = ("integer", "number", "boolean", "object", "array")
Path = tuple[str | int, ...]


@dataclass
class Field:
    path: tuple[str | int, ...]
    title: str
    kind: str  # text, date, email, integer, number, enum, boolean, object, array
    required: bool
    schema: dict[str, Any]
    value: Any = None
    error: str | None = None
    children: list[Field] = field(default_factory=list)  # an object's fields, an array's rows
    options: list[Any] = field(default_factory=list)

    @property
    def name(self) -> str:
        return ".".join(str(part) for part in self.path)

    @property
    def pointer(self) -> str:
        return "".join(f"/{part}" for part in self.path)

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)

    @property
    def shown(self) -> str:
        """The value as the review step shows it."""
        if self.kind == "boolean":
            return "Có" if self.value else "Không"
        if self.kind == "date" and isinstance(self.value, str) and len(self.value) == 10:
            year, month, day = self.value.split("-")
            return f"{day}/{month}/{year}"
        return "" if self.value is None else str(self.value)


def resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """A local ``$ref`` (``#/$defs/person``) replaced by what it names, merged with the
    keywords beside it (its ``title``)."""
    reference = schema.get("$ref")
    if not isinstance(reference, str) or not reference.startswith("#/"):
        return schema
    target: Any = root
    for part in reference[2:].split("/"):
        target = target.get(part, {}) if isinstance(target, dict) else {}
    merged = {**resolve(target, root), **{k: v for k, v in schema.items() if k != "$ref"}}
    return merged


def kind_of(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "enum"
    declared = schema.get("type", "string")
    if declared == "string":
        return {"date": "date", "email": "email"}.get(str(schema.get("format")), "text")
    return (
        str(declared) if declared in ("integer", "number", "boolean", "object", "array") else "text"
    )


def build(
    schema: dict[str, Any],
    data: Mapping[str, Any],
    *,
    errors: Mapping[str, str] | None = None,
    fill_defaults: bool = False,
) -> list[Field]:
    """The form's fields, holding ``data`` (and the defaults, for a new form)."""
    return _object_fields(schema, schema, data, (), errors or {}, fill_defaults)


def _object_fields(
    schema: dict[str, Any],
    root: dict[str, Any],
    data: Mapping[str, Any],
    path: tuple[str | int, ...],
    errors: Mapping[str, str],
    defaults: bool,
) -> list[Field]:
    required = set(schema.get("required") or [])
    fields = []
    for name, child in (schema.get("properties") or {}).items():
        fields.append(
            _field(
                resolve(child, root),
                root,
                data.get(name),
                (*path, name),
                name in required,
                errors,
                defaults,
            )
        )
    return fields


def _field(
    schema: dict[str, Any],
    root: dict[str, Any],
    value: Any,
    path: tuple[str | int, ...],
    required: bool,
    errors: Mapping[str, str],
    defaults: bool,
) -> Field:
    kind = kind_of(schema)
    title = str(schema.get("title") or path[-1])
    made = Field(path, title, kind, required, schema)
    made.error = errors.get(made.pointer)
    if kind == "object":
        given = value if isinstance(value, Mapping) else {}
        made.children = _object_fields(schema, root, given, path, errors, defaults)
    elif kind == "array":
        items = resolve(schema.get("items") or {}, root)
        rows = list(value) if isinstance(value, list) else []
        wanted = max(len(rows), int(schema.get("minItems") or 0), 1)
        rows += [None] * (min(wanted, MAX_ROWS) - len(rows))
        made.children = [
            _field(items, root, row, (*path, index), True, errors, defaults)
            for index, row in enumerate(rows[:MAX_ROWS])
        ]
    else:
        made.value = schema.get("default") if value is None and defaults else value
        made.options = list(schema.get("enum") or [])
    return made


def parse(schema: dict[str, Any], form: Mapping[str, Any]) -> dict[str, Any]:
    """The e-form's data from the form's fields: blanks left out, numbers as numbers
    when they read as numbers (else kept as typed, for the check to say so), a checkbox
    as true or false."""
    parsed = _parse_object(schema, schema, form, ())
    return parsed or {}


def _parse_object(
    schema: dict[str, Any],
    root: dict[str, Any],
    form: Mapping[str, Any],
    path: tuple[str | int, ...],
) -> dict[str, Any] | None:
    found: dict[str, Any] = {}
    for name, child in (schema.get("properties") or {}).items():
        value = _parse(resolve(child, root), root, form, (*path, name))
        if value is not None:
            found[name] = value
    return found or None


def _parse(
    schema: dict[str, Any],
    root: dict[str, Any],
    form: Mapping[str, Any],
    path: tuple[str | int, ...],
) -> Any:
    kind = kind_of(schema)
    name = ".".join(str(part) for part in path)
    if kind == "object":
        return _parse_object(schema, root, form, path)
    if kind == "array":
        items = resolve(schema.get("items") or {}, root)
        indexes = sorted(
            {int(match.group(1)) for key in form if (match := _row_of(name, key)) is not None}
        )
        rows = [_parse(items, root, form, (*path, index)) for index in indexes[:MAX_ROWS]]
        rows = [row for row in rows if row is not None]
        return rows or None
    if kind == "boolean":
        return name in form and str(form[name]) not in ("", "false")
    raw = str(form.get(name, "")).strip()
    if raw == "":
        return None
    if kind == "enum":
        for option in schema.get("enum") or []:
            if str(option) == raw:
                return option
        return raw
    if kind == "integer":
        return _number(raw, int)
    if kind == "number":
        return _number(raw, float)
    return raw


def _row_of(array: str, key: str) -> re.Match[str] | None:
    return re.match(re.escape(array) + r"\.(\d{1,3})(?:\.|$)", key)


def _number(raw: str, kind: type[int] | type[float]) -> Any:
    try:
        number = kind(raw.replace(",", "."))
    except ValueError:
        return raw
    if kind is float and number == int(number):
        return int(number)  # 120.0 -> 120: the same number, written as people write it
    return number


def resize(data: dict[str, Any], schema: dict[str, Any], form: Mapping[str, Any]) -> bool:
    """Apply the add-row or remove-row button that posted the form, if one did."""
    if (target := form.get(ADD_ROW)) is not None:
        array = schema_at(schema, str(target))
        rows = _rows_at(data, str(target), create=True)
        if array is not None and rows is not None:
            items = kind_of(resolve(array.get("items") or {}, schema))
            # The rows the page showed: the blank ones it adds on its own among them.
            shown = max(len(rows), int(array.get("minItems") or 0), 1)
            while len(rows) < min(shown + 1, MAX_ROWS):
                rows.append({} if items == "object" else "")
        return True
    if (target := form.get(REMOVE_ROW)) is not None:
        name, _, index = str(target).rpartition(".")
        rows = _rows_at(data, name, create=False)
        if rows is not None and index.isdigit() and int(index) < len(rows):
            del rows[int(index)]
        return True
    return False


def schema_at(schema: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The (resolved) schema of the field named ``name`` (dotted)."""
    node = resolve(schema, schema)
    for part in name.split("."):
        if part.isdigit() and node.get("type") == "array":
            node = resolve(node.get("items") or {}, schema)
        elif not part.isdigit() and part in (node.get("properties") or {}):
            node = resolve(node["properties"][part], schema)
        else:
            return None
    return node


def _rows_at(data: dict[str, Any], name: str, *, create: bool) -> list[Any] | None:
    """The list at ``name`` (dotted) in ``data``; made (with what lies on its way)
    when ``create``."""
    parts = name.split(".")
    node: Any = data
    for position, part in enumerate(parts):
        key: str | int = int(part) if part.isdigit() else part
        last = position == len(parts) - 1
        if isinstance(node, dict) and isinstance(key, str):
            if key not in node:
                if not create:
                    return None
                node[key] = [] if last else {}
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return None
    return node if isinstance(node, list) else None
