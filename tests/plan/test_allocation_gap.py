"""A check that fails only when a host allocation fails (`== -ENOMEM` of a
helper whose error maps to `host_memory_exhausted`) stays untested with the
reason: what the vocabulary says of the helper's allocation and that no
lever fails a host allocation.  Synthetic spec and vocabulary (fixtures)."""
from __future__ import annotations

from pathlib import Path

from generator.model import (Check, Errno, Operation, OpKind, Predicate, Reach, Source, Spec,
                             Success)
from generator.model.case import Gap
from generator.model.vocab import HelperError, Term, Vocabulary
from generator.plan import plan_all
from generator.plan.ops import allocation_failure

SRC = Source("fixture.txt", 7, "v1 1/1", "arch/arm64/kvm/fixture.c")
FIXTURE_MEANING = "the fixture table could not allocate a slot (fixture meaning)"


def _vocab() -> Vocabulary:
    table_put = Term("table_put", "range_insert", "insert into a fixture table",
                     errors=(HelperError("EEXIST", "range_overlaps", "overlap"),
                             HelperError("ENOMEM", "host_memory_exhausted", FIXTURE_MEANING,
                                         Reach.HOST_ONLY)))
    pool_get = Term("pool_get", "host_memory_exhausted", "a fixture pool is empty",
                    reach=Reach.HOST_ONLY)
    return Vocabulary(Path("fixture-vocabulary.yaml"),
                      helpers={"table_put": table_put, "pool_get": pool_get})


def _check(cid: str, cond: str, errno: Errno, spelling: str, concept: str) -> Check:
    return Check(cid, 1, cond, errno, "host", [], [Predicate(spelling, concept)], SRC,
                 reach=Reach.HOST_ONLY)


def test_a_helper_error_gives_its_meaning():
    c = _check("host_memory_exhausted", "table_put(t, a, b, GFP_KERNEL_ACCOUNT) == -ENOMEM",
               Errno.ENOMEM, "table_put", "host_memory_exhausted")
    why = allocation_failure(c, _vocab())
    assert why is not None
    assert why.startswith("`table_put(t, a, b, GFP_KERNEL_ACCOUNT) == -ENOMEM` fails only "
                          f"when the host cannot allocate (table_put: {FIXTURE_MEANING})")
    assert "no lever makes a host allocation fail" in why


def test_a_predicate_term_gives_its_own_meaning():
    c = _check("pool_empty", "pool_get(p)", Errno.ENOMEM, "pool_get(p)",
               "host_memory_exhausted")
    assert "(pool_get: a fixture pool is empty)" in allocation_failure(c, _vocab())


def test_an_unknown_allocator_is_named_without_a_meaning():
    c = _check("no_buf", "!buf", Errno.ENOMEM, "kzalloc", "host_memory_exhausted")
    assert "cannot allocate (kzalloc);" in allocation_failure(c, _vocab())


def test_a_host_feature_is_not_an_allocation():
    c = _check("no_sve", "!system_supports_sve()", Errno.EINVAL, "system_supports_sve",
               "host_has_feature")
    assert allocation_failure(c, _vocab()) is None


def test_the_plan_records_the_allocation_reason():
    """End to end through plan_all: the ENOMEM check is untested, HOST_ONLY,
    with the allocation reason; the host-feature check keeps its own."""
    checks = [_check("no_sve", "!system_supports_sve()", Errno.EINVAL, "system_supports_sve",
                     "host_has_feature"),
              _check("host_memory_exhausted", "table_put(t, a, b, GFP_KERNEL_ACCOUNT) == -ENOMEM",
                     Errno.ENOMEM, "table_put", "host_memory_exhausted")]
    checks[1].order = 2
    op = Operation(name="KVM_ENABLE_CAP(FIXTURE)", kind=OpKind.ENABLE_CAP, handler="fixture",
                   fd="vm", checks=checks, success=Success("0", 0, SRC), source=SRC)
    spec = Spec(name="alloc-fixture", title="t", version=1, rfc=False, seed="fixture.txt",
                patches=[], operations=[op])
    untested = {u.check: u for u in plan_all(spec, _vocab()).untested}
    alloc = untested["host_memory_exhausted"]
    assert alloc.gap is Gap.HOST_ONLY
    assert f"cannot allocate (table_put: {FIXTURE_MEANING})" in alloc.detail
    assert untested["no_sve"].detail.endswith("depends on the host's features")
