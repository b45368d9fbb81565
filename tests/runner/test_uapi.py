"""Names bound with the uAPI headers of the kernel under test (runner.uapi)."""
from __future__ import annotations

from pathlib import Path

import pytest

from generator.model.specio import load_spec
from generator.render.c import CapBinding, render_c
from generator.plan import plan
from generator.runner import uapi
from generator.runner.errors import KernelError

ROOT = Path(__file__).resolve().parents[2]
MTE = load_spec(ROOT / "specs" / "mte-v10.yaml")
KVM_H = """#ifndef __LINUX_KVM_H
#define KVM_CAP_SET_GUEST_DEBUG2 195
#define KVM_CAP_ARM_MTE 205
#define KVMIO 0xAE
#define KVM_ARM_MTE_COPY_TAGS	  _IOR(KVMIO,  0xb4, struct kvm_arm_copy_mte_tags)
#endif
"""


def _tree(tmp_path: Path, rel: str, text: str = KVM_H) -> Path:
    p = tmp_path / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return tmp_path


def test_debian_headers_package_name():
    assert uapi.debian_headers_package("6.12.117+deb12-arm64") == "linux-headers-6.12.117+deb12-common"
    assert uapi.debian_headers_package("6.12.117+deb12-arm64-16k") == "linux-headers-6.12.117+deb12-common"
    assert uapi.debian_headers_package("6.1.0-57-arm64") == "linux-headers-6.1.0-57-common"


def test_renumbered_says_what_the_posted_number_is(tmp_path):
    h = uapi.from_source_tree(_tree(tmp_path, "include/uapi/linux/kvm.h"))
    assert h.source is uapi.HeaderSource.KERNEL_SRC and h.caps["KVM_CAP_ARM_MTE"] == (205, 3)
    [r] = uapi.renumbered(MTE, h)
    assert (r.name, r.posted, r.kernel, r.posted_means) == ("KVM_CAP_ARM_MTE", 195, 205,
                                                           ["KVM_CAP_SET_GUEST_DEBUG2"])
    assert r.text().startswith("renumbered: KVM_CAP_ARM_MTE posted 195, kernel has 205; "
                               "on this kernel 195 is KVM_CAP_SET_GUEST_DEBUG2")
    assert h.ioctls["KVM_ARM_MTE_COPY_TAGS"].nr == 0xb4


def test_headers_dir_forms_and_bad_dirs(tmp_path):
    d = _tree(tmp_path / "a", "include/linux/kvm.h")
    assert uapi.from_headers_dir(d).source is uapi.HeaderSource.KERNEL_HEADERS
    with pytest.raises(KernelError, match="no linux/kvm.h under it"):
        uapi.from_headers_dir(tmp_path / "empty")
    with pytest.raises(KernelError, match="no include/uapi/linux/kvm.h"):
        uapi.from_source_tree(tmp_path / "empty")
    bad = _tree(tmp_path / "b", "include/uapi/linux/kvm.h", "not a header\n")
    with pytest.raises(KernelError, match="no `#define KVM_CAP_"):
        uapi.from_source_tree(bad)


def test_c_binds_with_the_kernel_numbers():
    text = render_c(MTE, plan(MTE), CapBinding.HEADER, kernel_caps={"KVM_CAP_ARM_MTE": 205})
    assert "#define KCONFORM_KVM_CAP_ARM_MTE\t205\n" in text
    assert '"header(kernel)"' in text and "#ifdef KVM_CAP_ARM_MTE" not in text
    lock = load_spec(ROOT / "specs" / "lock-memslot-rfc-v5.yaml")
    text = render_c(lock, plan(lock), CapBinding.HEADER, kernel_caps={"KVM_CAP_ARM_MTE": 205})
    assert "#define KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION\t207\n" in text
    assert '"patch(not-in-header)"' in text


