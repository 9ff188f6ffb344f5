"""`daypulse tokens` and `daypulse serve`: the API's commands."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from daypulse.cli.app import app
from daypulse.cli.common import ConfigOpt, _dimension_values, _info, _project, _project_and_store, _store, out
from daypulse.errors import UsageError

tokens_app = typer.Typer(no_args_is_help=True, help=(
    "API tokens: admin (may change and send) or viewer (reads), optionally scoped to a tenant"
    " or other dimension value. A token is printed once, when created."))




@tokens_app.command("create")
def tokens_create(
    role: Annotated[str, typer.Option("--role", help="admin or viewer.")] = "viewer",
    tenant: Annotated[str | None, typer.Option("--tenant", help="Scope the token to one tenant"
                                                                " (the `tenant` dimension).")] = None,
    scope: Annotated[list[str] | None, typer.Option("--scope", help="Scope to another dimension value:"
                                                                    " region=eu (repeatable).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Who or what uses it (default: role and"
                                                            " scope).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create a token and print it (once: only its hash is kept)."""
    from daypulse.store import tokens

    dims = {**({"tenant": tenant} if tenant else {}), **_dimension_values("--scope", scope, "region=eu")}
    label = name or (role + "".join(f" {k}={v}" for k, v in dims.items()))
    project = _project(config)
    store = _store(project)
    id, token = tokens.create(store, label, role, dims)
    tokens.audit(store, "cli", "token.create", str(id), {"role": role, "scope": dims, "name": label})
    _info(f"token {id} ({label}, {role}{', scope ' + json.dumps(dims) if dims else ''}); shown once, store it now:")
    sys.stdout.write(token + "\n")


@tokens_app.command("list")
def tokens_list(config: ConfigOpt = None) -> None:
    """Every token (never the token itself): role, scope, created, revoked."""
    from daypulse.store import tokens

    rows = tokens.listing(_store(_project(config)))
    if not rows:
        _info("no tokens (create one with `daypulse tokens create --role viewer`)")
        return
    t = Table("id", "name", "role", "scope", "created (UTC)", "revoked")
    for r in rows:
        t.add_row(str(r.id), r.name, r.role, json.dumps(r.scope) if r.scope else "", f"{r.created_at:%Y-%m-%d %H:%M}",
                  f"{r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "")
    out.print(t)


@tokens_app.command("revoke")
def tokens_revoke(id: Annotated[int, typer.Argument(help="The token's id (tokens list).")],
                  config: ConfigOpt = None) -> None:
    """Revoke a token: it stops working at once."""
    from daypulse.store import tokens

    store = _store(_project(config))
    if not 0 < id <= 2**31 - 1 or not tokens.revoke(store, id):
        raise UsageError(f"no active token {id} (see `daypulse tokens list`)")
    tokens.audit(store, "cli", "token.revoke", str(id))
    _info(f"token {id} revoked")


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    scheduler: Annotated[bool, typer.Option("--scheduler/--no-scheduler", help="Also run the delivery"
                                                                             " scheduler in the process.")] = True,
    config: ConfigOpt = None,
) -> None:
    """Serve the API (/api/v1, OpenAPI at /api/v1/docs) and, unless --no-scheduler, deliver
    subscriptions every delivery.tick."""
    import uvicorn

    from daypulse.app import ApiSettings, create_app

    project, store = _project_and_store(config)  # the report templates, for every page from the start
    store.engine.dispose()  # the app opens its own
    app = create_app(ApiSettings(config=config, project=project))
    if scheduler:
        from daypulse.api.background import start_scheduler

        start_scheduler(project, app.state.store, config, _info)
    base = f"http://{host}:{port}"
    _info(f"dashboard: {base}/ (sign in with an API token; make one with"
          f" `daypulse tokens create --role viewer`, or --role admin to send and edit)")
    _info(f"API: {base}/api/v1 (interactive docs: {base}/api/v1/docs; \"Authorize\" takes the token)"
          + (" · delivering subscriptions" if scheduler else ""))
    uvicorn.run(app, host=host, port=port, log_level="warning")


app.add_typer(tokens_app, name="tokens")
app.command("serve")(serve)
