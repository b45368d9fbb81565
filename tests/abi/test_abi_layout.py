"""The layout engine, attribute side table and constant evaluator on their
own (no compiler needed); test_abi_dwarf.py holds them against gcc."""
from __future__ import annotations

import pytest

from generator.abi.abis import get_abi
from generator.abi.attrs import sanitize
from generator.abi.errors import LayoutError, UnknownAbiError
from generator.abi.layout import Hole, Layouter, TypeEnv
from generator.abi.unit import parse_unit, preprocess_fragment


def engine(text: str, arch: str = "arm64", origin: str = "case.h") -> Layouter:
    unit = parse_unit(preprocess_fragment(text, origin), origin)
    return Layouter(TypeEnv([unit]), get_abi(arch))


def offsets(lay):
    return {fm.path: fm.offset for fm in lay.flatten()}


# ---------------------------------------------------------------- attributes
def test_sanitize_keeps_every_other_token_in_place():
    text = '# 1 "a.h"\nstruct s { char c; int i __attribute__((aligned(16))); }\n' \
           '  __attribute__((packed));\n'
    san = sanitize(text)
    assert len(san.text) == len(text)
    assert "__attribute__" not in san.text
    assert [ln for ln in san.text.splitlines()] [1].index("int i") == \
        text.splitlines()[1].index("int i")
    attrs = [str(a) for v in san.table.type_attrs.values() for a in v]
    assert attrs and set(attrs) == {"packed"}


def test_declarator_attribute_binds_to_its_declarator_only():
    lay = engine("struct d { char a, b __attribute__((aligned(4))), c; };").layout("struct d")
    assert offsets(lay) == {"a": 0, "b": 4, "c": 5}
    lay = engine("struct d { char x; __attribute__((aligned(4))) char a, b; };").layout("struct d")
    assert offsets(lay) == {"x": 0, "a": 4, "b": 8}


def test_kernel_spellings_keep_their_meaning():
    # cparse.PRELUDE defines __packed/__aligned away; the ABI prelude restores them.
    e = engine("struct p { __u8 c; __u64 v; } __packed;\n"
               "struct q { __u32 x; __aligned_u64 y; };\n"
               "struct r { __u8 c; } __aligned(16);", arch="i386")
    assert e.layout("struct p").size == 9
    assert offsets(e.layout("struct q")) == {"x": 0, "y": 8}
    assert e.layout("struct r").align == 16


# ---------------------------------------------------------------- engine
@pytest.mark.parametrize("arch,size,flags", [("arm64", 48, 24), ("arm", 48, 24),
                                             ("x86_64", 48, 24), ("i386", 44, 20)])
def test_bare_pointer_struct_per_abi(arch, size, flags):
    e = engine("struct t { __u64 ipa; __u64 len; void __user *addr; __u64 flags;"
               " __u64 reserved[2]; };", arch)
    lay = e.layout("struct t")
    assert (lay.size, offsets(lay)["flags"]) == (size, flags)


def test_holes_between_members_inside_anonymous_members_and_at_the_tail():
    lay = engine("struct n { int a; union { struct { char x; short y; }; long long z; };"
                 " char tail; };").layout("struct n")
    assert lay.all_holes() == [Hole(4, 4, "a"), Hole(9, 1, "x"), Hole(17, 7, "tail")]


def test_named_member_of_untagged_type_is_flattened_with_its_path():
    lay = engine("struct o { char c; struct { int q; double d; } inner; };").layout("struct o")
    assert offsets(lay) == {"c": 0, "inner": 8, "inner.q": 8, "inner.d": 16}


def test_unknown_type_names_the_file_line_and_what_was_expected():
    e = engine("struct u {\n\t__u32 a;\n\tfoo_t b;\n};")
    with pytest.raises(LayoutError) as info:
        e.layout("struct u")
    assert str(info.value) == "case.h:3: unknown type name foo_t (expected a typedef in scope)"


def test_incomplete_struct_member_is_reported():
    e = engine("struct fwd;\nstruct w { struct fwd f; };")
    with pytest.raises(LayoutError, match=r"case.h:2: struct fwd is declared but never defined"):
        e.layout("struct w")


def test_unparsable_declaration_is_skipped_and_the_rest_parsed():
    unit = parse_unit(preprocess_fragment("struct ok1 { int a; };\nstruct bad { int a b; };\n"
                                          "struct ok2 { char c; };", "frag.h"), "frag.h")
    assert [(s.file, s.line, s.names) for s in unit.skipped] == [("frag.h", 2, ("bad",))]
    env = TypeEnv([unit])
    assert {n for n, _, _ in env.aggregates} == {"ok1", "ok2"}


def test_unknown_arch_lists_the_options():
    with pytest.raises(UnknownAbiError, match=r"'mips' is not a valid arch \(expected one "
                                              r"of arm64, arm, x86_64, i386\)"):
        get_abi("mips")


# ---------------------------------------------------------------- constants
@pytest.mark.parametrize("expr,arch,value", [
    ("~0U", "arm64", 0xFFFFFFFF),
    ("~0UL", "arm", 0xFFFFFFFF),
    ("~0UL", "arm64", 0xFFFFFFFFFFFFFFFF),
    ("-1 >> 1", "arm64", -1),
    ("(1U << 31) >> 31", "arm64", 1),
    ("'A' + '\\n'", "arm64", 75),
    ("sizeof(struct k) * 2", "i386", 24),
    ("sizeof(struct k) * 2", "arm64", 32),
    ("(__u8)0x1ff", "arm64", 0xFF),
    ("3 > 2 ? 10 : 20", "arm64", 10),
    ("-7 / 2", "arm64", -3),
    ("-7 % 2", "arm64", -1),
])
def test_constant_expressions_follow_c_types(expr, arch, value):
    e = engine(f"struct k {{ __u32 a; __u64 b; }};\nstruct v {{ char c[1]; }};", arch)
    from pycparser import c_parser
    node = c_parser.CParser().parse(f"typedef unsigned char __u8; long long x = {expr};").ext[-1].init
    assert e.evaluate(node) == value
