"""E-forms are checked on the event loop: patterns by an engine that cannot backtrack,
data bounded in depth and size before it is walked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from shared import eforms


def test_a_catastrophic_pattern_is_matched_in_linear_time() -> None:
    # Python's re takes about 2**40 steps on this; RE2 one pass. Before the fix this
    # test did not finish.
    validator = eforms.validator({"type": "string", "pattern": "^(a+)+$"})
    assert not validator.is_valid("a" * 40 + "b")
    assert validator.is_valid("a" * 40)


def test_patterns_search_like_json_schema_says() -> None:
    validator = eforms.validator({"type": "string", "pattern": "[0-9]{3}"})
    assert validator.is_valid("abc123def")  # unanchored: a search, not a full match
    assert not validator.is_valid("ab12")
    assert eforms.validator({"pattern": "[0-9]{3}"}).is_valid(12)  # applies to strings only
    phone = eforms.validator({"type": "string", "pattern": "^(0|\\+84)[0-9]{9,10}$"})
    assert phone.is_valid("0912345678")
    assert not phone.is_valid("12345")
    vietnamese = eforms.validator({"type": "string", "pattern": "^[\\p{L} ]+$"})
    assert vietnamese.is_valid("Nguyễn Văn An")
    assert not vietnamese.is_valid("An1")


def test_a_pattern_re2_cannot_compile_fails_closed() -> None:
    assert not eforms.validator({"pattern": "^(a)\\1$"}).is_valid("aa")


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    ("data", "ok"),
    [
        ({"a": 1, "b": [1, 2, 3]}, True),
        (nested(eforms.MAX_DEPTH), True),
        (nested(eforms.MAX_DEPTH + 1), False),
        ({str(n): n for n in range(eforms.MAX_NODES - 1)}, True),
        ({str(n): n for n in range(eforms.MAX_NODES)}, False),
        ({"list": list(range(10 * eforms.MAX_NODES))}, False),
    ],
)
def test_data_is_bounded_in_depth_and_size(data: Any, ok: bool) -> None:
    assert (eforms.shape_problem(data) is None) is ok


def test_every_seeded_eform_publishes_under_these_rules() -> None:
    path = Path(__file__).parents[2] / "services/procedures/seed_data/eforms.yaml"
    forms = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert forms
    for code, schema in forms.items():
        assert list(eforms.schema_problems(schema)) == [], code