def test_the_cached_debian_612_headers_have_mte_at_205():
    from generator.runner.kernels import cache_root
    found = sorted(cache_root().glob("unpacked/linux-headers-6.12.*-common_*/usr/src/"
                                     "linux-headers-*-common/include/uapi/linux/kvm.h"))
    if not found:
        pytest.skip("linux-headers-6.12 common not in the cache (fetched by the first run)")
    h = uapi.UapiHeaders.read(uapi.HeaderSource.DEBIAN, found[-1], found[-1].parts[-5])
    assert h.caps["KVM_CAP_ARM_MTE"][0] == 205 and h.cap_named(195) == ["KVM_CAP_SET_GUEST_DEBUG2"]


def test_a_posted_number_another_capability_answers_is_never_a_pass(tmp_path):
    """nisv v2: KVM_CAP_ARM_INJECT_EXT_DABT posted 177; on 6.12 that is
    KVM_CAP_ARM_NISV_TO_USER, which also answers 1 -- a false positive the
    cap.number row must not report as conforming."""
    from types import SimpleNamespace

    from generator.model import Source, Verdict
    from generator.report.table import RunFacts
    from generator.run.pipeline import _uapi_facts
    from generator.verdict.crosscheck import CaseResult, Expect
    spec = load_spec(ROOT / "specs" / "mte-v10.yaml")
    h = uapi.from_source_tree(_tree(tmp_path, "include/uapi/linux/kvm.h"))
    ok = CaseResult("cap.number", spec.name, "cap_number", Source("s", 1), Expect(1, None),
                    Expect(1, None), Verdict.CONFORMS)
    facts = RunFacts()
    prep = SimpleNamespace(uapi=h, uapi_note="", parts=[SimpleNamespace(spec=spec)])
    _uapi_facts(prep, facts, [ok])
    assert ok.verdict is Verdict.DIVERGES
    assert "195 is KVM_CAP_SET_GUEST_DEBUG2" in ok.reason and "renumbered: posted 195" in ok.reason
    assert facts.extra["uapi"]["renumbered"]["mte-v10"][0]["kernel"] == 205
    assert facts.extra["uapi"]["source"] == "kernel-src"


def test_an_ioctl_the_kernel_renumbers_is_bound_by_name():
    text = render_c(MTE, plan(MTE), CapBinding.HEADER, kernel_ioctls={"KVM_ARM_MTE_COPY_TAGS": 0xb5})
    assert "\t_IOR(0xae, 0xb5, " in text and "\t_IOR(0xae, 0xb4, " not in text
    assert "renumbered: posted nr 0xb4" in text
    same = render_c(MTE, plan(MTE), CapBinding.HEADER, kernel_ioctls={"KVM_ARM_MTE_COPY_TAGS": 0xb4})
    assert same == render_c(MTE, plan(MTE), CapBinding.HEADER)       # same number: unchanged
    patch = render_c(MTE, plan(MTE), CapBinding.PATCH, kernel_ioctls={"KVM_ARM_MTE_COPY_TAGS": 0xb5})
    assert "renumbered" not in patch                                 # --cap-binding patch


