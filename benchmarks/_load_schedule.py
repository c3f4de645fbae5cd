"""What the load generator sends and when: a fixed schedule of arrivals, built before a step starts.

Open loop means the schedule does not listen to the server: every arrival has its planned
send time and its whole request chosen in advance (seeded, so a rerun sends the same load),
and a slow answer delays nothing after it. Latency is counted from the planned time, so a
queue in the server (or in the generator) shows up in the figures instead of hiding.

The mix (``Mix``): injections, writes and searches by share; half of the injections (by
default) repeat one of a few questions their agent keeps asking, the rest are questions never
asked before in the run. Beside the mix, each agent's session is rotated (a new session
opened, the old one ended) about once every ``session_every`` of the mix's requests.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["AgentSpec", "Arrival", "Mix", "Workload", "agent_specs", "parse_mix", "parse_rates"]

OPS = ("inject", "write", "search")
ArrivalProcess = Literal["poisson", "uniform"]


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """One agent of the load: its id, namespace and the token ``memory-system tokens create`` gave."""

    agent_id: str
    namespace: str
    token: str = ""


def agent_specs(agents: int, namespaces: int) -> list[AgentSpec]:
    """Agents spread round-robin over the namespaces (agent i in namespace i mod namespaces)."""
    if agents < 1 or namespaces < 1:
        raise ValueError(f"--agents and --namespaces must be at least 1, got {agents} and {namespaces}")
    if namespaces > agents:
        raise ValueError(f"--namespaces ({namespaces}) cannot exceed --agents ({agents}): each needs one")
    return [AgentSpec(f"agent-{i:03d}", f"ns-{i % namespaces:02d}") for i in range(agents)]


@dataclass(frozen=True, slots=True)
class Mix:
    """Shares of the mix's requests by operation; they sum to 1."""

    inject: float
    write: float
    search: float

    def pick(self, rng: random.Random) -> str:
        x = rng.random()
        if x < self.inject:
            return "inject"
        return "write" if x < self.inject + self.write else "search"


def parse_mix(text: str) -> Mix:
    """``inject=70,write=20,search=10`` (percentages or fractions, normalised to sum 1)."""
    shares: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in OPS:
            raise ValueError(f"--mix: {part!r} is not op=share with op one of {', '.join(OPS)}")
        if name in shares:
            raise ValueError(f"--mix names {name!r} twice")
        try:
            share = float(value)
        except ValueError:
            raise ValueError(f"--mix: the share of {name!r} must be a number, got {value!r}") from None
        if not share >= 0:
            raise ValueError(f"--mix: the share of {name!r} must be >= 0, got {value!r}")
        shares[name] = share
    total = sum(shares.values())
    if total <= 0:
        raise ValueError("--mix: the shares must not all be zero")
    return Mix(**{op: shares.get(op, 0.0) / total for op in OPS})


def parse_rates(text: str) -> list[float]:
    """``25,50,100``: ascending arrival rates in requests per second."""
    try:
        rates = [float(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise ValueError(f"--rates must be numbers separated by commas, got {text!r}") from None
    if not rates or any(not r > 0 for r in rates):
        raise ValueError(f"--rates must be positive requests/s, got {text!r}")
    if rates != sorted(rates):
        raise ValueError(f"--rates must ascend (the sweep stops at the first rate not held), got {text!r}")
    return rates


@dataclass(frozen=True, slots=True)
class Arrival:
    """One planned request: ``at`` seconds after the step's start, for agent ``agent`` (an index).
    ``op`` is inject / write / search, or ``session`` (open a new session, then end the old)."""

    at: float
    op: str
    agent: int
    body: dict[str, Any] | None = None
    repeat: bool = False


@dataclass
class Workload:
    """The realistic mix, one seeded stream across all steps of a run: questions never asked
    before stay new from step to step, and each agent keeps its few recurring questions."""

    agents: int
    mix: Mix
    questions: Sequence[str]
    bases: Sequence[str]
    seed: int = 42
    repeat_share: float = 0.5
    repeat_pool: int = 5
    session_every: float = 20.0
    token_budget: int = 1000
    rng: random.Random = field(init=False)
    recurring: list[list[str]] = field(init=False)
    _asked: int = field(init=False, default=0)
    _written: int = field(init=False, default=0)
    _order: list[str] = field(init=False)

    def __post_init__(self) -> None:
        if not 0 <= self.repeat_share <= 1:
            raise ValueError(f"--repeat-share must be between 0 and 1, got {self.repeat_share}")
        if self.repeat_pool < 1:
            raise ValueError(f"--repeat-pool must be at least 1, got {self.repeat_pool}")
        if not self.session_every > 0:
            raise ValueError(f"--session-every must be > 0, got {self.session_every}")
        if not self.questions or not self.bases:
            raise ValueError("the workload needs questions and base texts")
        self.rng = random.Random(self.seed)
        self._order = list(self.questions)
        self.rng.shuffle(self._order)
        self.recurring = [
            self.rng.sample(list(self.questions), min(self.repeat_pool, len(self.questions)))
            for _ in range(self.agents)
        ]

    def fresh_question(self) -> str:
        """A question not asked before in this run: the corpus's questions in a shuffled order,
        then again with a round marker (still a distinct string, so never a cache hit)."""
        n = self._asked
        self._asked += 1
        q = self._order[n % len(self._order)]
        rounds = n // len(self._order)
        return q if rounds == 0 else f"{q} (round {rounds})"

    def arrivals(self, rate: float, seconds: float, process: ArrivalProcess = "poisson") -> list[Arrival]:
        """The schedule of one step: the mix at ``rate``/s plus session rotations at
        ``rate / session_every``/s, for ``seconds``; Poisson (memoryless gaps) or evenly spaced."""
        if not rate > 0 or not seconds > 0:
            raise ValueError(f"rate and seconds must be positive, got {rate} and {seconds}")
        session_share = 1 / (1 + self.session_every)
        total_rate = rate * (1 + 1 / self.session_every)
        out: list[Arrival] = []
        t = 0.0
        i = 0
        while True:
            if process == "poisson":
                t += self.rng.expovariate(total_rate)
            else:
                t = i / total_rate
            i += 1
            if t >= seconds:
                return out
            agent = self.rng.randrange(self.agents)
            if self.rng.random() < session_share:
                out.append(Arrival(t, "session", agent))
                continue
            out.append(self._request(t, self.mix.pick(self.rng), agent))

    def _request(self, t: float, op: str, agent: int) -> Arrival:
        rng = self.rng
        if op == "inject":
            repeat = rng.random() < self.repeat_share
            query = rng.choice(self.recurring[agent]) if repeat else self.fresh_question()
            return Arrival(t, op, agent, {"query": query, "token_budget": self.token_budget}, repeat)
        if op == "search":
            return Arrival(t, op, agent, {"query": self.fresh_question(), "k": 10})
        self._written += 1
        body: dict[str, Any] = {
            "content": f"{rng.choice(self.bases)} (note {agent}-{self._written})",
            "kind": rng.choice(["fact", "decision", "note"]),
            "importance": round(rng.random(), 2),
        }
        if rng.random() < 0.25:
            body["tier"] = "working"  # session scratch: the generator adds the session id
        return Arrival(t, op, agent, body)
