"""The platform sanity check: is the emulator storing MTE tags faithfully?

``platform_mte.c`` runs first in every boot and prints KTAP.  This module
builds it and turns its results into a :class:`PlatformStatus` whose sentence
blames the platform - not the kernel under test - when tags come back wrong.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import os
from pathlib import Path
from typing import Mapping, Optional

from generator.runner.cachefs import atomic_file, locked
from generator.runner.build import CROSS_CC, compile_one
from generator.runner.ktap import KtapDocument, KtapStatus

PLATFORM_SOURCE = Path(__file__).with_name("platform_mte.c")
PLATFORM_TEST = "platform_mte"
PLATFORM_CFLAGS = ("-march=armv8.5-a+memtag",)

# Check names printed by platform_mte.c, grouped by what they exercise.
DISTINCT = ("userspace_mte_distinct_tags", "kvm_mte_copy_tags_distinct")
UNIFORM = ("userspace_mte_uniform_tags", "kvm_mte_copy_tags_uniform")
LABELS = {
    "userspace_mte_distinct_tags": "userspace STG/LDG",
    "userspace_mte_uniform_tags": "userspace STG/LDG",
    "kvm_mte_copy_tags_distinct": "KVM_ARM_MTE_COPY_TAGS",
    "kvm_mte_copy_tags_uniform": "KVM_ARM_MTE_COPY_TAGS",
    "kvm_cap_arm_mte": "KVM_CAP_ARM_MTE",
}


class PlatformState(enum.Enum):
    OK = "ok"
    FAULTY = "faulty"
    UNCHECKED = "unchecked"     # MTE or KVM absent, or the check did not run


@dataclasses.dataclass(frozen=True)
class PlatformCheck:
    name: str
    status: KtapStatus
    reason: str


@dataclasses.dataclass(frozen=True)
class PlatformStatus:
    state: PlatformState
    sentence: str
    checks: tuple[PlatformCheck, ...] = ()
    facts: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state is PlatformState.OK


def platform_binary(out_dir: Path, cc: str = CROSS_CC) -> Path:
    """Compile platform_mte.c once per source version into ``out_dir``."""
    digest = hashlib.sha256(PLATFORM_SOURCE.read_bytes()).hexdigest()[:12]
    binary = out_dir / f"{PLATFORM_TEST}-{digest}"
    if binary.is_file():
        return binary
    # out_dir may be shared (the cache): build under its lock into a
    # temporary name, then rename, so no run sees a half-written binary
    with locked(out_dir):
        if not binary.is_file():
            tmp = atomic_file(binary)
            try:
                compile_one(PLATFORM_SOURCE, out_dir, cc=cc, extra_cflags=PLATFORM_CFLAGS,
                            output_name=tmp.name)
                os.replace(tmp, binary)
            finally:
                tmp.unlink(missing_ok=True)
    return binary


def _facts(doc: KtapDocument) -> dict[str, str]:
    facts = {}
    lines = [d for r in doc.results for d in r.diagnostics] + doc.trailing
    for line in lines:
        if line.startswith("fact ") and "=" in line:
            key, _, value = line[5:].partition("=")
            facts[key.strip()] = value.strip()
    return facts


def _who(emulator: Optional[str]) -> str:
    return emulator or "the emulator"


def interpret_platform(doc: Optional[KtapDocument], *,
                       emulator: Optional[str] = None,
                       exit_status: Optional[int] = None) -> PlatformStatus:
    """Judge the platform from platform_mte's KTAP output.

    ``emulator`` (e.g. "QEMU 7.2.22") only makes the sentence more precise.
    """
    if doc is None or not doc.results:
        how = ("did not run" if exit_status is None
               else f"printed no results (exit status {exit_status})")
        return PlatformStatus(PlatformState.UNCHECKED,
                              f"the MTE platform check {how}; MTE results "
                              "are unverified on this platform")
    checks = tuple(PlatformCheck(r.name, r.status, r.reason)
                   for r in doc.results)
    facts = _facts(doc)
    by_name = {c.name: c for c in checks}
    failed = [c for c in checks if c.status in (KtapStatus.FAIL,
                                                KtapStatus.ERROR)]
    passed = [c for c in checks if c.status is KtapStatus.PASS]
    if failed:
        bad_distinct = [c for c in failed if c.name in DISTINCT]
        uniform_ok = [n for n in UNIFORM if n in by_name
                      and by_name[n].status is KtapStatus.PASS]
        if bad_distinct and uniform_ok and len(bad_distinct) == len(failed):
            where = "; ".join(f"{LABELS[c.name]}: {c.reason}"
                              for c in bad_distinct)
            sentence = (f"{_who(emulator)} does not store MTE tags "
                        "faithfully: distinct per-granule tags read back "
                        f"wrong ({where}); uniform tags survive - this is "
                        "the known QEMU 7.2 fault, use QEMU >= 8 (Debian "
                        "bookworm-backports qemu-system-arm)")
        else:
            where = "; ".join(f"{c.name}: {c.reason or 'failed'}"
                              for c in failed)
            sentence = (f"MTE does not work correctly on this platform "
                        f"({_who(emulator)}): {where}; conformance results "
                        "that involve MTE would blame the kernel for the "
                        "platform")
        return PlatformStatus(PlatformState.FAULTY, sentence, checks, facts)
    if doc.plan is not None and len(doc.results) < doc.plan:
        return PlatformStatus(PlatformState.UNCHECKED,
                              f"the MTE platform check stopped after "
                              f"{len(doc.results)} of {doc.plan} checks",
                              checks, facts)
    skipped = [c for c in checks if c.status is KtapStatus.SKIP]
    if not passed:
        reasons = sorted({c.reason for c in skipped})
        return PlatformStatus(PlatformState.UNCHECKED,
                              "the MTE platform check was skipped ("
                              + "; ".join(reasons) + ")", checks, facts)
    sentence = (f"{_who(emulator)} stores MTE tags faithfully "
                f"({len(passed)} of {len(checks)} checks passed")
    if skipped:
        sentence += "; skipped: " + "; ".join(
            f"{c.name} ({c.reason})" for c in skipped)
    return PlatformStatus(PlatformState.OK, sentence + ")", checks, facts)
