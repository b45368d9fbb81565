"""Cases that run on another host: the host profiles of a run.

A case planned with lever host_lacks_feature names the host profile it
needs (`Case.host`, specs/host-features.yaml): a host without a feature the
default QEMU host has; so does a case sending a host value only a profile
gives (a second host PMU: profile two-pmus, a feature it adds).  A run gives those cases their own test binary per
profile (`split_by_host`), boots each profile once more after the default
boot (`run_profile`: the QEMU target with the profile's -cpu / -M / -smp
and device tree, a variant of its QemuConfig: runner.qemu.for_profile) and judges them with a reference host that
lacks the profile's features (`host_for`).  A target that is not QEMU (this
machine, an ssh host: real hardware) cannot become another CPU, and a
profile that does not boot runs nothing: their cases are `untested` with
the reason (`untested_rows`), never dropped.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from generator.model import Verdict
from generator.model.case import Case, Gap
from generator.model.hostfeatures import DEFAULT_PROFILE, Profile, registry
from generator.verdict.crosscheck import CaseResult


def split_by_host(cases: list[Case]) -> tuple[list[Case], dict[str, list[Case]]]:
    """(the default host's cases, {profile: its cases}) in plan order."""
    default, hosted = [], {}
    for c in cases:
        if c.host and c.host != DEFAULT_PROFILE:
            hosted.setdefault(c.host, []).append(c)
        else:
            default.append(c)
    return default, hosted


def profile(name: str) -> Profile:
    return registry().profile(name)


@dataclass
class ProfileRun:
    """What one extra host profile's boot gave: its outcome, or why it has none."""
    profile: Profile
    outcome: Optional[object] = None      # runner.run.RunOutcome
    reason: str = ""                      # why its cases are untested ("" when they ran)
    config: Optional[object] = None       # the QemuConfig it booted

    def facts(self, cases: int) -> dict:
        o = self.outcome
        out = {"meaning": self.profile.meaning, "lacks": sorted(self.profile.lacks),
               "cases": cases}
        if self.profile.adds:
            out["adds"] = sorted(self.profile.adds)
        if self.config is not None:
            out.update(cpu=self.config.cpu, machine=self.config.machine)
            if self.profile.smp or self.config.dtb:
                out.update(smp=self.config.smp, dtb=self.config.dtb or None)
        if o is not None:
            out.update(status=o.status.value, log=str(o.log_path) if o.log_path else None,
                       broke=o.broke, boot=o.timings.boot, execute=o.timings.execute,
                       guest=o.start.value if getattr(o, "start", None) is not None else None)
        if self.reason:
            out["untested"] = self.reason
        return out


def run_profile(name: str, target, binaries: list[Path], *, run: Callable,
                on_event=None) -> ProfileRun:
    """Boot `target` as host profile `name` and run `binaries` there.
    `run(target)` runs the binaries on a target and returns its outcome
    (pipeline.run_target's call, with the per-test and whole-run timeouts
    and the profile's own log).  A target without a QemuConfig (real
    hardware) and a boot that fails give the reason instead."""
    from generator.runner.errors import RunnerError
    from generator.runner.qemu import for_profile
    from generator.runner.run import EventKind, RunEvent, RunStatus
    prof = profile(name)
    config = getattr(target, "config", None)
    if config is None:
        return ProfileRun(prof, reason=(
            f"host profile {name} ({prof.meaning}) is an emulated host, but the target "
            f"{getattr(target, 'label', target)} runs on its own CPU: QEMU "
            f"({prof.settings}) is needed"))
    try:                                  # a device tree that cannot be built: no dtc
        variant = for_profile(config, prof)
    except RunnerError as e:
        return ProfileRun(prof, reason=f"host profile {name} ({prof.settings}) could not "
                          f"be built: {str(e).splitlines()[0]}")
    if on_event is not None:
        on_event(RunEvent(EventKind.BOOTING, f"host profile {name}: {prof.settings} "
                          f"({prof.meaning})"))
    try:
        outcome = run(dataclasses.replace(target, config=variant))
    except RunnerError as e:
        return ProfileRun(prof, reason=f"host profile {name} ({prof.settings}) could not "
                          f"run: {str(e).splitlines()[0]}", config=variant)
    if outcome.status is RunStatus.BOOT_FAILED:
        first = (outcome.broke or "it did not boot").splitlines()[0]
        return ProfileRun(prof, outcome, f"host profile {name} ({prof.settings}) did not "
                          f"boot: {first}", config=variant)
    return ProfileRun(prof, outcome, config=variant)


def host_for(prof: Profile, platform_mte: bool):
    """The reference's host for a profile: without its features, and
    without MTE when the platform check saw none."""
    from reference.vmstate import Host
    return Host.lacking(prof.lacks, mte=platform_mte and "mte" not in prof.lacks)


def untested_rows(cases: list[Case], reason: str, prefix: str = "") -> list[CaseResult]:
    """One `untested` row per case a host profile could not run."""
    return [CaseResult(prefix + c.id, c.spec, c.clause, c.source, None, None,
                       Verdict.UNTESTED, f"{Gap.HOST_ONLY.value}: {reason}", host=c.host)
            for c in cases]


def mark(results: list[CaseResult], name: str) -> list[CaseResult]:
    """The rows of a profile's cases, saying the host they were observed on."""
    for r in results:
        r.host = name
        if r.verdict is not Verdict.UNTESTED:
            note = f"observed on host profile {name} ({profile(name).settings})"
            r.reason = f"{r.reason}; {note}" if r.reason else note
    return results
