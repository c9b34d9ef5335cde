"""The hook calls are answered in plain ASGI ahead of Starlette's router (`service/asgi.py`, `HookCalls`):
what they answer must be what the route behind it answers, status, headers and body alike."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from conftest import ROOT

pytest.importorskip("starlette", reason="the serve extra is not installed")

from osteocheck.service.app import Settings, create_app

VIEW = "/cds-services/osteocheck-patient-view"
GOOD = json.loads((ROOT / "examples" / "cds-hooks" / "patient-view.json").read_text())
JSON = b"application/json"


async def _send(
    app: Any, path: str, body: bytes, content_type: bytes = JSON, host: bytes | None = b"127.0.0.1:8080"
) -> tuple[int, list[Any], bytes]:
    headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]
    headers += [(b"host", host)] if host is not None else []
    server = ["127.0.0.1", 8080] if host is None else ("127.0.0.1", 8080)  # ASGI allows either
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "headers": headers, "root_path": "",
             "client": ("127.0.0.1", 1), "server": server}  # fmt: skip
    said: list[dict[str, Any]] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # as a server does: nothing more until the client goes
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        said.append(message)

    await app(scope, receive, send)
    start, rest = said[0], said[1:]
    return start["status"], sorted(start["headers"]), b"".join(m.get("body", b"") for m in rest)


CALLS = {
    "cards": (VIEW, json.dumps(GOOD).encode(), JSON),
    "not json": (VIEW, b"{", JSON),
    "wrong hook": (VIEW, json.dumps({**GOOD, "hook": "order-sign"}).encode(), JSON),
    "no such service": ("/cds-services/nope", b"{}", JSON),
    "not application/json": (VIEW, b"{}", b"text/plain"),
    "too large": (VIEW, b" " * 2_000, JSON),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_hook_call_answers_as_the_route_behind_it_does(name: str) -> None:
    path, body, content_type = CALLS[name]
    app = create_app(Settings(max_body=1_000) if name == "too large" else Settings())

    async def both() -> tuple[Any, Any]:
        async with app.router.lifespan_context(app):
            plain = await asyncio.wait_for(_send(app, path, body, content_type), 30)
            routed = await asyncio.wait_for(_send(app.router, path, body, content_type), 30)
            return plain, routed

    plain, routed = asyncio.run(both())
    token = re.compile(rb"/plans/[A-Za-z0-9_-]+")  # each answer keeps its plan under a token of its own
    assert plain[:2] == routed[:2]
    assert token.sub(b"/plans/T", plain[2]) == token.sub(b"/plans/T", routed[2])
    assert (plain[0] == 200) == (name == "cards")


@pytest.mark.timeout(60)
def test_the_link_card_names_the_host_each_request_was_sent_to() -> None:
    """The service's own URL is read from each request's Host (and kept by it): never another request's,
    however many hosts are sent."""
    app = create_app(Settings())
    body = json.dumps(GOOD).encode()
    hosts = [
        b"clinic.example:8443",
        b"127.0.0.1:8080",
        *(b"h%d.example" % n for n in range(70)),
        b"clinic.example:8443",
        None,  # no Host: the server's own address
    ]

    async def calls() -> list[tuple[int, list[Any], bytes]]:
        async with app.router.lifespan_context(app):
            return [await asyncio.wait_for(_send(app, VIEW, body, host=host), 30) for host in hosts]

    for host, (status, _, answer) in zip(hosts, asyncio.run(calls()), strict=True):
        assert status == 200
        link = json.loads(answer)["cards"][-1]["links"][0]["url"]
        assert link.startswith(f"http://{host.decode() if host else '127.0.0.1:8080'}/plans/"), link
