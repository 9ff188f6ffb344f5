"""Files in a folder: ``{folder}/{key}.{html|json|md|txt}`` plus the charts as ``{key}-{chart}.png``.

Every folder is under the channel's ``root`` (default ``outbox/`` beside daypulse.yml): a
subscription's ``to`` names a sub-folder of it, and a path that would leave it (absolute,
``..``, or through a symlink) is refused. A subscription can be added through the API by a
tenant's admin, so without the root the server would write wherever such a user asked.

Each file is written to a temporary name in the same folder and renamed over the final one, so
a reader never sees half a report; its mode is what the umask gives any new file (0644 under
umask 022). The charts are written first, the report last (its presence means the delivery is
complete). Sending the same delivery again rewrites the same names with
the same bytes (or leaves them when they already hold them): idempotent. In HTML the charts'
``cid:`` sources point at the PNG files next to it, so the page opens in a browser.
The key's characters that are not portable in file names (``:`` on Windows) become ``_``.

Errors: a folder that cannot be created or written (permissions, a file in the way) is
permanent; a full disk or an I/O error is transient.
"""

from __future__ import annotations

import base64
import errno
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from daypulse.delivery.channels.base import CheckResult, Outgoing, SendResult, safe_name, short
from daypulse.errors import DaypulseError
from daypulse.report.output import write_atomically
from daypulse.report.render import render

EXTENSIONS = {"html": "html", "json": "json", "markdown": "md", "text": "txt"}
TRANSIENT_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EAGAIN, errno.EBUSY, errno.EDQUOT, errno.EINTR}


class FileSettings(BaseModel):
    """``kind: file``."""

    model_config = ConfigDict(extra="forbid")
    root: str = Field("outbox", min_length=1,
                      description="the folder every delivery writes under (relative to daypulse.yml's folder;"
                                  " created if missing); a delivery's `to` is a sub-folder of it")
    format: Literal["html", "json", "markdown", "text"] = "html"

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data):
        if isinstance(data, dict) and "folder" in data:
            raise ValueError("`folder` is now `root`: the folder every delivery writes under (a subscription's"
                             " `to` is a sub-folder of it)")
        return data


class FileChannel:
    name = "file"
    Settings = FileSettings
    charts = True  # writes the PNGs beside the HTML
    target = "a folder"  # what `to` is
    defaults: ClassVar[dict | None] = {}  # the settings of a bare `channel: file`

    paths = ("root",)  # settings relative to daypulse.yml's folder

    def __init__(self, settings: FileSettings):
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: FileSettings, env: Mapping[str, str]) -> FileChannel:
        return cls(settings)

    def check(self, target: str | list[str] | None = None) -> CheckResult:
        try:
            folder = self._folder(target)
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".daypulse-check-"):
                pass
        except OutsideRoot as err:
            return CheckResult(False, f"file: {err}")
        except OSError as err:
            return CheckResult(False, f"file: {folder} is not writable: {err.strerror or err}")
        return CheckResult(True, f"file: {folder} is writable")

    def render(self, outgoing: Outgoing) -> dict:
        report = outgoing.report
        if report is None:
            raise ValueError("render needs the report (the Outgoing has only a payload)")
        stem = safe_name(outgoing.key)
        charts = [{"name": f"{stem}-{c.id}.png", "id": c.id, "png": base64.b64encode(c.png).decode("ascii")}
                  for c in report.charts]
        content = render(report, self.settings.format, outgoing.template_dir)
        if self.settings.format == "html":
            for c in charts:
                content = content.replace(f'src="cid:{c["id"]}"', f'src="{c["name"]}"')
        return {"name": f"{stem}.{EXTENSIONS[self.settings.format]}", "content": content,
                "charts": [{"name": c["name"], "png": c["png"]} for c in charts]}

    def send(self, outgoing: Outgoing) -> SendResult:
        try:
            folder = self._folder(outgoing.target)
        except OutsideRoot as err:
            return SendResult.failed(f"file: {err}", transient=False)
        try:
            payload = outgoing.payload if outgoing.payload is not None else self.render(outgoing)
        except DaypulseError as err:
            return SendResult.failed(f"file: {err}", transient=False)
        path = folder / payload["name"]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            unchanged = [_write(folder / c["name"], base64.b64decode(c["png"])) for c in payload["charts"]]
            unchanged.append(_write(path, payload["content"].encode("utf-8")))
        except OSError as err:
            return SendResult.failed(f"file: cannot write {path}: {short(err.strerror or str(err))}",
                                     transient=err.errno in TRANSIENT_ERRNOS)
        return SendResult.sent(str(path), note="already written, unchanged" if all(unchanged) else None)

    def _folder(self, target: str | list[str] | None) -> Path:
        """The delivery's folder: the root, or ``target`` under it. OutsideRoot when it would leave it."""
        root = Path(self.settings.root)
        if target is None:
            return root
        folder = inside(root, target)
        # The folder need not exist yet; what exists of it is followed, symlinks included.
        try:
            resolved = folder.resolve()
        except (OSError, ValueError, RuntimeError) as err:  # a symlink loop, a name the system refuses
            raise OutsideRoot(f"{target!r} cannot be resolved under the channel's root: {err}") from None
        if not resolved.is_relative_to(root.resolve()):
            raise OutsideRoot(f"{target!r} leads out of the channel's root {root} (through a symlink)")
        return folder


class OutsideRoot(ValueError):
    """A target that would put files outside the channel's root."""


def inside(root: Path, target) -> Path:
    """``root / target`` for a relative ``target`` that stays in it, by its name alone."""
    if not isinstance(target, str) or not target.strip() or any(ord(c) < 32 or ord(c) == 127 for c in target):
        raise OutsideRoot("the target is not a folder name")
    rel = Path(target)
    if rel.is_absolute() or rel.drive or ".." in rel.parts:
        raise OutsideRoot(f"{target!r} is not a folder under the channel's root {root}: give a relative"
                          " folder without '..' (set the channel's `root` to write elsewhere)")
    return root / rel


def _write(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically; True when the file already held exactly that."""
    try:
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return True
    except OSError:
        pass
    write_atomically(path, data, durable=True)  # mode 0666 less the umask, as any new file
    return False
