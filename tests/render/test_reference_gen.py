"""The generated reference follows the spec: drift check and mutations."""
from __future__ import annotations

import os
import types
from pathlib import Path

import pytest

from generator.plan import plan
from generator.model import Errno
from generator.render.reference import RenderError, module_name, render_reference
from generator.model.specio import load_spec
from tests.data.spec_fixtures import fixture_spec_mte_v10
from reference.vmstate import Host

ROOT = Path(__file__).resolve().parents[2]


def _module(spec) -> types.ModuleType:
    mod = types.ModuleType(f"reference.generated_{module_name(spec)}")
    exec(compile(render_reference(spec), mod.__name__, "exec"), mod.__dict__)
    return mod


@pytest.mark.parametrize("name", ["mte-v10", "mte-v8", "lock-memslot-rfc-v5"])
def test_committed_reference_has_not_drifted(name):
    spec = load_spec(ROOT / "specs" / f"{name}.yaml")
    path = ROOT / "reference" / f"{module_name(spec)}.py"
    text = render_reference(spec)
    if os.environ.get("KCONFORM_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.read_text() == text, (
        f"{path} differs from what render_ref generates from specs/{name}.yaml; "
        f"regenerate with KCONFORM_UPDATE_GOLDEN=1 pytest {__file__}")


def test_banner():
    text = render_reference(fixture_spec_mte_v10())
    assert text.startswith("# do not edit, generated from mte-v10 by kconform")


def _predict(spec, case_id, host=Host(), ps=4096, planned_from=None):
    case = next(c for c in plan(planned_from or spec) if c.id == case_id)
    return _module(spec).predict(case, ps, host)


def test_changing_an_errno_in_the_spec_changes_the_prediction():
    spec = fixture_spec_mte_v10()
    assert _predict(spec, "copy_tags.no_memslot")[-1].errno is Errno.EFAULT
    op = spec.operation("KVM_ARM_MTE_COPY_TAGS")
    next(c for c in op.checks if c.id == "no_memslot").errno = Errno.ENOENT
    assert _predict(spec, "copy_tags.no_memslot")[-1].errno is Errno.ENOENT


def test_changing_the_order_changes_who_wins_a_pair():
    spec = fixture_spec_mte_v10()
    case = "copy_tags.pair.not_cap_enabled+user_read_faults"
    assert _predict(spec, case)[-1].check == "not_cap_enabled"
    op = spec.operation("KVM_ARM_MTE_COPY_TAGS")
    for c in op.checks:      # mainline's order: copy_from_user first
        c.order = {"not_cap_enabled": 2, "user_read_faults": 1}.get(c.id, c.order)
    out = _predict(spec, case, planned_from=fixture_spec_mte_v10())[-1]
    assert out.check == "user_read_faults" and out.errno is Errno.EFAULT


def test_changing_the_success_value_changes_the_prediction():
    spec = fixture_spec_mte_v10()
    op = spec.operation("KVM_ARM_MTE_COPY_TAGS")
    op.success.ret_value = 7
    assert _predict(spec, "copy_tags.valid.length_zero")[-1].ret == 7


def test_roundtrip_reads_back_what_was_written():
    spec = load_spec(ROOT / "specs" / "mte-v10.yaml")
    for ps in (4096, 16384):
        write, read = _predict(spec, "copy_tags.valid.roundtrip_4pages", ps=ps)[-2:]
        assert write.ret == read.ret == 0 and write.digest == read.digest


def test_partial_copy_keeps_earlier_pages():
    spec = load_spec(ROOT / "specs" / "mte-v10.yaml")
    out = _predict(spec, "copy_tags.partial.short_buffer")
    assert out[-2].errno is Errno.EFAULT and out[-2].check == "num_tags_mismatch"
    never = _predict(spec, "copy_tags.valid.never_written")[-1].digest
    assert out[-1].ret == 0 and out[-1].digest != never


def test_host_without_mte():
    spec = load_spec(ROOT / "specs" / "mte-v10.yaml")
    assert _predict(spec, "check_extension.reports_mte", Host.of(mte=False))[-1].ret == 0
    out = _predict(spec, "enable_cap.valid", Host.of(mte=False))[-1]
    assert out.check == "not_host_has_mte"


def test_untranslatable_condition_names_the_line():
    spec = fixture_spec_mte_v10()
    op = spec.operation("KVM_ARM_MTE_COPY_TAGS")
    op.checks[2].condition = "unknown_helper(kvm)"
    text = render_reference(spec)      # the module is still written; that check stops a call
    [line] = [ln for ln in text.splitlines() if "vm.unmodelled(" in ln]
    assert "unknown_helper" in line and "002_640e98e582cbc741.txt:717" in line


def test_every_corpus_reference_module_compiles(tmp_path):
    """Whatever the reference cannot model becomes a stop inside a function
    whose name is still an identifier: every corpus mail's module compiles."""
    from generator.extract import extract_spec
    from generator.plan import nothing_to_run
    corpus = ROOT / "tests" / "data" / "corpus"
    for mail in sorted(corpus.glob("*.txt")):
        spec = extract_spec(mail, "x")
        if nothing_to_run(spec):
            continue
        compile(render_reference(spec), str(mail), "exec")
