"""A case of an operation whose handler is another architecture's code
(a patch to arch/x86/kvm/x86.c) run on the arm64 kernel kconform boots (it
runs on the x86_64 target instead unless that is left out, `--arch arm64`:
generator.run.arches; crosscheck's `arch` is the target's): the
kernel under test has no such handler, so what it answers is the platform's
doing, not a divergence of the kernel from the patch.  Such a case gets a
platform verdict (skipped, the reason naming both architectures and, when
the vocabulary declares one, what arm64's entry point answers for a
selector it does not handle)."""
from __future__ import annotations

from typing import Optional

from generator.model import Operation, Spec, Verdict
from generator.model.case import Case, StepRole
from generator.model.vocab import Vocabulary, load_vocabulary

TARGET_ARCH = "arm64"                 # the kernels kconform boots (generator.runner.qemu)
_SAME_CODE = {"arm64", "arm"}         # 32-bit arm KVM shared the arm64 code until v5.7


def foreign_arch(op: Operation, target: str = TARGET_ARCH) -> str:
    """The architecture directory of the operation's handler, when it is not
    the target's (`x86` for arch/x86/kvm/x86.c); "" otherwise."""
    same = _SAME_CODE if target in _SAME_CODE else {target}
    return op.arch if op.arch and op.arch not in same else ""


def subject_op(spec: Spec, case: Case) -> Optional[Operation]:
    for s in reversed(case.steps):
        if s.role is StepRole.SUBJECT and s.op:
            try:
                return spec.operation(s.op)
            except KeyError:
                return None
    return None


def platform_verdict(spec: Spec, case: Case, r, voc: Optional[Vocabulary] = None,
                     target: str = TARGET_ARCH) -> None:
    """Turn `r` (a CaseResult) into a platform verdict when its subject's
    handler is another architecture's code: a divergence is the platform's
    doing, and an agreement an accident (arm64 refusing an unknown
    capability with the EINVAL the x86 code gives for bad flags), so
    neither is the kernel's verdict; a case skipped for another reason
    says so too.  The capability-number probe is about the uAPI headers
    every architecture shares: it keeps its verdict."""
    op = subject_op(spec, case)
    arch = foreign_arch(op, target) if op is not None else ""
    # a case breaking only the generic entry code (the copy in virt/kvm) is
    # the kernel's verdict: every architecture's kernel runs that code
    if not arch or case.clause == "cap_number" \
            or op.entry_checks_only(case.violates):
        return
    if r.verdict is Verdict.SKIPPED:
        r.reason = (f"{r.reason} (platform: {op.name} is handled by arch/{arch} code, "
                    f"which the {target} kernel under test does not have)")
        return
    if r.verdict not in (Verdict.DIVERGES, Verdict.CONFORMS):
        return
    voc = voc or load_vocabulary()
    ep = voc.entry_point(op.kind.ioctl, op.fd) if op.kind.ioctl else None
    default = ""
    if ep is not None and ep.default is not None:
        d = ep.default
        default = (f"; on {target}, {ep.ioctl} of a selector no handler knows returns "
                   f"{d.errno or d.returns} ({d.file}:{d.line}: {d.where})")
    agreed = r.verdict is Verdict.CONFORMS
    r.verdict, r.decided_by = Verdict.SKIPPED, None
    r.reason = (f"platform: {op.name} is handled by arch/{arch} code ({op.source.path}), "
                f"which the {target} kernel under test does not have: not applicable here, "
                f"{'an agreement by accident, not a pass' if agreed else 'not a kernel divergence'}"
                f"{default}; observed {r.observed}, the model of the {arch} code expects "
                f"{r.expected}")
