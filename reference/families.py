"""Concept families of the reference runtime beyond the generic core and
MTE: memslots, MMIO guard and the vGIC.  Each method implements the
concept of the same name (generator/model/concepts.py).  The MMIO guard and
vGIC concepts are reached only by rules no user entry point in the bundled
material reaches; their implementations give the state a fresh VM has."""
from __future__ import annotations

from typing import Optional

from reference.runtime import Call, Cursor


class MemslotConcepts:
    """Uses VMState.memslots: slot -> (base_gfn, pages)."""

    mem_readonly = 1 << 1          # KVM_MEM_READONLY (include/uapi/linux/kvm.h)
    memslots_num = 32767           # KVM_MEM_SLOTS_NUM = SHRT_MAX (include/linux/kvm_host.h)

    def no_memslot(self, call: Call, it: Cursor) -> bool:
        return not any(b <= it.gfn < b + n for b, n in self.memslots.values())

    def memslot_visible(self, call: Call, it: Cursor) -> bool:
        return not self.no_memslot(call, it)

    def memslot_exists(self, call: Call, it: Optional[Cursor]) -> bool:
        return bool(self.memslots)

    def memslots_empty(self, call: Call, it: Optional[Cursor]) -> bool:
        return not self.memslots      # no ADD_MEMSLOT step (or each was deleted)

    def memslot_at_gfn(self, call: Call, it: Optional[Cursor]) -> bool:
        return it is not None and not self.no_memslot(call, it)

    def memslot_flags(self, call: Call, it: Optional[Cursor]) -> int:
        return 0                      # the cases create memslots without flags

    def memslot_dirty_logging(self, call: Call, it: Optional[Cursor]) -> bool:
        return False

    def memslots_of(self, call: Call, it: Optional[Cursor]) -> dict:
        return self.memslots

    def gfn_of(self, call: Call, it: Optional[Cursor]) -> int:
        return it.gfn if it is not None else 0

    def resolve_gfn(self, call: Call, it: Optional[Cursor]) -> int:
        return 0 if it is None or self.no_memslot(call, it) else 1

    def gfn_hva(self, call: Call, it: Optional[Cursor], gfn: int = 0) -> int:
        """gfn_to_hva(): an address inside the memslot that backs gfn, -1 when none does."""
        for base, pages in self.memslots.values():
            if base <= gfn < base + pages:
                return (gfn - base) * self.page_size
        return -1

    def page_of(self, call: Call, it: Optional[Cursor]) -> int:
        return self.resolve_gfn(call, it)


class MmioGuardConcepts:
    def mmio_guard_enrolled(self, call: Call, it: Optional[Cursor]) -> bool:
        return False

    def mmio_guard_page_at(self, call: Call, it: Optional[Cursor]) -> bool:
        return False

    def fault_address(self, call: Call, it: Optional[Cursor]) -> int:
        return 0

    def inject_data_abort(self, call: Call, it: Optional[Cursor]) -> int:
        return 0

    def stage2_annotate(self, call: Call, it: Optional[Cursor]) -> int:
        return 0

    def stage2_cache_pages(self, call: Call, it: Optional[Cursor]) -> int:
        return 0

    def stage2_leaf(self, call: Call, it: Optional[Cursor]) -> int:
        return 0

    def stage2_unmap(self, call: Call, it: Optional[Cursor]) -> int:
        return 0


class VgicConcepts:
    def vgic_in_kernel(self, call: Call, it: Optional[Cursor]) -> bool:
        return False

    def vgic_model(self, call: Call, it: Optional[Cursor]) -> int:
        return 0

    def vgic_cpu_base(self, call: Call, it: Optional[Cursor]) -> int:
        return 0
