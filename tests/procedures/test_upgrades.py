"""Data migrations carry existing catalogues forward."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from services.procedures.main import spec
from shared.migrations import upgrade


def test_0005_copies_each_versions_processing_time_out_of_its_content(tmp_path: Path) -> None:
    path = tmp_path / "procedures.db"
    upgrade(spec.migrations, f"sqlite+aiosqlite:///{path}", "0004")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO fields (code, name) VALUES ('ho-tich', 'Hộ tịch')")
        db.execute("INSERT INTO procedures (code, current_version) VALUES ('P', 2)")
        for version, time in ((1, {"unit": "working_days", "value": 3}), (2, None)):
            db.execute(
                "INSERT INTO procedure_versions (procedure_code, version, status, name,"
                " name_search, field_code, level, online_level, content)"
                " VALUES ('P', ?, 'published', 'Tên', 'ten', 'ho-tich', 'commune', 'full', ?)",
                (version, json.dumps({"processing_time": time})),
            )
    upgrade(spec.migrations, f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT version, processing_time FROM procedure_versions ORDER BY version"
        ).fetchall()
    assert [(v, json.loads(t) if t else None) for v, t in rows] == [
        (1, {"unit": "working_days", "value": 3}),
        (2, None),
    ]
