"""The exceptions daypulse raises on purpose.

    DaypulseError                 base; carries a message a user can act on
    ├── UserError                 bad input: exit code 2, nothing written
    │   ├── ConfigError           daypulse.yml problems (a list of Issue, each with file:line)
    │   └── UsageError            a bad flag or argument (unknown metric, bad date...)
    └── RuntimeFailure            the input was fine but something failed: exit code 1
        ├── SourceError           the source database could not be reached or queried
        └── StoreError            daypulse's own store could not be reached or is out of date

The CLI turns each into one clear line (or one line per config issue; ``file:line: error:`` in
front of any error whose ``where`` is set) and an exit code;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class DaypulseError(Exception):
    exit_code = 1
    # "file:line" of the setting at fault when it is known (a source that cannot be reached: the
    # line of source:); the CLI writes it in front of the message, as for a config issue.
    where: str | None = None

    def at(self, file: str | None, line: int | None) -> DaypulseError:
        self.where = (f"{file}:{line}" if line else file) if file else None
        return self


class UserError(DaypulseError):
    exit_code = 2


class UsageError(UserError):
    pass


@dataclass(frozen=True)
class Issue:
    """One problem in a project file: where it is, what it is, what to do about it."""

    message: str
    file: str | None = None
    line: int | None = None
    metric: str | None = None
    hint: str | None = None
    level: str = "error"  # error | warning

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        subject = f"metric {self.metric!r}: " if self.metric else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}{self.level}: {subject}{self.message}{hint}"


class ConfigError(UserError):
    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class RuntimeFailure(DaypulseError):
    exit_code = 1


class SourceError(RuntimeFailure):
    def __init__(self, message: str = "", metric: str | None = None):
        super().__init__(message)
        self.metric = metric  # the metric whose query failed, when one did (the CLI names its line)


class StoreError(RuntimeFailure):
    pass
