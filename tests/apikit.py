"""What the API and dashboard tests share: a store on SQLite or on a fresh PostgreSQL database,
the usual tokens, one in-process request (httpx's ASGI transport), and closing the app."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from daypulse.store import tokens
from storekit import postgres_store


@contextmanager
def api_store(kind: str, folder: Path) -> Iterator[str]:
    """A store URL: ``sqlite`` in ``folder``, or ``postgresql`` (a database dropped afterwards)."""
    if kind == "postgresql":
        with postgres_store() as url:
            yield url
    else:
        yield f"sqlite:///{folder}/store.db"


def usual_tokens(store, *, scoped_admin: bool = False) -> dict[str, str]:
    """An admin, a company viewer and acme's viewer (and acme's admin): {role key: token}."""
    keys = {"admin": tokens.create(store, "ops", "admin")[1],
            "viewer": tokens.create(store, "board", "viewer")[1],
            "acme": tokens.create(store, "acme viewer", "viewer", {"tenant": "acme"})[1]}
    if scoped_admin:
        keys["acme-admin"] = tokens.create(store, "acme admin", "admin", {"tenant": "acme"})[1]
    return keys


def call(app, method: str, url: str, token: str | None = None, body=None) -> httpx.Response:
    """One API request to the in-process app, with a bearer token if given."""
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://daypulse.test") as c:
            return await c.request(method, url, json=body,
                                   headers={"Authorization": f"Bearer {token}"} if token else {})
    return asyncio.run(go())


def close(app, store) -> None:
    """Release the test's and the app's store connections (PostgreSQL drops the database after)."""
    store.engine.dispose()
    app.state.store.engine.dispose()
