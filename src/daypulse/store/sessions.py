"""Dashboard logins in the store: a session opened with an API token.

People sign in with a token made by `daypulse tokens create` (one identity for the API and
the dashboard: its role and tenant scope apply to both). The browser then holds only a random
session id in a ``Secure; HttpOnly; SameSite=Lax`` cookie; the store keeps its SHA-256, the
token's id and the session's CSRF secret. Each request re-reads the token, so revoking it ends
its sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select

from daypulse.store import tokens
from daypulse.store.db import Store
from daypulse.store.db import aware as _aware
from daypulse.store.db import write_transaction as _write
from daypulse.store.models import ApiToken as T
from daypulse.store.models import WebSession as S
from daypulse.store.tokens import Principal

COOKIE = "__Host-daypulse_session"  # __Host-: Secure, this host only, path /
LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class Session:
    who: Principal
    csrf: str  # sent back in forms (hidden field) and HTMX requests (X-CSRF-Token header)
    expires_at: datetime


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(store: Store, token: str, now: datetime | None = None) -> tuple[str, Session] | None:
    """A new session for a valid token: (the cookie's value, the session); None if the token is
    unknown or revoked."""
    who = tokens.authenticate(store, token)
    if who is None:
        return None
    now = now or datetime.now(UTC)
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with _write(store) as conn:
        token_id = conn.execute(select(T.id).where(T.token_hash == tokens.digest(token))).scalar_one()
        conn.execute(delete(S).where(S.expires_at < now))  # sweep: logins never pile up
        conn.execute(insert(S).values(session_hash=_digest(session_id), token_id=token_id, csrf=csrf,
                                      created_at=now, expires_at=now + LIFETIME))
    return session_id, Session(who, csrf, now + LIFETIME)


def find(store: Store, session_id: str | None, now: datetime | None = None) -> Session | None:
    """The live session of a cookie: unexpired, its token not revoked."""
    if not session_id or len(session_id) > 100:
        return None
    now = now or datetime.now(UTC)
    with store.engine.connect() as conn:
        row = conn.execute(select(T.name, T.role, T.scope, S.csrf, S.expires_at).join(T, T.id == S.token_id).where(
            S.session_hash == _digest(session_id), T.revoked_at.is_(None))).first()
    if row is None or _aware(row.expires_at) <= now:
        return None
    return Session(Principal(row.name, row.role, dict(row.scope or {})), row.csrf, _aware(row.expires_at))


def close(store: Store, session_id: str | None) -> None:
    if session_id:
        with _write(store) as conn:
            conn.execute(delete(S).where(S.session_hash == _digest(session_id)))


def same(expected: str, given: str | None) -> bool:
    """A CSRF check in constant time."""
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode())
