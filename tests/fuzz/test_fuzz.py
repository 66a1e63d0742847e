"""A bounded fuzz of the public API in every `make test` (the long one is `make fuzz`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz import run

pytestmark = pytest.mark.slow


def test_the_public_api_holds_to_its_document_for_each_kind_of_caller(tmp_path: Path) -> None:
    outcomes = run.run(max_examples=10, phases="examples,coverage,fuzzing,stateful",
                       workdir=tmp_path)  # fmt: skip
    report = run.summary(outcomes)
    assert [o.identity for o in outcomes] == ["citizen", "officer", "anonymous"]
    for outcome in outcomes:
        # Every operation of the document was reached, with cases to spare.
        assert outcome.operations >= 45, report
        assert outcome.cases >= 1000, report
        assert outcome.passed, f"{report}\n\n{outcome.log.read_text()}"
