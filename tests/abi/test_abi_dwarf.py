"""The layout engine against the real compilers' DWARF, struct by struct.

Parametrised over the four ABIs and over every aggregate of the KVM uAPI
headers (linux/kvm.h + asm/kvm.h of each ABI's cross include tree) and of
tests/data/abi/layout_cases.h.  The arm rows use the arm64 tree: 32-bit arm
has had no KVM uAPI since Linux 5.7, and what compat userspace would see of
the arm64 structs is the question the checker asks.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import shutil

import pytest

from generator.abi.abis import ABIS, get_abi
from generator.abi.compare import compare_layouts
from generator.abi.headers import Status, check_headers, verify_unit
from generator.abi.layout import TypeEnv
from generator.abi.unit import parse_unit, preprocess_headers

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "abi")
KVM = ("linux/kvm.h", "asm/kvm.h")
CASES = ("layout_cases.h",)

TREES = {
    "arm64": "/usr/aarch64-linux-gnu/include",
    "arm": "/usr/aarch64-linux-gnu/include",
    "x86_64": "/usr/include",
    "i386": "/usr/i686-linux-gnu/include",
}
CONFIGS = [(arch, TREES[arch], KVM) for arch in ABIS] + \
          [(arch, DATA, CASES) for arch in ABIS]


def _missing(arch: str, tree: str, headers) -> str:
    abi = get_abi(arch)
    if not shutil.which(abi.compiler):
        return f"{abi.compiler} not installed (scripts/setup.sh installs it)"
    if not os.path.isdir(tree):
        return f"{tree} not installed (scripts/setup.sh installs it)"
    return ""


def _params():
    out = []
    for arch, tree, headers in CONFIGS:
        why = _missing(arch, tree, headers)
        tag = "kvm" if headers == KVM else "cases"
        if why:
            out.append(pytest.param(arch, tree, headers, "",
                                    marks=pytest.mark.skip(reason=why),
                                    id=f"{arch}-{tag}"))
            continue
        abi = get_abi(arch)
        unit = parse_unit(preprocess_headers(list(headers), tree, abi), tree)
        for name, node, _ in TypeEnv([unit]).aggregates:
            ctype = f"{type(node).__name__.lower()} {name}" if node.name else name
            out.append(pytest.param(arch, tree, headers, ctype,
                                    id=f"{arch}-{tag}-{ctype.replace(' ', '_')}"))
    return out


@functools.lru_cache(maxsize=None)
def _report(arch: str, tree: str, headers: tuple[str, ...]):
    return check_headers(tree, arch, headers)


@pytest.mark.parametrize("arch,tree,headers,ctype", _params())
def test_engine_matches_compiler(arch, tree, headers, ctype):
    report = _report(arch, tree, headers)
    assert not report.errors
    res = next(r for r in report.results if r.name == ctype)
    if res.status is Status.SKIPPED:
        # Only one reason is expected: arm64's 128-bit FP registers have no
        # 32-bit arm type, and both the engine and the compiler refuse them.
        assert get_abi(arch).pointer == 4 and "__uint128_t" in res.reason, res.reason
        return
    assert res.status is Status.MATCHED, "\n".join(map(str, res.mismatches))
    assert res.layout.size == res.compiler_size


@pytest.mark.parametrize("arch", list(ABIS))
def test_kvm_headers_all_checked(arch):
    if _missing(arch, TREES[arch], KVM):
        pytest.skip(_missing(arch, TREES[arch], KVM))
    report = _report(arch, TREES[arch], KVM)
    assert report.ok, report.errors
    assert report.checked >= 100, report.summary()
    assert report.count(Status.MATCHED) == report.checked


def test_compiler_disagreement_is_reported():
    """A deliberately wrong ABI (i386 with 8-aligned __u64) must mismatch."""
    if _missing("i386", DATA, CASES):
        pytest.skip(_missing("i386", DATA, CASES))
    wrong = dataclasses.replace(get_abi("i386"), long_long_align=8)
    unit = parse_unit(preprocess_headers(list(CASES), DATA, wrong), DATA)
    results = {r.name: r for r in verify_unit(unit, wrong, {"struct u32_u64"})}
    res = results["struct u32_u64"]
    assert res.status is Status.MISMATCHED
    texts = [str(m) for m in res.mismatches]
    assert "struct u32_u64.y: offset is 8 in the engine but 4 in i686-linux-gnu-gcc" in texts
    assert "struct u32_u64: size is 16 in the engine but 12 in i686-linux-gnu-gcc" in texts


def test_missing_header_is_an_error_not_a_crash():
    if _missing("arm", "/usr/arm-linux-gnueabihf/include", KVM):
        pytest.skip(_missing("arm", "/usr/arm-linux-gnueabihf/include", KVM))
    report = check_headers("/usr/arm-linux-gnueabihf/include", "arm")
    assert report.results == []
    assert any("linux/kvm.h: header not found" in e for e in report.errors)
    assert not report.ok


def test_compare_names_member_and_both_offsets():
    from generator.abi.layout import MemberLayout, StructLayout
    eng = StructLayout("s", "struct", 16, 8, (MemberLayout("a", "int", 0, 4, 4),
                                              MemberLayout("b", "__u64", 8, 8, 8)))
    cc = StructLayout("s", "struct", 12, 4, (MemberLayout("a", "int", 0, 4, None),
                                             MemberLayout("b", "__u64", 4, 8, None)))
    got = [(m.member, m.what, m.engine, m.truth) for m in compare_layouts(eng, cc)]
    assert got == [("", "size", 16, 12), ("", "align", 8, 4), ("b", "offset", 8, 4)]
