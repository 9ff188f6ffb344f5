"""The dashboard's alerts page: the events metric alert rules raised (open, acknowledged,
resolved), each linked to its metric's chart around the period, with a form for admins to
acknowledge one. A scoped session sees its own dimension values' events only, as the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from daypulse.alerts.metric_alerts import all_rules
from daypulse.report import format as fmt
from daypulse.scopes import within
from daypulse.store import alert_events as events
from daypulse.store import tokens
from daypulse.web.pages import Changing, Forbidden, Signed, page, problem_page

router = APIRouter(include_in_schema=False)
AROUND = {"day": 21, "week": 12, "month": 6, "quarter": 4, "year": 3}  # periods shown before the event's


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, s: Signed, state: str | None = None, acked: int | None = None):
    project, store = request.app.state.project, request.app.state.store
    kinds = {r.name: r for r in all_rules(project, store)}
    rows = [r for r in events.events(store) if within(r.dims, s.who.scope)]
    state = state if state in ("open", "acknowledged", "resolved") else None
    counts = {k: sum(events.state(r) == k for r in rows) for k in ("open", "acknowledged", "resolved")}
    shown = [r for r in rows if state is None or events.state(r) == state][:300]
    cal = project.calendar
    items = []
    for r in shown:
        m = project.metrics.get(r.metric)
        f = m.format if m else "number"
        rule = kinds.get(r.rule)
        start = cal.shift(r.grain, r.period, AROUND.get(r.grain, 6))
        end = min(cal.period_end(r.grain, r.resolved_period or r.period) + timedelta(days=7 if r.grain == "day" else 0),
                  cal.today())
        q = {"start": start.isoformat(), "end": end.isoformat(), "grain": r.grain}
        link = f"/metrics/{r.metric}?" + urlencode(q) + "".join(f"&filter={k}%3D{v}" for k, v in r.dims.items())
        items.append({"row": r, "state": events.state(r), "value": fmt.value(r.value, f),
                      "limit": fmt.limit(r.limit, f) if not rule or rule.kind != "anomaly" else f"z {r.limit:g}",
                      "kind": rule.kind if rule else "", "label": (m.label or r.metric) if m else r.metric,
                      "link": link if m else None})
    done = events.event(store, acked) if acked and 0 < acked < 2**31 else None
    return page(request, "alerts.html", s, items=items, counts=counts, state=state, total=len(rows),
                done=done if done is not None and within(done.dims, s.who.scope) else None, rules=len(kinds))


@router.post("/alerts/events/{id}/ack")
def ack(request: Request, s: Changing, id: Annotated[int, Path(ge=1, le=2**31 - 1)],
        note: Annotated[str, Form(max_length=2000)] = ""):
    store = request.app.state.store
    found = events.event(store, id)
    if found is None or not within(found.dims, s.who.scope):
        raise Forbidden(f"no alert event {id} that you can acknowledge")
    if not note.strip():
        return problem_page(request, 422, "Say what is known", "Acknowledging an alert needs a note,"
                            " e.g. 'known: card processor outage'.")
    done = events.acknowledge(store, id, s.who.name, note.strip())
    if done is None:
        return problem_page(request, 409, "Not open", f"Alert event {id} is {events.state(found)} already.")
    tokens.audit(store, s.who.name, "alert.ack", str(id), {"note": done.ack_note, "rule": done.rule,
                                                           "via": "dashboard"})
    return RedirectResponse(f"/alerts?acked={id}", status_code=303)
