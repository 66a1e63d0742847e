"""The pages' in-process call of the API: what the app receives, what comes back, and
a time-out when it does not answer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.web.api import Api, ApiError, Caller


async def echo(request: Request) -> Response:
    form: dict[str, Any] = {}
    if request.headers.get("content-type", "").startswith("multipart/"):
        async with request.form() as parsed:
            for key, value in parsed.multi_items():
                if isinstance(value, str):
                    form[key] = value
                else:
                    form[key] = [value.filename, (await value.read()).decode()]
    body = await request.body() if not form else b""
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "client": list(request.client or ()),
            "auth": request.headers.get("authorization"),
            "forwarded": request.headers.get("x-forwarded-for"),
            "body": body.decode(),
            "form": form,
        },
        status_code=201,
        headers={"x-answer": "yes"},
    )


async def slow(request: Request) -> Response:
    await asyncio.sleep(5)
    return Response("late")


async def item(request: Request) -> Response:
    return JSONResponse(
        {"code": request.path_params["code"], "raw": request.scope["raw_path"].decode(),
         "status": request.query_params.getlist("status")}
    )  # fmt: skip


APP = Starlette(
    routes=[
        Route("/echo", echo, methods=["GET", "POST"]),
        Route("/slow", slow),
        Route("/items/{code}", item),
    ]
)
CALLER = Caller(address=("203.0.113.7", 41000), forwarded_for="198.51.100.9")


def api(timeout: float = 5.0) -> Api:
    made = Api(timeout=timeout)
    made.bind(APP)
    return made


async def test_the_app_gets_the_browsers_address_and_what_the_page_sends() -> None:
    answer = await api().request(CALLER, "GET", "/echo", token="t0k", params={"q": "đăng ký"})
    assert answer.status_code == 201
    assert answer.headers["x-answer"] == "yes"
    seen = answer.json()
    assert seen["client"] == ["203.0.113.7", 41000]  # what the per-address limits count
    assert seen["forwarded"] == "198.51.100.9"
    assert seen["auth"] == "Bearer t0k"
    assert seen["query"] == {"q": "đăng ký"}
    posted = await api().request(CALLER, "POST", "/echo", json={"score": 4})
    assert posted.json()["body"] == '{"score":4}'


async def test_a_read_keeps_its_escaped_path_and_repeated_parameters() -> None:
    # Reads are built without httpx's request: the path as the page quoted it, decoded
    # once by the app; a list parameter sent once per value, as httpx would.
    answer = await api().request(
        CALLER, "GET", "/items/H%E1%BB%93 s%C6%A1-1", params={"status": ["received", "paused"]}
    )
    assert answer.json() == {
        "code": "Hồ sơ-1",
        "raw": "/items/H%E1%BB%93%20s%C6%A1-1",
        "status": ["received", "paused"],
    }


async def test_forms_and_files_arrive_whole() -> None:
    answer = await api().request(
        CALLER, "POST", "/echo", data={"kind": "giay-to"},
        files={"file": ("tờ khai.pdf", b"%PDF-1.4 x", "application/pdf")},
    )  # fmt: skip
    assert answer.json()["form"] == {"kind": "giay-to", "file": ["tờ khai.pdf", "%PDF-1.4 x"]}


async def test_an_api_that_does_not_answer_in_time_is_a_504() -> None:
    with pytest.raises(ApiError) as refused:
        await api(timeout=0.2).request(CALLER, "GET", "/slow")
    assert refused.value.status == 504
    assert refused.value.detail is not None


async def test_unbound_it_says_so() -> None:
    with pytest.raises(RuntimeError, match="not given the API"):
        await Api(timeout=1).request(CALLER, "GET", "/echo")
