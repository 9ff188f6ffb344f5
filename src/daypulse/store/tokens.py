"""API tokens and the audit log, in the store.

A token is shown once, when created (``dp_`` + 43 URL-safe characters, 256 random bits); the
store keeps its SHA-256 only. A token has a role (``admin`` may change things and send;
``viewer`` reads) and may be scoped to dimension values (``{"tenant": "acme"}``): it then
sees only that tenant's numbers, deliveries and subscriptions, everywhere.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import insert, select, update

from daypulse.errors import UsageError
from daypulse.store.db import Store
from daypulse.store.db import aware as _aware
from daypulse.store.db import write_transaction as _write
from daypulse.store.models import ApiToken as T
from daypulse.store.models import AuditEntry

ROLES = ("admin", "viewer")
PREFIX = "dp_"


@dataclass(frozen=True)
class Principal:
    """Who is asking: a token's name, role and scope."""

    name: str
    role: str
    scope: dict[str, str] = field(default_factory=dict)

    @property
    def admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class TokenRow:
    id: int
    name: str
    role: str
    scope: dict
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(store: Store, name: str, role: str, scope: dict[str, str] | None = None) -> tuple[int, str]:
    """A new token: (id, the token itself - shown once, never stored)."""
    if role not in ROLES:
        raise UsageError(f"--role: {role!r} is not one of {', '.join(ROLES)}")
    if not name.strip():
        raise UsageError("--name: a token needs a name (who or what uses it)")
    token = PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with _write(store) as conn:
        id = conn.execute(insert(T).values(name=name.strip(), token_hash=digest(token), role=role,
                                           scope=dict(scope or {}), created_at=now).returning(T.id)).scalar_one()
    return id, token


def authenticate(store: Store, token: str) -> Principal | None:
    """The principal of a valid, unrevoked token; None otherwise."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    with store.engine.connect() as conn:
        row = conn.execute(select(T.id, T.name, T.role, T.scope).where(
            T.token_hash == digest(token), T.revoked_at.is_(None))).first()
    if row is None:
        return None
    return Principal(row.name, row.role, dict(row.scope or {}))


def listing(store: Store) -> list[TokenRow]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(T.id, T.name, T.role, T.scope, T.created_at, T.last_used_at, T.revoked_at)
                            .order_by(T.id)).all()
    return [TokenRow(r.id, r.name, r.role, dict(r.scope or {}), _aware(r.created_at), _aware(r.last_used_at),
                     _aware(r.revoked_at)) for r in rows]


def revoke(store: Store, id: int) -> bool:
    with _write(store) as conn:
        return conn.execute(update(T).where(T.id == id, T.revoked_at.is_(None))
                            .values(revoked_at=datetime.now(UTC))).rowcount > 0


def audit(store: Store, actor: str, action: str, target: str | None = None, details: dict | None = None) -> None:
    """Record a change, an export or a send."""
    with _write(store) as conn:
        conn.execute(insert(AuditEntry).values(at=datetime.now(UTC), actor=actor, action=action, target=target,
                                               details=details))


def audit_entries(store: Store, limit: int = 100) -> list[dict]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(AuditEntry.__table__).order_by(AuditEntry.id.desc()).limit(limit)).all()
    return [{"id": r.id, "at": _aware(r.at).isoformat(), "actor": r.actor, "action": r.action, "target": r.target,
             "details": r.details} for r in rows]
