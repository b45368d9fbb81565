"""A fake kernel for exploration tests: the reference model of a spec with
chosen deviations, answering as the agent would (CaseObs per sequence).
Unit tests only: it is the model judged against a mutant of itself."""
from __future__ import annotations

from dataclasses import dataclass, field

from generator.model import Errno
from generator.model.case import Case, StepRole
from generator.verdict.crosscheck import CaseObs, ObsStatus, StepObs
from reference import vmstate
from reference.runtime import Result


def byte_count_on_success(fn):
    """The merged kernel: a copy that succeeds returns the bytes copied."""
    def wrapped(vm, call):
        r = fn(vm, call)
        if r.check == "success" and r.errno is None:
            return Result(call.arg.length, None, "success")
        return r
    return wrapped


def partial_count(fn):
    """... and a copy that stops part-way returns the bytes copied so far."""
    def wrapped(vm, call):
        start = call.arg.length
        seen = []

        orig = vm.advance

        def advance(it, copied):
            seen.append(1)
            orig(it, copied)
        vm.advance = advance
        try:
            r = fn(vm, call)
        finally:
            del vm.advance
        if r.errno is Errno.EFAULT and r.check in ("no_memslot", "num_tags_mismatch") and seen:
            return Result(len(seen) * vm.page_size, None, r.check)
        return r
    return wrapped


@dataclass
class FakeKernel:
    """Executes sequences on the reference with `ops` (mutated) instead of the
    spec's own OPERATIONS."""
    module: object
    mutate: dict = field(default_factory=dict)      # op key -> wrapper
    page_size: int = 4096
    host_mte: bool = True
    executed: int = 0
    calls: int = 0

    def ops(self):
        out = dict(self.module.OPERATIONS)
        for key, wrap in self.mutate.items():
            out[key] = wrap(out[key])
        return out

    def execute(self, cases: list[Case]) -> dict[str, CaseObs]:
        self.calls += 1
        ops = self.ops()
        out = {}
        for c in cases:
            self.executed += len(c.steps)
            got = vmstate.predict(ops, self.module.CAPABILITIES, c, self.page_size,
                                  vmstate.Host.of(mte=self.host_mte))
            steps = [StepObs(i, s.kind.value, 3 if o.ret is None else o.ret,
                             o.errno.name if o.errno else None, o.digest)
                     for i, (s, o) in enumerate(zip(c.steps, got))]
            out[c.id] = CaseObs(c.id, ObsStatus.OK, "", steps)
        return out
