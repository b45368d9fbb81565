"""A struct a uAPI hunk changes without adding it whole (generator.extract.uapi.
partial_structs): the members its new side shows, when the hunk starts at
the struct's top level; none from a hunk that starts inside a nested struct."""
from __future__ import annotations

from generator.extract.uapi import partial_structs
from generator.ingest import LineKind
from generator.ingest.diff import FileDiff, Hunk, HunkLine


class _Patch:                      # the two attributes partial_structs reads (test-only)
    label = "v1 1/1"

    def __init__(self, files):
        self.files = files


def _hunk(lines):
    h = Hunk(1, 0, 1, 0, "struct kvm_foo {", 10)
    kinds = {"+": LineKind.ADD, "-": LineKind.DEL, " ": LineKind.CTX}
    h.lines = [HunkLine(kinds[t[0]], t[1:], 11 + i, 0) for i, t in enumerate(lines)]
    return _Patch([FileDiff("a/include/uapi/linux/kvm.h", "include/uapi/linux/kvm.h", 1, [h])])


def test_the_new_side_of_a_top_level_hunk():
    p = _hunk([" \tstruct {", " \t\t__u8 a;", "+\t\t__u8 b;", "-\t\t__u8 pad[7];",
               "+\t\t__u8 pad[6];", " \t} inner;", " \t__u32 reserved[2];", " };",
               " #define KVM_X 1"])
    [sd] = partial_structs(p, "t.txt", set())
    assert sd.name == "kvm_foo" and str(sd.source).startswith("t.txt:10")
    from generator.model import Spec
    spec = Spec(name="s", title="t", version=1, rfc=False, seed="t.txt", patches=[],
                partial_structs=[sd])
    assert spec.struct_fields("struct kvm_foo") == [
        "inner.a", "inner.b", *[f"inner.pad[{i}]" for i in range(6)],
        "reserved[0]", "reserved[1]"]


def test_a_hunk_inside_a_nested_struct_gives_nothing():
    p = _hunk([" \t\t__u8 a;", "+\t\t__u8 b;", " \t} inner;", " \t__u32 reserved[2];"])
    assert partial_structs(p, "t.txt", set()) == []


def test_a_struct_the_patch_defines_is_not_partial():
    p = _hunk([" \t__u32 a;", "+\t__u32 b;"])
    assert partial_structs(p, "t.txt", {"kvm_foo"}) == []
    assert len(partial_structs(p, "t.txt", set())) == 1
