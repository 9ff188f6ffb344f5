"""A rendered report as text or files: what `daypulse report` prints or writes with --out."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from daypulse.errors import UsageError
from daypulse.report.definition import load_report
from daypulse.report.render import render
from daypulse.report.slack import render_slack

FORMATS = ("text", "markdown", "md", "html", "slack", "json", "pdf")


def rendered(report, fmt: str, template_dir: Path | None = None) -> str:
    """The report in one format, as a string (HTML keeps ``cid:`` chart references)."""
    if fmt not in FORMATS:
        raise UsageError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "pdf":
        raise UsageError("--format pdf writes a file: give --out report.pdf")
    if fmt == "slack":
        msg = render_slack(report)
        return json.dumps({**msg.payload(), "thread": msg.thread}, indent=2, ensure_ascii=False)

    return render(report, "markdown" if fmt == "md" else fmt, template_dir)


def template_folder(project, name: str, base_dir: Path) -> Path | None:
    """A report's `template:` folder (relative to daypulse.yml's folder, ``base_dir``), or None."""

    folder = load_report(project, name).template
    if not folder:
        return None
    path = Path(folder)
    if not path.is_absolute():
        path = base_dir / path
    if not path.is_dir():
        raise UsageError(f"reports.{name}.template: {path} is not a folder")
    return path


def write(report, fmt: str, out: Path, template_dir: Path | None = None) -> list[Path]:
    """Write the report to ``out``; HTML and Markdown get their charts as PNG files in a
    folder beside it (``weekly.html`` -> ``weekly_charts/chart-1-mrr.png``), referenced by
    relative paths so the file opens in a browser; a PDF holds its charts. Each file is written
    whole (temp + rename)."""
    if fmt == "pdf":
        from daypulse.report.pdf import pdf_bytes

        return [_atomic(out, pdf_bytes(report, template_dir))]
    text = rendered(report, fmt, template_dir)
    written = []
    if fmt in ("html", "markdown", "md") and report.charts:
        folder = out.with_name(f"{out.stem}_charts")
        folder.mkdir(parents=True, exist_ok=True)
        for c in report.charts:
            written.append(_atomic(folder / f"{c.id}.png", c.png))
            text = text.replace(f"cid:{c.id}", f"{folder.name}/{c.id}.png")
        if fmt != "html":  # each chart's image in its place under "Charts", before the definitions
            for c in report.charts:
                title = c.title.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
                text = text.replace(f"<!-- chart:{c.id} -->", f"![{title}]({folder.name}/{c.id}.png)\n")
    written.insert(0, _atomic(out, text.encode()))
    return written


def _atomic(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(path, data)


_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def write_atomically(path: Path, data: bytes, *, durable: bool = False) -> Path:
    """Write a file people read (a report's ``--out``, the file channel's deliveries) whole or
    not at all: into a new temporary file beside it (``.NAME.XXXXXXXX.tmp``), then renamed over
    ``path``, so a reader sees the old file or the new one, never half of one.

    The temporary file is created as ``open()`` creates a file, mode 0666 less the umask (0644
    under umask 022), not with ``tempfile.mkstemp``'s private 0600; the rename keeps that mode.
    ``durable``: the data reaches the disk (fsync) before the rename."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, _TEMP_FLAGS, 0o666)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 random names all taken
        raise FileExistsError(f"no free temporary name beside {path}")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
