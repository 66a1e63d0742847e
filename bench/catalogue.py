"""Catalogue search on PostgreSQL: p50/p99 over a 7,000-procedure synthetic catalogue.

The platform's search (full-text on the folded names, GIN index, count and page in one
scan) against the plain design as a baseline, in the same run: every word as a
``LIKE '%word%'`` on the folded name, then a count and a page (sequential scans). The
figures are whole calls, database round trips included; the platform's also parse the
page into the API's models.

    python bench/catalogue.py [--size 7000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.procedures import seed as procedures_seed  # noqa: E402
from services.procedures import service as procedure_service  # noqa: E402
from services.procedures.main import spec  # noqa: E402
from services.procedures.synthetic import synthetic_catalogue  # noqa: E402
from services.procedures.text import fold  # noqa: E402
from shared.db import Database  # noqa: E402
from shared.migrations import upgrade  # noqa: E402

QUERIES = (
    "dang ky khai sinh", "khai sinh đăng ký", "Đăng ký khai sinh", "cap lai giay phep",
    "giấy chứng nhận quyền sử dụng đất", "ho chieu", "thẻ căn cước", "giay phep lao dong",
    "cho doanh nghiep", "co yeu to nuoc ngoai", "an toan thuc pham", "gia han giay phep xay dung",
    "ly lich tu phap", "chung chi hanh nghe", "xoa dang ky", "phe duyet", "quang cao",
    "nha o rieng le", "van bang chung chi", "moi truong",
)  # fmt: skip
DATABASE = "onestop_bench_catalogue"


async def prepare(admin_url: str, size: int) -> str:
    url = make_url(admin_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        database=url.database or "postgres",
    )  # fmt: skip
    await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await connection.execute(f'CREATE DATABASE "{DATABASE}"')
    await connection.close()
    bench_url = url.set(database=DATABASE).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, spec.migrations, bench_url)
    database = Database(bench_url)
    async with database.session() as session:
        fields, real = procedures_seed.load_catalogue()
        await procedure_service.seed_catalogue(
            session, fields=fields, procedures=[*real, *synthetic_catalogue(size)],
            effective=procedures_seed.SEED_EFFECTIVE,
        )  # fmt: skip
    async with database.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE"))  # the steady state autovacuum keeps
    await database.dispose()
    return bench_url


async def timed_search(database: Database, query: str) -> tuple[float, int]:
    async with database.session() as session:
        started = time.perf_counter()
        page = await procedure_service.search_procedures(
            session, query=query, field_code=None, level=None, online=None, page=1, size=20
        )
        elapsed = time.perf_counter() - started
    return elapsed * 1000, page.total


async def timed_like_scan(database: Database, query: str) -> tuple[float, int]:
    words = fold(query).split()
    where = " AND ".join(f"name_search LIKE :w{n}" for n in range(len(words)))
    params = {f"w{n}": f"%{word}%" for n, word in enumerate(words)}
    base = f"FROM procedure_versions WHERE status = 'published' AND {where}"
    async with database.session() as session:
        started = time.perf_counter()
        total = await session.scalar(text(f"SELECT count(*) {base}"), params)
        await session.execute(
            text(f"SELECT procedure_code, name {base} ORDER BY length(name_search) LIMIT 20"),
            params,
        )
        elapsed = time.perf_counter() - started
    return elapsed * 1000, int(total or 0)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> None:
    url = await prepare(args.postgres, args.size)
    database = Database(url, pool_size=2)
    timings: dict[str, list[float]] = {"platform": [], "LIKE scan": []}
    matches: dict[str, tuple[int, int]] = {}
    try:
        for query in QUERIES:  # warm-up; word matching finds a subset of substring matching
            matches[query] = (
                (await timed_search(database, query))[1],
                (await timed_like_scan(database, query))[1],
            )
        for _ in range(args.repeat):
            for query in QUERIES:
                timings["platform"].append((await timed_search(database, query))[0])
                timings["LIKE scan"].append((await timed_like_scan(database, query))[0])
        async with database.session() as session:
            plan = (
                (
                    await session.execute(
                        text(
                            "EXPLAIN SELECT procedure_code FROM procedure_versions "
                            "WHERE status = 'published' AND to_tsvector('simple'::regconfig, "
                            "name_search) @@ to_tsquery('simple'::regconfig, 'cap & lai & giay:*')"
                        )
                    )
                )
                .scalars()
                .all()
            )
    finally:
        await database.dispose()
    print(f"\nCatalogue search on PostgreSQL: {args.size} synthetic + 33 real procedures,")
    print(f"{len(QUERIES)} queries x {args.repeat} rounds (total + first page of 20).\n")
    print(f"{'path':<12}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, values in timings.items():
        print(
            f"{name:<12}{percentile(values, 0.5):>9.2f}{percentile(values, 0.99):>9.2f}"
            f"{statistics.fmean(values):>9.2f}"
        )
    for share in (0.5, 0.99):
        ratio = percentile(timings["LIKE scan"], share) / percentile(timings["platform"], share)
        print(f"LIKE scan / platform at p{round(share * 100)}: {ratio:.1f}x")
    print("matches (platform, LIKE):", "; ".join(f"{q}: {m}" for q, m in matches.items()))
    print("plan of the platform's match:", " | ".join(line.strip() for line in plan))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=7000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--postgres", default="postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/postgres"
    )
    asyncio.run(main(parser.parse_args()))
