"""An operation whose handler is another architecture's code, run on the
arm64 kernel: the kernel's answer is a platform verdict naming both
architectures, never a kernel divergence; arm64's own operations are judged
as before."""
from __future__ import annotations

from pathlib import Path

import pytest

from generator.extract import extract_spec
from generator.model import Verdict
from generator.plan import plan
from generator.verdict.crosscheck import CaseResult, Expect
from generator.verdict.platform import foreign_arch, platform_verdict

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"


@pytest.fixture(scope="module")
def x86():
    return extract_spec(CORPUS / "x86-nx-huge-pages-v6-08.txt", "nx-huge-pages-v6")


def _diverged(case) -> CaseResult:
    return CaseResult(case.id, case.spec, case.clause, case.source, Expect(1, None, None),
                      Expect(0, None, None), Verdict.DIVERGES, "step 1: expected 1")


def test_an_x86_handler_is_a_platform_verdict_on_arm64(x86):
    op = x86.operation("KVM_CHECK_EXTENSION(KVM_CAP_VM_DISABLE_NX_HUGE_PAGES)")
    assert foreign_arch(op) == "x86"
    case = next(c for c in plan(x86) if c.id.startswith("check_extension."))
    r = _diverged(case)
    platform_verdict(x86, case, r)
    assert r.verdict is Verdict.SKIPPED
    assert r.reason.startswith("platform: ") and "arch/x86" in r.reason and "arm64" in r.reason
    assert "not a kernel divergence" in r.reason


def test_the_enable_cap_reason_names_arm64s_default(x86):
    case = next(c for c in plan(x86) if c.id == "enable_cap.valid")
    r = _diverged(case)
    platform_verdict(x86, case, r)
    assert r.verdict is Verdict.SKIPPED and "returns EINVAL (vocabulary.yaml:" in r.reason


def test_an_arm64_handler_still_diverges():
    spec = extract_spec(CORPUS / "nisv-v3-01.txt", "nisv")
    case = next(c for c in plan(spec) if c.id.startswith("check_extension."))
    assert not foreign_arch(spec.operation(case.steps[-1].op))
    r = _diverged(case)
    platform_verdict(spec, case, r)
    assert r.verdict is Verdict.DIVERGES and r.reason == "step 1: expected 1"


def test_a_generic_entry_check_of_an_x86_operation_keeps_its_verdict(x86):
    """The copy of struct kvm_enable_cap is virt/kvm/kvm_main.c's, run on arm64
    too: its case is the kernel's verdict, the x86 handler's checks are not."""
    copy = next(c for c in plan(x86) if c.violates == ["cap_copy_faults"])
    r = _diverged(copy)
    platform_verdict(x86, copy, r)
    assert r.verdict is Verdict.DIVERGES
    flags = next(c for c in plan(x86) if c.violates == ["flags_nonzero"])
    r = _diverged(flags)
    platform_verdict(x86, flags, r)
    assert r.verdict is Verdict.SKIPPED
