"""An unconditional early `return -EBUSY;` in a handler (issue 11): it is a
check that fails on every call, every check after it and the success path
are dead code (findings), the model returns EBUSY, and the later checks
are `not reachable` rows -- as for a check the patch's own helper makes
always fail.  Before, the return was ignored and the later checks and the
success path stayed in the spec and the model."""
from __future__ import annotations

from pathlib import Path

import pytest

from generator.extract import extract_spec
from generator.model import Errno, FindingKind, Reach, Verdict
from generator.plan import plan
from generator.render.reference import render_reference
from generator.verdict.unreachable import unreachable_results

ROOT = Path(__file__).resolve().parents[2]
V10 = ROOT / "seeds" / "002_640e98e582cbc741.txt"
OP = "KVM_ARM_MTE_COPY_TAGS"


def _with_line_after(tmp_path, anchor: str, line: str) -> Path:
    """The v10 seed with `line` added to the patch after `anchor`, in the
    hunk of kvm_vm_ioctl_mte_copy_tags (its line count updated)."""
    text = V10.read_text()
    assert anchor in text and "@@ -1297,6 +1297,65 @@" in text
    text = text.replace("@@ -1297,6 +1297,65 @@", "@@ -1297,6 +1297,66 @@", 1)
    path = tmp_path / V10.name
    path.write_text(text.replace(anchor, anchor + line + "\n", 1))
    return path


@pytest.fixture(scope="module")
def early(tmp_path_factory):
    seed = _with_line_after(tmp_path_factory.mktemp("early"), "+\tint ret = 0;\n",
                            "+\treturn -EBUSY;")
    return extract_spec(seed, "mte-v10")


def test_the_return_is_a_check_that_always_fails(early):
    checks = early.operation(OP).checks
    ids = [c.id for c in checks]
    ret = checks[ids.index("unconditional_return")]
    assert ret.errno is Errno.EBUSY and ret.value is True and ret.reach is Reach.REACHABLE
    assert ret.source.text == "return -EBUSY;"
    before = checks[:ids.index("unconditional_return")]
    after = checks[ids.index("unconditional_return") + 1:]
    assert [c.id for c in before] == ["not_cap_enabled", "user_read_faults"]
    assert after and all(c.reach is Reach.UNREACHABLE for c in after)


def test_findings_name_the_dead_checks_and_success(early):
    dead = [f.message for f in early.findings if f.kind is FindingKind.DEAD_CODE]
    assert any("unconditional `return -EBUSY;`" in m and "reserved_0_nonzero" in m
               for m in dead), dead
    assert any("success path" in m for m in dead), dead


def test_model_and_rows_follow(early):
    ref = render_reference(early)
    assert 'vm.fail(Errno.EBUSY, "unconditional_return")' in ref
    cases = [c.id for c in plan(early) if c.id.startswith("copy_tags.")]
    assert "copy_tags.unconditional_return" in cases
    assert not any(c.startswith(("copy_tags.partial", "copy_tags.reserved")) for c in cases)
    rows = {r.id: r for r in unreachable_results(early)}
    assert rows["copy_tags.reserved_0_nonzero"].verdict is Verdict.UNREACHABLE
    assert "copy_tags.success" in rows


def test_a_conditional_return_is_not_always(tmp_path):
    """`if (x) { ... return 0; } return -EBUSY;` and a return under a goto'd
    path are not unconditional; the bundled seed has no such check."""
    spec = extract_spec(V10, "mte-v10")
    assert not [c for op in spec.operations for c in op.checks
                if c.id.startswith("unconditional_return")]
