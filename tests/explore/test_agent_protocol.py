"""The host side of the agent protocol (generator.runner.agent) against a
scripted console (no boot): batches, a hung step (the agent is restarted
and the rest of the batch sent again), a kernel panic and a silent guest
(every finished sequence kept, the console stopped)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from generator.explore.execute import Broke, LiveExecutor
from generator.model.case import CreateVcpu, CreateVm, StepKind
from generator.run.pipeline import load_named_spec
from generator.runner.agent import AgentDied, AgentVM, VmBroke
from generator.runner.initramfs import Markers
from generator.verdict.crosscheck import ObsStatus

KINDS = {i + 1: k.value for i, k in enumerate(StepKind)}   # enum kc_step_kind


class ScriptedAgentConsole:
    """Plays /init and the agent: answers what the host sends."""

    def __init__(self, markers: Markers, hang=(), panic=(), silent=()):
        self.m = markers.prefix
        self.hang, self.panic, self.silent = set(hang), set(panic), set(silent)
        self.out = [f"{self.m} START 1.0 0", f"{self.m} RELEASE 6.12.0-fake",
                    f"{self.m} AGENT-READY"]
        self.closed = False
        self.exit_status = None
        self.stopped = False
        self.agent = None
        self.header = None
        self.rows = []
        self.count = 0
        self.dead = False          # a killed agent: input is dropped until restarted

    def clock(self):
        return time.monotonic()

    def readline(self, timeout):
        if self.out:
            return self.out.pop(0)
        if not self.closed:
            time.sleep(min(timeout, 0.02))
        return None

    def stop(self):
        self.stopped = self.closed = True

    def send_text(self, text):
        for line in text.splitlines():
            self._line(line)

    def _hello(self, name):
        self.agent, self.dead = name, False
        self.out += ["# kconform: agent spec=mte-v10 page_size=4096 hwcap2_mte=1 kvm=ok "
                     "step_timeout=0", "# kconform: page_size=4096",
                     "# kconform: binding name=KVM_CAP_ARM_MTE number=205 how=header",
                     "# kconform: agent ready"]

    def _line(self, line):
        if line.startswith("A "):
            self._hello(line.split()[1])
        elif line == "P":
            self.out.append(f"{self.m} DONE")
            self.closed = True
        elif self.dead:
            return
        elif line == "Q":
            self.out += [f"{self.m} AGENT-EXIT {self.agent} 0", f"{self.m} AGENT-READY"]
        elif line == "F":
            self.out.append(f"# kconform: flush {self.count}")
        elif line.startswith("X "):
            _, sid, n = line.split()
            self.header, self.rows = (sid, int(n)), []
            if int(n) == 0:
                self._run()
        elif line.startswith("S "):
            self.rows.append(line)
            if len(self.rows) == self.header[1]:
                self._run()

    def _run(self):
        sid, n = self.header
        self.count += 1
        if sid in self.silent:
            self.dead = True
            return
        self.out.append(f"# kconform: case={sid} begin")
        for k, row in enumerate(self.rows):
            kind = KINDS[int(row.split()[1], 16)]
            if sid in self.panic and k == 1:
                self.out += ["[   12.3] Kernel panic - not syncing: fake", "[   12.3] trace"]
                self.closed, self.dead = True, True
                return
            if sid in self.hang and k == 1:
                self.out += [f"# kconform: case={sid} hang step=1 after 10 s",
                             f"{self.m} AGENT-EXIT {self.agent} 142", f"{self.m} AGENT-READY"]
                self.dead = True
                return
            self.out.append("=3 - -" if kind != "check_extension" else "=1 - -")
        self.out.append(f"# kconform: case={sid} end steps={n} rc=0")


def _vm(tmp_path, **kw):
    markers = Markers("feedf00d")
    console = ScriptedAgentConsole(markers, **kw)
    vm = AgentVM(None, [], tmp_path / "console.log", console=console, markers=markers,
                 boot_timeout=2.0, grace=0.3)
    return vm, console


def _batch(n, steps=2):
    seq = [CreateVm()] + [CreateVcpu()] * (steps - 1)
    return [(f"e{i}", seq) for i in range(n)]


@pytest.fixture(scope="module")
def spec():
    return load_named_spec("mte-v10")


def _cases(spec, n):
    from generator.explore.domain import Domain
    d = Domain.of(spec)
    return [d.case(i, s) for i, s in _batch(n)]


def test_a_batch_in_one_round_trip(tmp_path, spec):
    vm, console = _vm(tmp_path)
    with vm:
        assert vm.release == "6.12.0-fake"
        ex = LiveExecutor.start(vm, spec, "agent_mte_v10", batch=8)
        assert ex.page_size == 4096 and ex.host_mte and ex.caps == {"KVM_CAP_ARM_MTE": 205}
        obs = ex.execute(_cases(spec, 10))
        assert sorted(obs) == sorted(f"e{i}" for i in range(10))
        assert all(o.status is ObsStatus.OK and len(o.steps) == 2 for o in obs.values())
        assert ex.stats.round_trips == 2 and ex.stats.sequences == 10
        ex.stop()
    assert console.stopped or console.closed
    assert "AGENT-READY" in (tmp_path / "console.log").read_text()


def test_a_hung_step_ends_its_sequence_and_the_agent_is_restarted(tmp_path, spec):
    vm, console = _vm(tmp_path, hang={"e3"})
    with vm:
        ex = LiveExecutor.start(vm, spec, "agent_mte_v10", batch=8)
        obs = ex.execute(_cases(spec, 6))
        assert sorted(obs) == sorted(f"e{i}" for i in range(6))
        assert obs["e3"].status is ObsStatus.HARNESS and "hang" in obs["e3"].notes[0]
        assert all(obs[f"e{i}"].status is ObsStatus.OK for i in (0, 1, 2, 4, 5))
        assert ex.stats.hangs == 1 and vm.current is not None


def test_the_agent_dying_raises_with_what_finished(tmp_path, spec):
    vm, _ = _vm(tmp_path, hang={"e1"})
    with vm:
        vm.start_agent("agent_mte_v10")
        from generator.explore.agent import sequence_text
        texts = [(i, sequence_text(spec, i, s, 4096, {})) for i, s in _batch(3)]
        with pytest.raises(AgentDied) as e:
            vm.run_batch(texts)
        assert set(e.value.done) == {"e0", "e1"} and e.value.hung == "e1"
        assert e.value.done["e1"].hung and e.value.status == 142


def test_a_panic_keeps_every_result_so_far(tmp_path, spec):
    vm, console = _vm(tmp_path, panic={"e9"})
    with vm:
        ex = LiveExecutor.start(vm, spec, "agent_mte_v10", batch=4)
        with pytest.raises(Broke) as e:
            ex.execute(_cases(spec, 12))
        assert e.value.panic and "Kernel panic" in str(e.value)
        assert sorted(e.value.done) == sorted(f"e{i}" for i in range(9))
    assert console.stopped


def test_a_silent_guest_is_given_up_on(tmp_path, spec):
    vm, console = _vm(tmp_path, silent={"e1"})
    t0 = time.monotonic()
    with vm:
        vm.start_agent("agent_mte_v10")
        from generator.explore.agent import sequence_text
        texts = [(i, sequence_text(spec, i, s, 4096, {})) for i, s in _batch(2)]
        with pytest.raises(VmBroke) as e:
            vm.run_batch(texts)
        assert set(e.value.done) == {"e0"} and "QEMU was killed" in str(e.value)
    assert console.stopped and time.monotonic() - t0 < 5


def test_explorer_reports_a_broken_run_with_its_results(tmp_path, spec):
    import reference.mte_v10 as mte_v10
    from generator.explore.explore import Budget, Explorer
    vm, console = _vm(tmp_path, panic={"e40"})
    with vm:
        ex = LiveExecutor.start(vm, spec, "agent_mte_v10", batch=16)
        r = Explorer(spec, mte_v10, ex, seed=0, budget=Budget(examples=100)).run()
    assert r.broke and "panic" in r.broke
    assert 32 <= r.examples < 64 and r.steps > 0
