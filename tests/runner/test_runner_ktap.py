"""KTAP parser, on test output captured from real boots (tests/data/runner)
and on small inline documents."""

from pathlib import Path

import pytest

from generator.runner.initramfs import MarkerKind, Markers
from generator.runner.ktap import KtapStatus, parse_ktap, split_kernel_noise

DATA = Path(__file__).parents[1] / "data" / "runner"


def segment(log: str, test: str) -> list[str]:
    """Console lines of one test in a captured log, between its markers."""
    lines = (DATA / log).read_text().splitlines()
    markers = Markers.find_in(lines)
    out, inside = [], False
    for line in lines:
        mk = markers.parse(line)
        if mk and mk.kind is MarkerKind.BEGIN and mk.name == test:
            inside = True
        elif mk and mk.kind is MarkerKind.END and mk.name == test:
            return out
        elif inside:
            out.append(line)
    if inside:
        return out
    raise AssertionError(f"{test} not in {log}")


def test_platform_check_all_pass_with_facts():
    doc = parse_ktap(segment("qemu10-complete.log", "platform_mte"))
    assert doc.version == "KTAP version 1"
    assert doc.plan == 5 and doc.complete and not doc.problems
    assert [r.name for r in doc.results] == [
        "userspace_mte_distinct_tags", "userspace_mte_uniform_tags",
        "kvm_cap_arm_mte", "kvm_mte_copy_tags_distinct",
        "kvm_mte_copy_tags_uniform"]
    assert all(r.status is KtapStatus.PASS for r in doc.results)
    assert "fact btf_vmlinux=1" in doc.results[0].diagnostics
    assert doc.by_name("kvm_cap_arm_mte").diagnostics[-1] == \
        "fact kvm_cap_arm_mte=1"


def test_skip_directive_and_reason():
    doc = parse_ktap(segment("qemu10-complete.log", "hello_ktap"))
    skip = doc.by_name("needs_feature_x")
    assert skip.status is KtapStatus.SKIP
    assert skip.directive == "SKIP"
    assert skip.reason == "feature x is not present"
    assert skip.ok
    assert doc.results[0].diagnostics == ["release 6.12.117+deb12-arm64",
                                          "page size 4096"]


def test_kselftest_tap13_failure_with_assertion_banner():
    doc = parse_ktap(segment("qemu10-complete.log", "failing"))
    assert doc.version == "TAP version 13"
    assert doc.complete
    counts = doc.counts()
    assert counts[KtapStatus.PASS] == 1
    assert counts[KtapStatus.FAIL] == 1
    assert counts[KtapStatus.XFAIL] == 1
    wrong = doc.by_name("deliberately_wrong_expectation")
    assert wrong.status is KtapStatus.FAIL and not wrong.ok
    assert wrong.diagnostics == ["expected r=-1, errno=EINVAL"]
    # The assertion banner (stderr, no '#') precedes the next result.
    todo = doc.by_name("known_bug")
    assert todo.directive == "TODO" and todo.reason == "fixed upstream later"
    assert "==== Test Assertion Failure ====" in todo.diagnostics
    assert doc.trailing == ["Totals: pass:1 fail:1 xfail:1 xpass:0 skip:0 "
                            "error:0"]


def test_kernel_noise_is_set_aside_and_cut_lines_joined():
    doc = parse_ktap(segment("qemu10-complete.log", "noisy"))
    assert [r.name for r in doc.results] == ["first", "second", "third"]
    assert doc.complete and not doc.problems
    assert len(doc.kernel_lines) == 3
    assert all("kconform-noise" in k for k in doc.kernel_lines)
    assert doc.results[1].diagnostics == ["about to be interrupted"]


def test_nested_subtests_attach_to_parent():
    doc = parse_ktap(segment("qemu10-complete.log", "nested"))
    assert doc.plan == 2 and doc.complete
    parent = doc.results[0]
    assert parent.name == "memslots"
    assert [s.name for s in parent.subtests] == ["memslots.add",
                                                 "memslots.remove"]
    assert parent.subtests[1].status is KtapStatus.SKIP
    assert parent.subtests[1].diagnostics == ["removing slot 0"]
    assert "Subtest: memslots" in parent.diagnostics
    assert doc.results[1].subtests == []


def test_killed_test_is_incomplete():
    doc = parse_ktap(segment("qemu10-complete.log", "sleeper"))
    assert not doc.complete
    assert doc.problems == ["plan announced 2 result(s), 1 arrived"]
    assert doc.trailing == ["Killed"]


def test_panic_mid_test_keeps_results_seen():
    doc = parse_ktap(segment("panic.log", "crash"))
    assert [r.name for r in doc.results] == ["before_the_crash"]
    assert any("Kernel panic - not syncing" in k for k in doc.kernel_lines)
    assert not doc.complete


def test_platform_fault_under_qemu72():
    doc = parse_ktap(segment("qemu72-platform.log", "platform_mte"))
    bad = doc.by_name("kvm_mte_copy_tags_distinct")
    assert bad.status is KtapStatus.FAIL
    assert bad.reason == "896 of 1024 granules read back a wrong tag"
    assert "granule 0: wrote tag 0x1, read 0x7" in bad.diagnostics


def test_preamble_before_plan():
    doc = parse_ktap(["TAP version 13", "# kconform: spec=x cases=1",
                      "1..1", "# kconform: case=a step=0", "ok 1 a"])
    assert doc.preamble == ["kconform: spec=x cases=1"]
    assert doc.results[0].diagnostics == ["kconform: case=a step=0"]


@pytest.mark.parametrize("line,status,directive,reason", [
    ("ok 1 a", KtapStatus.PASS, None, ""),
    ("not ok 1 a", KtapStatus.FAIL, None, ""),
    ("ok 1 a # SKIP no kvm", KtapStatus.SKIP, "SKIP", "no kvm"),
    ("ok 1 a # skip no kvm", KtapStatus.SKIP, "SKIP", "no kvm"),
    ("not ok 1 a # TODO later", KtapStatus.XFAIL, "TODO", "later"),
    ("ok 1 a # XFAIL known", KtapStatus.XFAIL, "XFAIL", "known"),
    ("not ok 1 a # error", KtapStatus.ERROR, "ERROR", ""),
    ("ok 1 - a", KtapStatus.PASS, None, ""),
    ("not ok 1 a # exit=139", KtapStatus.FAIL, None, "exit=139"),
])
def test_result_lines(line, status, directive, reason):
    r = parse_ktap(["KTAP version 1", "1..1", line]).results[0]
    assert (r.name, r.status, r.directive, r.reason) == ("a", status,
                                                         directive, reason)


def test_bail_out_and_numbering_problems():
    doc = parse_ktap(["KTAP version 1", "1..3", "ok 1 a", "ok 3 c",
                      "Bail out! no memory"])
    assert doc.bail_out == "no memory"
    assert not doc.complete
    assert any("out of sequence" in p for p in doc.problems)


def test_split_kernel_noise_joins_fragments():
    test, kernel = split_kernel_noise(
        ["ok 1 fi[   12.345678] kvm: something", "rst", "[ 1.000000] x"])
    assert test == ["ok 1 first"]
    assert kernel == ["[   12.345678] kvm: something", "[ 1.000000] x"]


def test_empty_output():
    doc = parse_ktap([])
    assert doc.results == [] and doc.plan is None and doc.problems == []
