"""The registry of concepts and levers (generator/model/concepts.py): every
concept has its implementation in the reference runtime, every vocabulary
concept and lever is registered, and a vocabulary naming an unknown one is
refused on load with its file:line and the valid names."""
from __future__ import annotations

import pytest

from generator.errors import SpecError
from generator.model.concepts import CONCEPTS, ConceptKind, Lever
from generator.model.vocab import load_vocabulary
from reference.vmstate import Host, VMState


@pytest.mark.parametrize("name", sorted(CONCEPTS))
def test_every_concept_is_implemented(name):
    c = CONCEPTS[name]
    vm = VMState(4096, Host())
    if c.kind is ConceptKind.CONSTANT:
        voc = load_vocabulary()
        valued = any(t.concept == name and t.value is not None for t in voc.constants.values())
        assert valued or hasattr(vm, name), f"constant concept {name}: no value, no runtime attribute"
    else:
        assert callable(getattr(vm, name, None)), f"concept {name} has no method in VMState"


def test_the_generic_core_knows_no_feature_family():
    from reference import vmstate
    core = vmstate.CoreConcepts.__dict__
    assert not any(CONCEPTS[n].family == "mte" for n in core if n in CONCEPTS)


def test_vocabulary_concepts_and_levers_are_registered():
    voc = load_vocabulary()
    for sect in (voc.predicates, voc.helpers, voc.constants):
        for t in sect.values():
            assert t.concept in CONCEPTS, t.key
            assert t.lever in {lv.value for lv in Lever}, t.key


def test_unknown_concept_is_refused_with_its_line(tmp_path):
    f = tmp_path / "v.yaml"
    f.write_text("predicates:\n  foo:\n    concept: cap_enabld\n    reach: reachable\n")
    with pytest.raises(SpecError) as e:
        load_vocabulary(f)
    msg = str(e.value)
    assert f"{f}:2:" in msg and "cap_enabld" in msg and "cap_enabled" in msg


def test_unknown_lever_is_refused_with_its_line(tmp_path):
    f = tmp_path / "v.yaml"
    f.write_text("predicates:\n  foo:\n    concept: cap_enabled\n    lever: omit_cap\n")
    with pytest.raises(SpecError) as e:
        load_vocabulary(f)
    assert f"{f}:2:" in str(e.value) and "omit_cap_enable" in str(e.value)
