"""Which architecture's kernel runs each case, and the second target's run.

kconform boots arm64 (the kernel of every arm64 case) and, for a case whose
subject operation is another architecture's code (a patch to
arch/x86/kvm/x86.c), that architecture's kernel (runner.arch: x86_64), so
the case is judged on a kernel that has the handler instead of being a
platform skip.

1. `route` (prepare): each planned case goes to the target of its subject
   operation's `arch/<dir>` when that target is enabled (`--arch`), else to
   arm64 (where generator.verdict.platform makes it a platform skip).  A
   case routed away that needs a facility the other target lacks (an arm64
   guest, KVM_{GET,SET}_ONE_REG of arm64 registers, vCPU features of
   KVM_ARM_VCPU_INIT) is `untested` with that reason, never dropped.
2. `pipeline.build_elsewhere` (prepare): one `Prepared` per other
   architecture with its cases, built by that architecture's compiler
   (runner.arch).
3. `run_elsewhere` (run_target): each other architecture's binaries run on
   QEMU booting the same kernel alias for that architecture; where that
   target cannot run (no emulator, no such kernel, a user-built kernel,
   a remote arm64 machine, a boot that never reached /init) its cases are
   `skipped (platform)` with the reason.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

from generator.errors import KconformError
from generator.model import Spec, Verdict
from generator.model.case import Case, Gap, StepKind, StepRole, Untested
from generator.runner.arch import ARCHES, ARM64, TargetArch, for_kernel_dir, target_arch
from generator.verdict.platform import subject_op

#: step kinds whose C exists for an arm64 kernel only (templates: guest code, ONE_REG)
ARM64_STEPS = {
    StepKind.VCPU_START: "an arm64 guest vCPU (the guest runtime is arm64 code)",
    StepKind.GUEST: "a command of the arm64 guest runtime",
    StepKind.GUEST_EXIT: "an exit made by the arm64 guest runtime",
    StepKind.RUN_FIELD: "a kvm_run field after the arm64 guest's exit",
    StepKind.VCPU_IN_RUN: "a vCPU inside KVM_RUN of the arm64 guest",
    StepKind.GET_ONE_REG: "KVM_GET_ONE_REG of an arm64 register id",
    StepKind.SET_ONE_REG: "KVM_SET_ONE_REG of an arm64 register id",
    StepKind.REG_LIST: "KVM_GET_REG_LIST of arm64 register ids",
}


def enabled(names: Optional[Sequence[str]]) -> tuple[TargetArch, ...]:
    """The architectures a run may boot: `names` (--arch), or all.  arm64
    is the target of every case that is not another architecture's code,
    so it cannot be left out."""
    if names is None:
        return tuple(ARCHES.values())
    chosen = tuple(dict.fromkeys(target_arch(n) for n in names))
    if ARM64 not in chosen:
        raise KconformError(f"--arch {','.join(names)}: arm64 runs every case that is not "
                            "another architecture's code and cannot be left out; give "
                            f"--arch arm64 (only arm64) or --arch {','.join(ARCHES)}")
    return chosen


def subject_arch(spec: Spec, case: Case) -> str:
    """The `arch/<dir>` of the case's subject operation ("" for generic code)."""
    op = subject_op(spec, case)
    return (op.arch or "") if op is not None else ""


def needs_arm64(case: Case) -> str:
    """What the case needs that only an arm64 kernel and runtime give ("" if nothing)."""
    for s in case.steps:
        if s.kind in ARM64_STEPS:
            return ARM64_STEPS[s.kind]
        if s.kind is StepKind.CREATE_VCPU and getattr(s, "features", ()):
            return ("KVM_ARM_VCPU_INIT with vCPU feature(s) "
                    + " ".join(n for n, _ in s.features))
    return ""


