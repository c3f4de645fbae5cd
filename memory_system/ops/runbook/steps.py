"""A procedure is a list of timed steps; a failed step stops it and says why.

At 3 a.m. an operator needs to see what ran, how long it took, and where it stopped.
``Procedure.step`` times a block, records it, and reports it at once (the CLI prints each
step as it ends, so a slow step is visible while it runs the next); a block that raises
``StepFailed`` (or any ``Exception``) marks the step failed and the procedure stops there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any


class StepFailed(Exception):
    """A step could not do its work; the message says what was seen and what to do."""


@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StepNote:
    """What a step block may fill in while it runs: the line printed after it."""

    detail: str = ""


Reporter = Callable[[Step], None]


@dataclass
class Procedure:
    """One run of a runbook option. ``report`` is called with every step as it ends."""

    option: str
    report: Reporter = field(default=lambda step: None)
    steps: list[Step] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def seconds(self) -> float:
        return round(time.monotonic() - self.started, 3)

    @contextmanager
    def step(self, name: str) -> Iterator[StepNote]:
        note = StepNote()
        began = time.monotonic()
        try:
            yield note
        except Exception as exc:
            self._record(
                Step(name, False, round(time.monotonic() - began, 3), str(exc) or type(exc).__name__)
            )
            raise
        self._record(Step(name, True, round(time.monotonic() - began, 3), note.detail))

    def _record(self, step: Step) -> None:
        self.steps.append(step)
        self.report(step)

    def to_dict(self) -> dict[str, Any]:
        return {
            "option": self.option,
            "ok": self.ok,
            "seconds": self.seconds,
            "steps": [s.to_dict() for s in self.steps],
        }
