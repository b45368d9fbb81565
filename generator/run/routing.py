"""Cases that need a host profile, run on a host booted with it.

A case whose steps send a host value only a host profile has (a second
host PMU: generator.model.case.HOST_VALUE_PROFILES, Case.host_profile) is
skipped on QEMU's own board by the C runtime, naming the profile.  The
routing here runs, after the main run, the specs holding such cases once
more per profile on a QemuTarget booted with that profile's
configuration (generator.runner.dtb.profile_config: its vCPUs and device
tree; its own saved guest, SnapshotKey.dtb), and takes each such case's
result from that run.  Every other case keeps its main-run result.

Phases:
  1. :func:`profiles_needed` -- profile -> the spec parts with a case needing it;
  2. :func:`profile_target` -- the target of one profile for the main target's kernel;
  3. :func:`run_routed` -- the main run, one run per profile (the binaries
     already built), and :func:`merge_routed` of their results.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Optional

from generator.run.pipeline import Prepared, RunReport, RunRequest, SpecPart, run_target


def profiles_needed(prep: Prepared) -> dict[str, list[SpecPart]]:
    """Host profile -> the parts (specs) of the run with a case needing it."""
    out: dict[str, list[SpecPart]] = {}
    for part in prep.parts:
        if part.binary is None:
            continue
        for name in sorted({c.host_profile() for c in part.cases} - {""}):
            out.setdefault(name, []).append(part)
    return out


def profile_target(target, profile: str, cache: Path):
    """The QEMU target booting `target`'s kernel with host profile `profile`."""
    from generator.run.targets import QemuTarget
    from generator.runner.dtb import profile_config
    if not isinstance(target, QemuTarget):
        raise TypeError(f"host profile {profile} needs a QEMU target, not {target!r}")
    return QemuTarget(target.kernel, profile_config(profile, cache, base=target.config),
                      target.image, target.restore)


def merge_routed(main: RunReport, routed: dict[str, RunReport], prep: Prepared) -> RunReport:
    """`main` with each case that needs a profile given its result in that
    profile's run (the reason names the profile); a case that profile's
    run has no result for keeps the main run's (its skip says why)."""
    need = {part.qualify(c.id): c.host_profile() for part in prep.parts for c in part.cases
            if c.host_profile()}
    by_profile = {p: {r.id: r for r in rep.results} for p, rep in routed.items()}
    results = []
    for r in main.results:
        profile = need.get(r.id)
        other = by_profile.get(profile, {}).get(r.id) if profile else None
        if other is not None:
            note = f"on host profile {profile}"
            r = dataclasses.replace(other, reason=f"{other.reason}; {note}" if other.reason
                                    else note)
        results.append(r)
    report = dataclasses.replace(main, results=results)
    report.facts.extra["host_profiles"] = {
        p: {"cases": sorted(i for i, q in need.items() if q == p),
            "log": rep.facts.extra.get("log"), "broke": rep.broke,
            "boot": rep.timings.get("boot"), "execute": rep.timings.get("execute")}
        for p, rep in routed.items()}
    return report


def run_routed(prep: Prepared, target, req: RunRequest, *, out: Path, cache: Path,
               on_event: Optional[Callable] = None) -> RunReport:
    """The main run on `target`, then one run per host profile some case
    needs (only the specs holding such cases), merged (merge_routed)."""
    from generator.runner.errors import RunnerError
    main = run_target(prep, target, req, out=out, on_event=on_event)
    routed, failed = {}, {}
    for profile, parts in profiles_needed(prep).items():
        sub = dataclasses.replace(prep, spec=parts[0].spec, cases=parts[0].cases,
                                  binary=parts[0].binary, parts=parts, probe=None)
        where = Path(out) / f"profile-{profile}"
        where.mkdir(parents=True, exist_ok=True)
        try:
            routed[profile] = run_target(sub, profile_target(target, profile, cache), req,
                                         out=where, on_event=on_event)
        except RunnerError as e:         # no dtc, QEMU refused the tree: the skips stay
            failed[profile] = str(e)
    report = merge_routed(main, routed, prep) if routed else main
    if failed:
        report.facts.extra.setdefault("host_profiles", {}).update(
            {p: {"error": why} for p, why in failed.items()})
    return report
