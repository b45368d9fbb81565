"""A case of an operation whose handler is another architecture's code
(a patch to arch/x86/kvm/x86.c) run on the arm64 kernel kconform boots: the
kernel under test has no such handler, so what it answers is the platform's
doing, not a divergence of the kernel from the patch.  Such a case gets a
platform verdict (skipped, the reason naming both architectures and, when
the vocabulary declares one, what arm64's entry point answers for a
selector it does not handle)."""
from __future__ import annotations

import re
from typing import Optional

from generator.model import Operation, Spec, Verdict
from generator.model.case import Case, StepRole
from generator.model.vocab import Vocabulary, load_vocabulary

TARGET_ARCH = "arm64"                 # the kernels kconform boots (generator.runner.qemu)
_SAME_CODE = {"arm64", "arm"}         # 32-bit arm KVM shared the arm64 code until v5.7


def foreign_arch(op: Operation) -> str:
    """The architecture directory of the operation's handler, when it is not
    the target's (`x86` for arch/x86/kvm/x86.c); "" otherwise."""
    m = re.match(r'arch/([^/]+)/', op.source.path or "")
    return m.group(1) if m and m.group(1) not in _SAME_CODE else ""


def subject_op(spec: Spec, case: Case) -> Optional[Operation]:
    for s in reversed(case.steps):
        if s.role is StepRole.SUBJECT and s.op:
            try:
                return spec.operation(s.op)
            except KeyError:
                return None
    return None


def platform_verdict(spec: Spec, case: Case, r, voc: Optional[Vocabulary] = None) -> None:
    """Turn `r` (a CaseResult) into a platform verdict when its subject's
    handler is another architecture's code and the kernel disagreed with the
    model of that code."""
    op = subject_op(spec, case)
    arch = foreign_arch(op) if op is not None else ""
    if not arch or r.verdict is not Verdict.DIVERGES:
        return
    voc = voc or load_vocabulary()
    ep = voc.entry_point(op.kind.ioctl, op.fd) if op.kind.ioctl else None
    default = ""
    if ep is not None and ep.default is not None:
        d = ep.default
        default = (f"; on {TARGET_ARCH}, {ep.ioctl} of a selector no handler knows returns "
                   f"{d.errno} ({d.file}:{d.line}: {d.where})")
    r.verdict = Verdict.SKIPPED
    r.reason = (f"platform: {op.name} is handled by arch/{arch} code ({op.source.path}), "
                f"which the {TARGET_ARCH} kernel under test does not have: not applicable here, not a "
                f"kernel divergence{default}; observed {r.observed}, the model of the "
                f"{arch} code expects {r.expected}")
