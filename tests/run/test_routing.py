"""Routing cases that need a host profile (generator.run.routing), without a boot."""
from dataclasses import replace
from pathlib import Path

from generator.model import Source
from generator.model.case import AttrRequest, Case, CreateVm, DeviceAttr, Val
from generator.run.pipeline import Prepared, RunReport, SpecPart
from generator.run.routing import merge_routed, profiles_needed
from generator.run.targets import QemuTarget
from generator.runner.qemu import AARCH64
from generator.verdict.crosscheck import CaseResult, Verdict

SRC = Source("m.txt", 1, "", "", "")


def _case(cid, host=""):
    value = Val(host=host) if host else Val(bytes=1)
    return Case(cid, "s", cid, SRC, "", [CreateVm(), DeviceAttr(request=AttrRequest.SET,
                                                               value=value)])


def _result(cid, verdict, reason=""):
    return CaseResult(cid, "s", cid, SRC, None, None, verdict, reason)


def _report(results):
    from generator.report.table import RunFacts
    return RunReport(spec=None, cases=[], results=results, facts=RunFacts())


def test_only_cases_sending_a_profiles_host_value_are_routed(tmp_path):
    spec = object()
    cases = [_case("a"), _case("b", "pmu_type"), _case("c", "pmu_type_other")]
    other = SpecPart(spec, [_case("d")], tmp_path / "bin2", prefix="t:")
    prep = Prepared(spec, cases, tmp_path / "bin", None, tmp_path, tmp_path,
                    parts=[SpecPart(spec, cases, tmp_path / "bin"), other])
    need = profiles_needed(prep)
    assert list(need) == ["two-pmus"] and need["two-pmus"][0].cases is cases
    main = _report([_result("a", Verdict.CONFORMS), _result("b", Verdict.CONFORMS),
                    _result("c", Verdict.SKIPPED, "the host has no second arm PMU"),
                    _result("t:d", Verdict.CONFORMS)])
    routed = {"two-pmus": _report([_result("a", Verdict.DIVERGES),
                                   _result("c", Verdict.CONFORMS)])}
    merged = {r.id: r for r in merge_routed(main, routed, prep).results}
    assert merged["c"].verdict is Verdict.CONFORMS and "two-pmus" in merged["c"].reason
    assert merged["a"].verdict is Verdict.CONFORMS        # not routed: the main run's
    assert merged["t:d"].verdict is Verdict.CONFORMS
    # no result in the profile's run: the main run's skip stays
    merged = {r.id: r for r in merge_routed(main, {"two-pmus": _report([])}, prep).results}
    assert merged["c"].verdict is Verdict.SKIPPED


def test_the_profile_target_keeps_the_kernel(monkeypatch, tmp_path):
    from generator.run import routing
    from generator.runner import dtb
    monkeypatch.setattr(dtb, "profile_dtb", lambda p, c, cache: tmp_path / "x.dtb")
    t = routing.profile_target(QemuTarget("debian-6.12", AARCH64), "two-pmus", tmp_path)
    assert t.kernel == "debian-6.12" and t.config.smp == 2
    assert t.config.dtb == str(tmp_path / "x.dtb")


def test_a_profile_that_cannot_boot_keeps_the_skips(monkeypatch, tmp_path):
    from generator.run import routing
    from generator.runner.dtb import DtbError
    spec = object()
    cases = [_case("c", "pmu_type_other")]
    prep = Prepared(spec, cases, tmp_path / "bin", None, tmp_path, tmp_path)
    main = _report([_result("c", Verdict.SKIPPED, "the host has no second arm PMU")])
    monkeypatch.setattr(routing, "run_target", lambda *a, **k: main)

    def no_dtc(*a, **k):
        raise DtbError("'fdtget' not found")
    monkeypatch.setattr(routing, "profile_target", no_dtc)
    report = routing.run_routed(prep, None, None, out=tmp_path, cache=tmp_path)
    assert report.results[0].verdict is Verdict.SKIPPED
    assert "fdtget" in report.facts.extra["host_profiles"]["two-pmus"]["error"]
