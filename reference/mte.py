"""The MTE family of the reference runtime: tag storage per guest page,
the tag copies between it and a user buffer, and the guest's own tag
accesses.  Concepts: host_has_mte, copy_tags_in, copy_tags_out (declared in
generator/model/concepts.py, family "mte")."""
from __future__ import annotations

from typing import Optional

from reference.runtime import Call, Cursor, Result, UserBuffer, pattern_byte

GRANULE = 16                 # bytes covered by one MTE tag
TAG_MASK = 0xF               # a tag is 4 bits; the low nibble of a byte
FEATURE = "mte"
# capabilities that need the feature on the host: enabling one without it fails
CAP_FEATURES = {"KVM_CAP_ARM_MTE": FEATURE}


class MteConcepts:
    """Mixed into reference.vmstate.VMState; uses its page_size, host, tags."""

    def host_has_mte(self, call: Call, it: Optional[Cursor]) -> bool:
        return self.host.has(FEATURE)

    @property
    def mte_granules_per_page(self) -> int:
        return self.page_size // GRANULE

    def _page_tags(self, gfn: int) -> bytearray:
        return self.tags.setdefault(gfn, bytearray(self.page_size // GRANULE))

    def copy_tags_in(self, call: Call, it: Cursor) -> int:
        """User buffer -> guest tags for one page; tags copied until a fault."""
        page = self._page_tags(it.gfn)
        for i in range(len(page)):
            b = call.buffer.read(it.offset + i)
            if b is None:
                return i
            page[i] = b & TAG_MASK
        return len(page)

    def copy_tags_out(self, call: Call, it: Cursor) -> int:
        """Guest tags of one page -> user buffer, one per byte."""
        page = self._page_tags(it.gfn)
        for i, tag in enumerate(page):
            if not call.buffer.write(it.offset + i, tag):
                return i
        return len(page)

    def _granules(self, call: Call):
        """(gfn, index in the page) of every granule a guest command covers."""
        per_page = self.page_size // GRANULE
        first = call.arg.ipa // GRANULE
        for g in range(first, first + call.arg.bytes // GRANULE):
            yield g // per_page, g % per_page

    def guest_tags(self, call: Call, where: str) -> Result:
        """The guest's stg sets tag pattern(seed) over its range; its ldg
        reads the range's tags, one per byte, into the step's digest."""
        if call.arg.guest_op == "stg":
            n = 0
            for i, (gfn, k) in enumerate(self._granules(call)):
                self._page_tags(gfn)[k] = pattern_byte(i, call.arg.seed)
                n += 1
            return Result(n, None, where)
        tags = bytearray(self._page_tags(gfn)[k] for gfn, k in self._granules(call))
        call.buffer = UserBuffer(tags, len(tags))
        return Result(len(tags), None, where)

    def no_guest_tags(self, call: Call, where: str) -> Result:
        """Without tag storage the guest's stg changes nothing, ldg reads 0."""
        n = call.arg.bytes // GRANULE
        if call.arg.guest_op == "ldg":
            call.buffer = UserBuffer(bytearray(n), n)
        return Result(n, None, where)
