"""The hand-written runtime of the reference model (no QEMU, no KVM)."""
from __future__ import annotations

from generator.model.case import Buffer, Fill, Val
from generator.model import Errno
from reference.vmstate import (Arg, Call, Cursor, Host, UserBuffer, VMState,
                               fnv1a64, initial_bytes, pattern_byte)


def test_fnv1a64_known_vectors():
    assert fnv1a64(b"") == "cbf29ce484222325"
    assert fnv1a64(b"a") == "af63dc4c8601ec8c"
    assert fnv1a64(b"foobar") == "85944171f73967e8"


def test_pattern_gives_distinct_tags_to_neighbours():
    for seed in range(4):
        for start in range(0, 512, 16):
            tags = {pattern_byte(i, seed) for i in range(start, start + 16)}
            assert len(tags) == 16
    assert [pattern_byte(i, 0) for i in range(16)] != \
           [pattern_byte(i, 0) for i in range(16, 32)]


def test_initial_bytes():
    assert initial_bytes(Buffer(Val(), Val(), Fill.SENTINEL), 3) == b"\xa5\xa5\xa5"
    assert max(initial_bytes(Buffer(Val(), Val(), Fill.PATTERN, 2), 100)) <= 0xF


def test_arg_arrays_and_errors():
    a = Arg({"flags": 1, "reserved[1]": 5})
    assert a.flags == 1 and a.reserved == [0, 5]
    try:
        a.nope
    except AttributeError as e:
        assert "flags" in str(e)
    else:
        raise AssertionError("missing field did not raise")


def _vm(ps=4096):
    vm = VMState(ps, Host.of(mte=True))
    vm.memslots[0] = (256, 4)
    return vm


def test_memslot_and_never_written_tags_are_zero():
    vm = _vm()
    buf = UserBuffer(bytearray(b"\xa5" * 256), 256)
    call = Call(Arg({}), True, buf)
    assert not vm.no_memslot(call, Cursor(gfn=259))
    assert vm.no_memslot(call, Cursor(gfn=260))
    assert vm.copy_tags_out(call, Cursor(gfn=256)) == 256
    assert bytes(buf.data) == bytes(256)


def test_copy_in_keeps_low_nibble_and_stops_at_fault():
    vm = _vm()
    data = bytearray(range(256))
    call = Call(Arg({}), True, UserBuffer(data, 100))
    assert vm.copy_tags_in(call, Cursor(gfn=256)) == 100
    assert vm.tags[256][:100] == bytearray(b & 0xF for b in range(100))
    assert vm.tags[256][100:] == bytearray(156)


def test_copy_out_partial_write():
    vm = _vm(16384)
    buf = UserBuffer(bytearray(b"\xa5" * 1024), 10)
    assert vm.copy_tags_out(Call(Arg({}), True, buf), Cursor(gfn=256)) == 10
    assert buf.data[10] == 0xA5 and buf.digest() == fnv1a64(bytes(10))


def test_enabling_a_cap_needs_its_host_feature():
    """The generic core knows no feature: the MTE family says
    KVM_CAP_ARM_MTE needs "mte"; a capability of no family needs nothing."""
    vm = VMState(4096, Host.of(mte=False))
    assert vm.setup_enable_cap("KVM_CAP_ARM_MTE").errno is Errno.EINVAL
    assert not vm.cap_enabled(None, None, cap="KVM_CAP_ARM_MTE")
    assert vm.setup_enable_cap("KVM_CAP_OTHER").ret == 0
    assert vm.cap_enabled(None, None, cap="KVM_CAP_OTHER")
    with_mte = VMState(4096, Host())
    assert with_mte.setup_enable_cap("KVM_CAP_ARM_MTE").ret == 0
    assert with_mte.cap_enabled(None, None, cap="KVM_CAP_ARM_MTE")
    assert vm.page_mask == ~4095


def test_fail_and_ok():
    assert VMState.fail(Errno.EFAULT, "x").ret == -1
    assert VMState.ok(True).ret == 1
