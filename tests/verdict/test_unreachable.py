"""Rules no user-space call reaches are listed as `not reachable`, each with
its reason and patch line, never as a pass and never dropped."""
from generator import paths
from generator.model import Reach, Verdict
from generator.model.specio import load_spec
from generator.verdict.unreachable import unreachable_results


def test_mmio_guard_rules_are_all_listed_not_reachable():
    spec = load_spec(paths.spec_path("mmio-guard-v2"))
    rows = unreachable_results(spec)
    rules = [c for op in spec.operations for c in op.checks]
    assert rules and len(rows) == len(rules)
    assert all(r.verdict is Verdict.UNREACHABLE for r in rows)
    assert all("not reachable from userspace" in r.reason for r in rows)
    assert all(r.source.seed.startswith("003_") and r.source.line > 0 for r in rows)
    assert any("ipa_unaligned" in r.id for r in rows)


def test_lock_memslot_dead_checks_say_why():
    spec = load_spec(paths.spec_path("lock-memslot-rfc-v5"))
    rows = unreachable_results(spec)
    dead = [c for op in spec.operations for c in op.checks if c.reach is Reach.UNREACHABLE]
    # every dead check, then the success path the patch's code never gets to
    assert [r.clause for r in rows] == [c.id for c in dead] + ["success"]
    assert all("always fails" in r.reason and "004_baa2838cf23bbaa8.txt:276" in r.reason
               for r in rows)
    assert any("EBUSY" in r.reason for r in rows) and any("EPERM" in r.reason for r in rows)
    assert rows[-1].source.line == 279 and "kvm_lock_user_memory_region_ioctl" in rows[-1].reason


def test_unreachable_rows_do_not_collide_with_planned_cases():
    from generator.plan import plan
    spec = load_spec(paths.spec_path("lock-memslot-rfc-v5"))
    planned = {c.id for c in plan(spec)}
    rows = {r.id for r in unreachable_results(spec)}
    assert planned and rows and not planned & rows


def test_reachable_spec_has_none():
    assert unreachable_results(load_spec(paths.spec_path("mte-v10"))) == []
