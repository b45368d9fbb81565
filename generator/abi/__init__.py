"""uAPI ABI checker: struct layouts on arm64, arm, x86-64 and i386 computed
from C text by a layout engine, held against the real compilers' DWARF, the
installed headers' #defines and the booted kernel's BTF.

Modules: abis (the four ABIs as data) · attrs (GNU attributes kept in a side
table) · unit (preprocess + parse) · cexpr (constant expressions) · layout
(the engine) · dwarf (compiler ground truth) · compare · headers (header-tree
mode) · defines (#define values) · spec (spec mode, static asserts) · btf
(btf_probe.c and its output) · cli (`kconform abi`).
"""
from generator.abi.abis import ABIS, Abi, get_abi
from generator.abi.btf import build_probe, compare_btf, compare_spec_btf, parse_probe_output
from generator.abi.errors import AbiError, HeaderError, LayoutError
from generator.abi.headers import HeaderReport, Status, StructResult, check_headers
from generator.abi.layout import Hole, Layouter, MemberLayout, StructLayout, TypeEnv
from generator.abi.spec import AbiFinding, AbiReport, FindingKind, Severity, check_spec, static_asserts

__all__ = ["ABIS", "Abi", "get_abi", "build_probe", "compare_btf", "compare_spec_btf",
           "parse_probe_output", "AbiError", "HeaderError", "LayoutError", "HeaderReport",
           "Status", "StructResult", "check_headers", "Hole", "Layouter", "MemberLayout",
           "StructLayout", "TypeEnv", "AbiFinding", "AbiReport", "FindingKind", "Severity",
           "check_spec", "static_asserts"]
