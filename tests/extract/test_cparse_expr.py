"""Conditions re-read from specs: the cached, preprocessor-free path gives
the tree the real preprocessor gives, and falls back to it where it must."""
from pycparser import c_ast

from generator import paths
from generator.cparse import parse, parse_expr, to_c
from generator.model.specio import load_spec


def _through_cpp(expr: str) -> str:
    ast = parse(f"void __kc_expr(void) {{ (void)({expr}); }}", "<expr>").ast
    return to_c(ast.ext[-1].body.block_items[0].expr)


def test_every_spec_condition_parses_as_the_preprocessor_would():
    texts = set()
    for name in paths.series_index():
        spec = load_spec(paths.spec_path(name))
        for op in spec.operations:
            for c in op.checks:
                texts.add(c.condition)
                if c.when:
                    texts.add(c.when)
    assert len(texts) > 30
    for t in sorted(texts):
        assert to_c(parse_expr(t)) == _through_cpp(t), t


def test_prelude_macros_still_expand_and_each_caller_gets_its_own_tree():
    assert to_c(parse_expr("unlikely(a && b)")) == "a && b"
    one, two = parse_expr("x + 1"), parse_expr("x + 1")
    assert one is not two
    one.left = c_ast.ID("y")
    assert to_c(parse_expr("x + 1")) == "x + 1"
