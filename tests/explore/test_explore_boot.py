"""`kconform explore` on a real kernel: a short exploration of mte-v10 on
Debian 6.12 in one boot finds (at least) the success-value divergence,
shrunk to its four steps and confirmed by a replay; the saved reproducers
replay in a second boot.  Slow (two boots); marked `boot`."""
import json
import time

import pytest

from generator.cli import main

pytestmark = pytest.mark.boot

SUCCESS = "KVM_ARM_MTE_COPY_TAGS | success | 0 -> count=length"


def test_short_exploration_finds_the_success_value(tmp_path):
    t0 = time.monotonic()
    code = main(["explore", "--quiet", "--examples", "64", "--seed", "0",
                 "--results", str(tmp_path / "r.json"), "--save", str(tmp_path / "s.json"),
                 "--junit", str(tmp_path / "j.xml"), "--markdown", str(tmp_path / "r.md"),
                 "--work-dir", str(tmp_path / "work")])
    elapsed = time.monotonic() - t0
    assert code == 0
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["release"].startswith("6.12") and doc["broke"] is None
    r = doc["results"][0]
    assert r["page_size"] == 4096 and r["examples"] == 64
    assert r["statuses"]["error"] == 0 and r["statuses"]["setup failed"] == 0
    classes = {c["key"]: c for c in r["classes"]}
    assert SUCCESS in classes, sorted(classes)
    c = classes[SUCCESS]
    assert c["confirmed"] and c["decided_by"] == "002_640e98e582cbc741.txt:763"
    assert [s["kind"] for s in c["steps"]] == ["create_vm", "enable_cap", "add_memslot",
                                               "vm_ioctl"]
    assert "int main(void)" in c["reproducer"]
    assert r["unconfirmed"] == []
    assert "count=length" in (tmp_path / "j.xml").read_text()
    assert "002_640e98e582cbc741.txt:763" in (tmp_path / "r.md").read_text()
    assert elapsed < 60, f"the exploration took {elapsed:.0f} s"

    code = main(["explore", "--quiet", "--replay", str(tmp_path / "s.json"),
                 "--results", str(tmp_path / "replay.json"), "--work-dir", str(tmp_path / "w2")])
    assert code == 0
    rep = json.loads((tmp_path / "replay.json").read_text())
    assert rep["replayed"] and all(row["confirmed"] for row in rep["replayed"]), rep["replayed"]


def test_a_hung_step_is_an_error_and_the_boot_goes_on(tmp_path):
    """A step that outlives the agent's alarm (1 s here: a tag copy over
    800 MB of guest memory) ends its sequence as `error`; the other
    sequences of the batch (the hung lane's later one is sent again) and
    the next batch run in the same boot."""
    from dataclasses import replace

    import reference.mte_v10 as mte_v10
    from generator.explore.agent import agent_name, build_agent
    from generator.explore.check import ExampleStatus, judge_sequence
    from generator.explore.domain import Domain
    from generator.explore.execute import LiveExecutor
    from generator.model.case import AddMemslot, Buffer, CreateVm, Val
    from generator.run.pipeline import load_named_spec
    from generator.runner.agent import AgentVM
    from generator.runner.kernels import resolve_kernel
    from generator.verdict.crosscheck import ObsStatus
    from reference.vmstate import Host

    spec = load_named_spec("mte-v10")
    d = Domain.of(spec)
    agent = build_agent(spec, tmp_path, step_timeout=1)
    copy = next(o for o in d.ops if o.has_buffer)
    n = 200_000
    slow = [CreateVm(), d.prelude()[0], AddMemslot(slot=0, guest_ipa=Val(pages=256), pages=n),
            replace(d.call(copy, {"length": Val(pages=n), "flags": Val(bytes=1)}),
                    buffer=Buffer(Val(pages=n, div=16), Val(pages=n, div=16)))]
    fast = [CreateVm(), *d.prelude(), d.call(copy, {})]
    with AgentVM(resolve_kernel("debian-6.12"), [agent], tmp_path / "console.log") as vm:
        ex = LiveExecutor.start(vm, spec, agent_name(spec))
        cases = [d.case(i, s) for i, s in (("a", fast), ("b", slow), ("c", fast), ("d", fast))]
        obs = ex.execute(cases)
        assert obs["b"].status is ObsStatus.HARNESS and "hang" in obs["b"].notes[0]
        assert all(obs[i].status is ObsStatus.OK and len(obs[i].steps) == 4 for i in "acd")
        j = judge_sequence(spec, mte_v10, cases[1], obs["b"], ex.page_size, Host())
        assert j.status is ExampleStatus.ERROR
        assert ex.stats.hangs == 1
        again = ex.execute([d.case("e", fast)])
        assert again["e"].status is ObsStatus.OK
        ex.stop()
    assert vm.proc.closed
