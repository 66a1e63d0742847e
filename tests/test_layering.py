"""The house shape (../shared/STYLE.md), read from the source: routers parse, authorize,
call one service function and answer; queries live in a service's repository."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[1] / "services"
# What touches the database: statements, and a session's reads and transaction.
QUERY_BUILDERS = {"select", "insert", "update", "delete", "text"}
READS = {"execute", "scalar", "scalars", "stream", "stream_scalars", "get", "refresh"}
# A router also leaves the transaction to the session dependency.
SESSION_CALLS = READS | {"commit", "rollback", "flush", "begin", "merge", "delete"}


def _routers() -> list[Path]:
    return sorted(p for p in SERVICES.rglob("*.py") if "APIRouter(" in p.read_text())


def _database_uses(path: Path, calls: set[str] = SESSION_CALLS) -> list[str]:
    """Each place ``path`` builds a statement or calls a session, as ``line: what``."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            built = [a.name for a in node.names if a.name in QUERY_BUILDERS]
            if built:
                found.append(f"{node.lineno}: imports {', '.join(built)} from {node.module}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in calls
            and isinstance(node.func.value, ast.Name)
            and "session" in node.func.value.id
        ):
            found.append(f"{node.lineno}: {node.func.value.id}.{node.func.attr}()")
    return found


def test_the_routers_are_found() -> None:
    names = {str(p.relative_to(SERVICES)) for p in _routers()}
    assert {"intake/router.py", "gateway/router.py", "gateway/admin.py"} <= names


@pytest.mark.parametrize("router", _routers(), ids=lambda p: str(p.relative_to(SERVICES)))
def test_no_router_queries_or_commits(router: Path) -> None:
    assert _database_uses(router) == []


def test_intake_queries_only_in_its_repository() -> None:
    """Its use cases may flush (and end a read-only transaction early), never query."""
    offenders = {
        str(path.relative_to(SERVICES)): uses
        for path in sorted((SERVICES / "intake").rglob("*.py"))
        if not {"repository", "migrations"} & set(path.parts)
        and path.name != "models.py"
        and (uses := _database_uses(path, READS))
    }
    assert offenders == {}


def test_the_checks_see_a_query(tmp_path: Path) -> None:
    """The detector itself: a module with a query and a commit is caught."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from sqlalchemy import select\n"
        "async def f(session):\n"
        "    await session.execute(select(1))\n"
        "    await session.commit()\n"
    )
    assert _database_uses(sample) == [
        "1: imports select from sqlalchemy",
        "3: session.execute()",
        "4: session.commit()",
    ]
