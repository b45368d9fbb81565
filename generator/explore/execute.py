"""Where explored sequences run: the live agent, through pexpect.

An executor takes a batch of sequences (`Case`s) and returns, per case id,
the observations the agent printed (`CaseObs`, as the cross-check reads a
generated test's).  `LiveExecutor` sends them to the agent in one round
trip per batch; a sequence whose step hung comes back as a harness
failure naming the hang (the agent was restarted: the rest of the batch
is sent again), a broken VM (panic, QEMU gone, silence) raises `Broke`
with everything seen before it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from generator.model import Spec
from generator.model.case import Case
from generator.verdict.crosscheck import CaseObs, KtapLike, ObsStatus, parse_observations


class Executor(Protocol):
    page_size: int
    host_mte: bool

    def execute(self, cases: list[Case]) -> dict[str, CaseObs]: ...


class Broke(Exception):
    """The VM under the agent broke; `done` holds the finished sequences."""

    def __init__(self, message: str, done: dict, panic: bool = False):
        super().__init__(message)
        self.done, self.panic = done, panic


def long_lines(case: Case, lines: list[str]) -> list[str]:
    """The agent's short observations ("=<ret> <errno> <digest>", in step
    order) as the runtime's long lines, which the cross-check parses."""
    out, k = [], 0
    for line in lines:
        if not line.startswith("="):
            out.append(line)
            continue
        words = line[1:].split()
        if len(words) != 3 or k >= len(case.steps):
            out.append(f"# kconform: case={case.id} agent line not understood: {line}")
            continue
        out.append(f"# kconform: case={case.id} step={k} kind={case.steps[k].kind.value} "
                   f"ret={words[0]} errno={words[1]} digest={words[2]}")
        k += 1
    return out


def observations(case_id: str, lines: list[str], end: dict | None, hung: bool) -> CaseObs:
    """One sequence's agent lines (long form) as the cross-check's CaseObs."""
    rc = (end or {}).get("rc")
    status = "pass" if rc == "0" else "skip" if rc == "1" else "fail"
    reason = ""
    if hung:
        reason = next((l.partition("kconform:")[2].strip() for l in lines if " hang " in l),
                      "a step hung")
    elif end is None:
        reason = "the sequence never ended"
    obs = parse_observations([KtapLike(case_id, status, reason, lines)]).cases[case_id]
    if hung:
        obs.status, obs.notes = ObsStatus.HARNESS, [f"hang: {reason}"]
    return obs


@dataclass
class LiveStats:
    round_trips: int = 0
    sequences: int = 0
    steps_sent: int = 0
    seconds: float = 0.0             # in round trips
    guest_seconds: float = 0.0       # the sequences' own time in the guest (agent clock)
    hangs: int = 0


@dataclass
class LiveExecutor:
    """The agent of one spec, running in an AgentVM."""
    vm: object                        # generator.runner.agent.AgentVM
    spec: Spec
    page_size: int
    host_mte: bool
    caps: dict                        # capability -> number the agent binds
    batch: int = 16
    lanes: int = 1                    # guest processes the agent runs a batch in
    stats: LiveStats = field(default_factory=LiveStats)

    @classmethod
    def start(cls, vm, spec: Spec, agent_name: str, batch: int = 16) -> "LiveExecutor":
        info = vm.start_agent(agent_name)
        caps = {name: number for name, (number, _) in info.bindings.items()}
        return cls(vm, spec, info.page_size, info.host_mte, caps, batch, info.lanes)

    def execute(self, cases: list[Case]) -> dict[str, CaseObs]:
        from generator.explore.agent import sequence_text
        from generator.runner.agent import AgentDied, VmBroke
        out: dict[str, CaseObs] = {}
        todo = list(cases)
        while todo:
            chunk, todo = todo[:self.batch], todo[self.batch:]
            texts = [(c.id, sequence_text(self.spec, c.id, c.steps, self.page_size, self.caps))
                     for c in chunk]
            t0 = time.monotonic()
            try:
                done = self.vm.run_batch(texts)
                if len(done) < len(chunk):       # a lane hung: its later sequences never ran
                    if not done:
                        raise Broke(f"agent {self.spec.name}: a batch of {len(chunk)} "
                                    "sequences gave no result", out)
                    todo = [c for c in chunk if c.id not in done] + todo
                self.stats.hangs += sum(1 for r in done.values() if r.hung)
            except AgentDied as e:
                done = e.done
                self.stats.hangs += 1
                todo = [c for c in chunk if c.id not in done] + todo
            except VmBroke as e:
                out.update(self._obs(chunk, e.done))
                raise Broke(str(e), out, e.panic) from None
            finally:
                self.stats.round_trips += 1
                self.stats.seconds += time.monotonic() - t0
            self.stats.sequences += len(done)
            self.stats.guest_seconds += sum(int((r.end or {}).get("us", 0)) for r in done.values()) / 1e6
            self.stats.steps_sent += sum(len(c.steps) for c in chunk)
            out.update(self._obs(chunk, done))
        return out

    @staticmethod
    def _obs(chunk: list[Case], done: dict) -> dict[str, CaseObs]:
        by_id = {c.id: c for c in chunk}
        return {i: observations(i, long_lines(by_id[i], r.lines), r.end, r.hung)
                for i, r in done.items() if i in by_id}

    def stop(self) -> None:
        self.vm.stop_agent()