def test_a_capability_the_kernel_does_not_define_is_skipped_not_a_divergence(tmp_path):
    """A posted capability the kernel under test's headers do not name (the
    series is not in that kernel): KVM_CHECK_EXTENSION answering 0 there is
    the capability's absence, reported as skipped with the reason; one the
    headers define that answers 0 still diverges."""
    import copy
    from types import SimpleNamespace

    from generator.model import Source, Verdict
    from generator.model.case import Case, CheckExtension
    from generator.model.spec import Capability
    from generator.report.table import RunFacts
    from generator.run.pipeline import _uapi_facts
    from generator.verdict.crosscheck import CaseResult, Expect
    spec = copy.deepcopy(MTE)
    spec.capabilities.append(Capability("KVM_CAP_ARM_WIDGET", 240, Source("w.txt", 9)))
    h = uapi.from_source_tree(_tree(tmp_path, "include/uapi/linux/kvm.h"))

    def row(cid, cap, ret):
        case = Case(cid, spec.name, "success", Source("w.txt", 9), "", [CheckExtension(cap=cap)])
        r = CaseResult(cid, spec.name, "success", Source("w.txt", 9), Expect(1, None),
                       Expect(ret, None), Verdict.DIVERGES, reason="step 0: expected ret=1",
                       step=0)
        return case, r

    absent, known, answered = (row("a", "KVM_CAP_ARM_WIDGET", 0), row("b", "KVM_CAP_ARM_MTE", 0),
                               row("c", "KVM_CAP_ARM_WIDGET", 2))
    part = SimpleNamespace(spec=spec, cases=[absent[0], known[0], answered[0]],
                           qualify=lambda i: i)
    prep = SimpleNamespace(uapi=h, uapi_note="", parts=[part])
    _uapi_facts(prep, RunFacts(), [absent[1], known[1], answered[1]])
    assert absent[1].verdict is Verdict.SKIPPED
    assert absent[1].reason.startswith("KVM_CAP_ARM_WIDGET (240) is not in the kernel under test")
    assert "was: step 0: expected ret=1" in absent[1].reason
    assert known[1].verdict is Verdict.DIVERGES       # the kernel has it and answers 0
    assert answered[1].verdict is Verdict.DIVERGES    # an answer other than 0 is the kernel's


def test_a_call_of_an_ioctl_the_kernel_does_not_define_is_skipped_whatever_it_saw(tmp_path):
    """The patch's ioctl is not in the kernel under test's headers: the
    kernel answers it as an unknown ioctl, so a case that matched the
    patch's errno (an EINVAL check) is no pass and one that did not is no
    divergence; a case calling an ioctl the headers define keeps its
    verdict."""
    import copy
    from types import SimpleNamespace

    from generator.model import IocDir, Source, Verdict
    from generator.model.case import Case, CreateVm, StepRole, VmIoctl
    from generator.model.spec import Ioctl
    from generator.report.table import RunFacts
    from generator.run.pipeline import _uapi_facts
    from generator.verdict.crosscheck import CaseResult, Expect
    spec = copy.deepcopy(MTE)
    spec.ioctls.append(Ioctl("KVM_ARM_SET_WIDGET", IocDir.WRITE, "KVMIO", 0xAE, 0xd7,
                             "struct kvm_arm_widget", 8, 0, Source("w.txt", 3)))
    h = uapi.from_source_tree(_tree(tmp_path, "include/uapi/linux/kvm.h"))

    def row(cid, ioctl, verdict):
        case = Case(cid, spec.name, "c", Source("w.txt", 9), "",
                    [CreateVm(), VmIoctl(StepRole.SUBJECT, op=ioctl)])
        r = CaseResult(cid, spec.name, "c", Source("w.txt", 9), Expect(-1, "EINVAL"),
                       Expect(-1, "EINVAL"), verdict, step=1)
        return case, r

    passed, diverged, known = (row("a", "KVM_ARM_SET_WIDGET", Verdict.CONFORMS),
                               row("b", "KVM_ARM_SET_WIDGET", Verdict.DIVERGES),
                               row("c", "KVM_ARM_MTE_COPY_TAGS", Verdict.DIVERGES))
    part = SimpleNamespace(spec=spec, cases=[passed[0], diverged[0], known[0]],
                           qualify=lambda i: i)
    prep = SimpleNamespace(uapi=h, uapi_note="", parts=[part])
    _uapi_facts(prep, RunFacts(), [passed[1], diverged[1], known[1]])
    assert passed[1].verdict is Verdict.SKIPPED and diverged[1].verdict is Verdict.SKIPPED
    assert passed[1].reason.startswith("KVM_ARM_SET_WIDGET (nr 0xd7) is not in the kernel "
                                       "under test")
    assert "(would be conforms: as expected)" in passed[1].reason
    assert known[1].verdict is Verdict.DIVERGES