def route(spec: Spec, cases: list[Case], arches: Sequence[TargetArch]
          ) -> tuple[dict[str, list[Case]], list[Untested]]:
    """arch name -> the cases its target runs, and an `Untested` per case
    routed to a target that lacks a facility it needs."""
    out: dict[str, list[Case]] = {}
    gaps: list[Untested] = []
    for case in cases:
        target = for_kernel_dir(subject_arch(spec, case)) or ARM64
        if target not in arches:
            target = ARM64
        lack = needs_arm64(case) if target is not ARM64 else ""
        if lack:
            op = next((s.op for s in reversed(case.steps) if s.role is StepRole.SUBJECT), "")
            why = (f"case {case.id} is {target.kernel_dir} code, run on the {target.name} "
                   f"kernel, but needs {lack}")
            for check in (case.violates or [case.clause]):
                gaps.append(Untested(spec.name, op, check, case.source, Gap.TARGET_ARCH,
                                     why, case=case.id))
            continue
        out.setdefault(target.name, []).append(case)
    return out, gaps


def target_of(target, arch: TargetArch):
    """The target running `arch`'s cases beside `target` (arm64's), or why
    there is none."""
    from generator.run.targets import QemuTarget
    if not isinstance(target, QemuTarget):
        return f"the tests run on {getattr(target, 'label', 'an arm64 machine')}, an arm64 machine"
    if shutil.which(arch.qemu.binary) is None:
        return (f"{arch.qemu.binary} is not installed (apt-get install -t bookworm-backports "
                f"{arch.qemu_package}, or scripts/setup.sh)")
    from generator.runner.kernels import _looks_like_path
    if _looks_like_path(target.kernel):
        return f"{target.kernel} is a kernel image for arm64; no {arch.name} kernel was named"
    # no saved guest for this architecture (runner.arch: snapshots): boot
    return QemuTarget(target.kernel, arch.qemu, restore=arch.snapshots and target.restore)


def skipped(prep, arch: TargetArch, why: str) -> list:
    """Every case of `prep` as a platform skip: its target cannot run."""
    from generator.verdict.crosscheck import CaseResult
    out = []
    for part in prep.parts:
        for c in part.cases:
            out.append(CaseResult(part.qualify(c.id), c.spec, c.clause, c.source, None, None,
                                  Verdict.SKIPPED,
                                  f"platform: {arch.kernel_dir} code, to be run on the "
                                  f"{arch.name} kernel, which cannot run here: {why}",
                                  target=arch.name))
    return out


def run_elsewhere(prep, target, req, run_target, *, out: Path, on_event=None,
                  cancel=None) -> list[dict]:
    """Run each other architecture's `Prepared` beside `target` with
    `run_target` (pipeline's): one entry per architecture with its
    `results`, its `cases` (report ids), `facts` and `report` (None when it
    could not run)."""
    from generator.runner.run import RunStatus
    done = []
    for name, other in prep.others.items():
        arch = target_arch(name)
        sub = other.cannot_run or target_of(target, arch)
        entry = {"arch": name, "cases": other.all_cases, "report": None}
        if isinstance(sub, str):
            entry.update(results=skipped(other, arch, sub), facts={"state": "not run",
                                                                  "why": sub})
            done.append(entry)
            continue
        try:
            report = run_target(other, sub, req, out=Path(out) / arch.name,
                                on_event=on_event, cancel=cancel)
        except KconformError as e:
            why = str(e).splitlines()[0]
            entry.update(results=skipped(other, arch, why),
                         facts={"state": "not run", "why": why, **sub.facts()})
            done.append(entry)
            continue
        o = report.outcome
        facts = {"state": o.status.value if o else "not run", **sub.facts(),
                 "kernel_release": report.facts.kernel_release,
                 "emulator": f"{report.facts.emulator_name} {report.facts.emulator_version}",
                 "log": str(o.log_path) if o and o.log_path else None,
                 "seconds": round(report.timings.get("total", 0.0), 1)}
        if report.broke:
            facts["broke"] = report.broke
        if o is not None and o.status is RunStatus.BOOT_FAILED:
            why = f"the {arch.name} kernel never reached /init ({(report.broke or '').splitlines()[0]})"
            entry.update(results=skipped(other, arch, why), facts=facts)
        else:
            entry.update(results=report.results, facts=facts)
        entry["report"] = report
        done.append(entry)
    return done
