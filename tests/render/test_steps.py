"""Step kinds are declared once (generator.model.case): each kind has its
class with a C side and a reference side, the C enums are generated from
the Python ones, and the C runtime executes every kind."""
from __future__ import annotations

import re

import pytest

from generator.model.case import C_ENUMS, STEP_CLASSES, Step, StepKind, StepRole
from generator.render.c import STEPS_HEADER, TEMPLATES, steps_header


def test_every_kind_has_its_class():
    assert set(STEP_CLASSES) == set(StepKind)
    for kind, cls in STEP_CLASSES.items():
        assert cls.KIND is kind and issubclass(cls, Step)


@pytest.mark.parametrize("kind", list(StepKind), ids=lambda k: k.value)
def test_every_kind_has_a_reference_side(kind):
    """A kind either acts as a set-up step (ref_setup) or is the subject of
    a case (ref_key names the generated function; ref_values its argument;
    or ref_predict gives its outcome without one: a read-back)."""
    cls = STEP_CLASSES[kind]
    setup = cls.ref_setup is not Step.ref_setup
    subject = (cls.ref_values is not Step.ref_values or cls.ref_key is not Step.ref_key
               or cls.ref_predict is not Step.ref_predict)
    assert setup or subject, f"{cls.__name__} has no effect in the reference"


@pytest.mark.parametrize("kind", list(StepKind), ids=lambda k: k.value)
def test_every_kind_has_a_c_side(kind):
    runtime = "".join((TEMPLATES / h).read_text()
                      for h in ("kconform_runtime.h", "kconform_vcpu.h"))
    assert re.search(rf"\bcase {kind.c_name}:", runtime), \
        f"the C runtime's kc_step has no `case {kind.c_name}:`"
    cls = STEP_CLASSES[kind]
    first = (cls().c_init(_Renderer())[0]      # the kinds that name an op need its OpDef
             if kind not in (StepKind.VM_IOCTL, StepKind.READ_BACK) else None)
    if first is not None:
        assert first.startswith(f".kind = {kind.c_name}")


class _Renderer:
    """A stand-in for generator.render.c.StepRenderer (test-only)."""
    ops: dict = {}

    @staticmethod
    def cap_macro(cap, patch=False):
        return "CAP"

    sysreg_macro = mrs_macro = staticmethod(lambda name: "REG")

    @staticmethod
    def val_init(v):
        return "{ 0 }"


def test_c_enums_are_generated_and_committed():
    assert STEPS_HEADER.read_text() == steps_header(), \
        "templates/kconform_steps.h drifted: regenerate with `kconform generate`"
    for cname, enum_type, _ in C_ENUMS:
        assert f"enum {cname} {{" in steps_header()
        for m in enum_type:
            assert m.c_name in steps_header()


def test_a_kind_declared_twice_is_refused():
    with pytest.raises(TypeError, match="declared twice"):
        class Again(Step):          # noqa: F841
            KIND = StepKind.CREATE_VM


def test_default_role_is_setup():
    assert STEP_CLASSES[StepKind.CREATE_VM]().role is StepRole.SETUP
