"""Scoring extraction against the corpus ground truth (tests/data/corpus/SOURCES.md).

SOURCES.md gives, for each corpus table, the checks mainline v6.12 makes
(entry point, condition, result) and how the posted mail differs.  This
module reads those tables and pairs each errno row with the check the
extractor should find in the mail: `TRUTH` below is that pairing, written
by reading the mail and the row side by side (which operation, which check
id, a fragment its condition must contain), or the reason no check can be
found in the mail (absent from the posted code, pre-existing code the diff
does not show, ...).  `score()` extracts every mail and reports, per
entry, how many rows were found with the right errno and condition in the
order the posted code makes them, and how many got a planned case.

Run `python3 -m tests.extract.corpus_truth` for the table.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
SOURCES = CORPUS / "SOURCES.md"


@dataclass(frozen=True)
class Row:
    table: str            # the SOURCES.md section whose table it is
    number: int
    entry: str
    condition: str
    result: str
    posted: str
    line: int             # line of SOURCES.md

    @property
    def errno(self) -> str:
        """The errno the row ends in ("" for a value, an exit, a guest result)."""
        m = re.search(r'`(E[A-Z0-9]+)`', self.result)
        return m.group(1) if m else ""


def ground_truth(path: Path = SOURCES) -> dict[str, list[Row]]:
    """table name (the mail file it is written under) -> its rows."""
    out: dict[str, list[Row]] = {}
    section = ""
    for no, line in enumerate(path.read_text().splitlines(), 1):
        m = re.match(r'^## (\S+)\.txt\s*$', line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r'^\|\s*(\d+)\s*\|(.*)\|\s*$', line)
        if m and section:
            cells = [c.strip() for c in m.group(2).split("|")]
            if len(cells) >= 4:
                out.setdefault(section, []).append(
                    Row(section, int(m.group(1)), cells[0], cells[1], cells[2], cells[3], no))
    return out


@dataclass(frozen=True)
class Found:
    """Row `row` is check `check` of operation `op`; its condition contains `text`."""
    row: int
    op: str
    check: str
    text: str


@dataclass(frozen=True)
class Missing:
    """Row `row` has no check in the mail, for `reason`; `absent` when the
    posted code does not make the check at all (added after posting)."""
    row: int
    reason: str
    absent: bool = False


@dataclass
class Entry:
    table: str
    rows: list            # Found | Missing, in the order the posted code makes them
    note: str = ""


SET_PVTIME = "KVM_SET_DEVICE_ATTR(KVM_ARM_VCPU_PVTIME_CTRL)"
GET_PVTIME = "KVM_GET_DEVICE_ATTR(KVM_ARM_VCPU_PVTIME_CTRL)"
HAS_PVTIME = "KVM_HAS_DEVICE_ATTR(KVM_ARM_VCPU_PVTIME_CTRL)"
SET_PMU = "KVM_SET_DEVICE_ATTR(KVM_ARM_VCPU_PMU_V3_CTRL/KVM_ARM_VCPU_PMU_V3_SET_PMU)"
SET_BMAP = "KVM_SET_ONE_REG(KVM_REG_ARM_STD_BMAP)"
SET_SMCCC = "KVM_SET_DEVICE_ATTR(KVM_ARM_VM_SMCCC_CTRL)"
HAS_SMCCC = "KVM_HAS_DEVICE_ATTR(KVM_ARM_VM_SMCCC_CTRL)"
# the generic copy of struct kvm_enable_cap in kvm_vm_ioctl: the vocabulary's
# entry-point check of KVM_ENABLE_CAP on a VM fd
CAP_COPY = ("cap_copy_faults", "copy_from_user(&cap, argp")
PKVM = "the pKVM allow-list was added after posting"
# a guest event's exit (spec.guest, kind EXIT): check = the rule's id, its
# errno the rule's `otherwise` (KVM_RUN fails), its condition the negated guard
RUN = "KVM_RUN(guest exit)"
# what the target's mainline answers where the patch adds no handler
# (generator/extract/defaults.py): one check that fails on every call
DEFAULT = "mainline_default"

_PVTIME = [
    Found(1, SET_PVTIME, "attr_copy_faults", "copy_from_user(&attr"),
    Found(2, SET_PVTIME, "group_not_a_case", "attr->group != KVM_ARM_VCPU_PVTIME_CTRL"),
    Found(3, SET_PVTIME, "attr_attr_mismatch", "attr->attr != KVM_ARM_VCPU_PVTIME_IPA"),
    Found(4, SET_PVTIME, "user_read_faults", "get_user(ipa, user)"),
    Found(5, SET_PVTIME, "not_is_aligned", "IS_ALIGNED(ipa, 64)"),
    Found(6, SET_PVTIME, "vcpu_arch_steal_base_mismatch", "vcpu->arch.steal.base !="),
    Found(7, SET_PVTIME, "hva_error", "kvm_is_error_hva(gfn_to_hva(kvm, ipa >> PAGE_SHIFT))"),
    Found(9, GET_PVTIME, "attr_attr_mismatch", "attr->attr != KVM_ARM_VCPU_PVTIME_IPA"),
    Found(10, GET_PVTIME, "user_write_faults", "put_user(ipa, user)"),
    Found(11, HAS_PVTIME, "attr_not_a_case", "attr->attr != KVM_ARM_VCPU_PVTIME_IPA"),
    # the patch adds the enum value and registers no device ops for it: the
    # vocabulary's default of KVM_CREATE_DEVICE (no ops for the type)
    Found(12, "KVM_CREATE_DEVICE(KVM_DEV_TYPE_ARM_PV_TIME)", DEFAULT, "1"),
]

# KVM_SET_VCPU_EVENTS: the rows v3 and v2 (as its post-image) both give
_EVENTS = [
    Found(1, "KVM_SET_VCPU_EVENTS", "events_copy_faults", "copy_from_user(&events"),
    Found(2, "KVM_SET_VCPU_EVENTS", "reserved_nonzero", "memchr_inv(events->reserved"),
    Found(3, "KVM_SET_VCPU_EVENTS", "exception_pad_nonzero",
          "memchr_inv(events->exception.pad"),
    Found(4, "KVM_SET_VCPU_EVENTS", "serror_esr_without_ras", "ARM64_HAS_RAS_EXTN"),
    Found(5, "KVM_SET_VCPU_EVENTS", "serror_esr_invalid_bits", "~ESR_ELx_ISS_MASK"),
]

TRUTH: dict[str, Entry] = {
    "nisv-v3-01": Entry("nisv-v3-01", [
        Found(1, "KVM_ENABLE_CAP(KVM_CAP_ARM_NISV_TO_USER)", *CAP_COPY),
        Found(2, "KVM_ENABLE_CAP(KVM_CAP_ARM_NISV_TO_USER)", "flags_nonzero", "cap->flags"),
        Missing(3, PKVM, absent=True),
        Found(7, RUN, "exit.arm_nisv", "return_nisv_io_abort_to_user"),
    ]),
    "nisv-v3-02": Entry("nisv-v3-02", _EVENTS),
    # v2 adds `} else if (has_ext_dabt_pending) {` to __kvm_arm_vcpu_set_events: the
    # lines parse as the function's post-image (hunk context + added lines), and
    # the rows are the vocabulary's context of KVM_SET_VCPU_EVENTS, as in v3
    "nisv-v2-02": Entry("nisv-v3-02", _EVENTS),
    "pvtime-v7-07": Entry("pvtime-v6-07", _PVTIME),
    "pvtime-v6-07": Entry("pvtime-v6-07", [
        Missing(7, "the memslot check was added in v7 after review", absent=True)
        if isinstance(r, Found) and r.row == 7 else r for r in _PVTIME]),
    "system-suspend-v6-07": Entry("system-suspend-v6-07", [
        Found(1, "KVM_ENABLE_CAP(KVM_CAP_ARM_SYSTEM_SUSPEND)", *CAP_COPY),
        Found(2, "KVM_ENABLE_CAP(KVM_CAP_ARM_SYSTEM_SUSPEND)", "flags_nonzero", "cap->flags"),
        Missing(3, PKVM, absent=True),
    ]),
    "pmu-set-pmu-v4-05": Entry("pmu-set-pmu-v4-05", [
        Found(1, SET_PMU, "attr_copy_faults", "copy_from_user(&attr"),
        Found(2, SET_PMU, "not_vcpu_has_pmu", "!kvm_vcpu_has_pmu(vcpu)"),
        Found(3, SET_PMU, "pmu_initialised", "vcpu->arch.pmu.created"),
        Found(4, SET_PMU, "user_read_faults", "get_user(pmu_id, uaddr)"),
        Found(5, SET_PMU, "arm_pmu_pmu_type_mismatch", "arm_pmu->pmu.type != pmu_id"),
        Found(6, SET_PMU, "vm_has_run", "kvm->arch.ran_once"),
        Found(7, SET_PMU, "vm_state_set_and_kvm_arch_arm_pmu_mismatch",
              "kvm->arch.pmu_filter && (kvm->arch.arm_pmu != arm_pmu)"),
        # the patch adds a case label to a pre-existing `if (kvm_vcpu_has_pmu(vcpu))
        # return 0;` whose ENXIO is after the switch, outside the hunk: the vocabulary's
        # mainline context of kvm_arm_pmu_v3_has_attr (`after: true`)
        Found(9, "KVM_HAS_DEVICE_ATTR(KVM_ARM_VCPU_PMU_V3_CTRL/KVM_ARM_VCPU_PMU_V3_SET_PMU)",
              "not_vcpu_has_pmu", "!kvm_vcpu_has_pmu(vcpu)"),
    ]),
    "fw-bmap-v7-02": Entry("fw-bmap-v7-02", [
        Found(1, SET_BMAP, "not_vcpu_initialised", "!kvm_vcpu_initialized(vcpu)"),
        Found(2, SET_BMAP, "reg_copy_faults", "copy_from_user(&reg"),
        Found(3, SET_BMAP, "id_not_arm64", "KVM_REG_ARM64"),
        Found(4, SET_BMAP, "id_size_mismatch", "KVM_REG_SIZE(reg->id) != sizeof(val)"),
        Found(5, SET_BMAP, "value_copy_faults", "copy_from_user(&val"),
        Found(6, SET_BMAP, "id_not_a_case", "reg->id != KVM_REG_ARM_STD_BMAP"),
        Found(7, SET_BMAP, "val_invalid_bits", "val & (~KVM_ARM_SMCCC_STD_FEATURES)"),
        Found(8, SET_BMAP, "vm_has_run", "test_bit(KVM_ARCH_FLAG_HAS_RAN_ONCE"),
        # the copy to reg->addr after the register switch, which the diff does not
        # show: the vocabulary's mainline context of kvm_arm_get_fw_reg (`after: true`)
        Found(10, "KVM_GET_ONE_REG(KVM_REG_ARM_STD_BMAP)", "value_copy_faults",
              "copy_to_user(reg->addr"),
    ]),
    "sve-finalize-pull-22": Entry("sve-finalize-pull-22", [
        Found(1, "KVM_ARM_VCPU_FINALIZE", "not_vcpu_initialised", "!kvm_vcpu_initialized(vcpu)"),
        Found(2, "KVM_ARM_VCPU_FINALIZE", "user_read_faults", "get_user(what"),
        Found(3, "KVM_ARM_VCPU_FINALIZE", "kvm_arm_vcpu_finalize", "kvm_arm_vcpu_finalize(vcpu, what)"),
        Missing(4, "SVE finalization came with patches 23-25/56, not in the corpus", absent=True),
        Missing(5, "SVE finalization came with patches 23-25/56, not in the corpus", absent=True),
        Missing(6, "SVE finalization came with patches 23-25/56, not in the corpus", absent=True),
        Found(8, "KVM_RUN", "arg_nonzero", "arg"),
        Found(9, "KVM_RUN", "not_vcpu_initialised", "!kvm_vcpu_initialized(vcpu)"),
        # the posted kvm_arm_vcpu_is_finalized() is a placeholder (`true`): the check is
        # read with the vocabulary's concept (vcpu_finalized)
        Found(10, "KVM_RUN", "not_vcpu_finalized", "!kvm_arm_vcpu_is_finalized(vcpu)"),
        # the hunk shows `if (unlikely(!kvm_vcpu_initialized(vcpu))) break;` but not the
        # `r = -ENOEXEC;` above it: the errno is the vocabulary's mainline context of
        # `kvm_arch_vcpu_ioctl case KVM_GET_REG_LIST`
        Found(11, "KVM_GET_REG_LIST", "not_vcpu_initialised", "!kvm_vcpu_initialized(vcpu)"),
        # the hunk adds to the KVM_GET_REG_LIST case without showing its label: the
        # vocabulary knows the case by its copy of struct kvm_reg_list
        Found(12, "KVM_GET_REG_LIST", "not_vcpu_finalized",
              "!kvm_arm_vcpu_is_finalized(vcpu)"),
        Found(13, "KVM_GET_REG_LIST", "user_read_faults",
              "copy_from_user(&reg_list, user_list"),
        # pre-existing, after the hunk: the case's mainline context (`after: true`)
        Found(14, "KVM_GET_REG_LIST", "n_below_reg_count", "reg_list.n < kvm_arm_num_regs(vcpu)"),
    ]),
    "smccc-filter-v3-09": Entry("smccc-filter-v3-09", [
        Found(1, SET_SMCCC, "attr_copy_faults", "copy_from_user(&attr"),
        Found(2, SET_SMCCC, "group_not_a_case", "attr->group != KVM_ARM_VM_SMCCC_CTRL"),
        Found(3, SET_SMCCC, "attr_not_a_case", "attr->attr != KVM_ARM_VM_SMCCC_FILTER"),
        Found(4, SET_SMCCC, "user_read_faults", "copy_from_user(&filter, uaddr"),
        Found(5, SET_SMCCC, "bytes_nonzero", "memcmp(filter.pad, zero_page"),
        Found(6, SET_SMCCC, "end_below", "end < start"),
        Found(7, SET_SMCCC, "filter_action_at_least", "filter.action >= NR_SMCCC_FILTER_ACTIONS"),
        Found(8, SET_SMCCC, "vm_has_run", "kvm_vm_has_ran_once(kvm)"),
        # `r = mtree_insert_range(...); if (r) goto out_unlock;`: the helper's errors
        # as the vocabulary lists them
        Found(9, SET_SMCCC, "range_overlaps", "mtree_insert_range(&kvm->arch.smccc_filter"),
        Found(10, SET_SMCCC, "host_memory_exhausted", "== -ENOMEM"),
        Found(12, HAS_SMCCC, "attr_not_a_case", "attr->attr != KVM_ARM_VM_SMCCC_FILTER"),
        # the patch adds SET and HAS of the group on the VM fd but no GET: arm64's
        # default for KVM_GET_DEVICE_ATTR on a VM fd (the vocabulary's entry point)
        Found(13, "KVM_GET_DEVICE_ATTR(KVM_ARM_VM_SMCCC_CTRL)", DEFAULT, "1"),
    ]),
    "x86-nx-huge-pages-v6-08": Entry("x86-nx-huge-pages-v6-08", [
        Found(1, "KVM_ENABLE_CAP(KVM_CAP_VM_DISABLE_NX_HUGE_PAGES)", *CAP_COPY),
        Found(2, "KVM_ENABLE_CAP(KVM_CAP_VM_DISABLE_NX_HUGE_PAGES)", "flags_nonzero", "cap->flags"),
        # SOURCES.md: "order differs: posted checks args[0] first (row 4)"
        Found(4, "KVM_ENABLE_CAP(KVM_CAP_VM_DISABLE_NX_HUGE_PAGES)", "args_0_nonzero", "cap->args[0]"),
        Found(3, "KVM_ENABLE_CAP(KVM_CAP_VM_DISABLE_NX_HUGE_PAGES)", "not_caller_capable",
              "!capable(CAP_SYS_BOOT)"),
        Found(5, "KVM_ENABLE_CAP(KVM_CAP_VM_DISABLE_NX_HUGE_PAGES)", "vcpus_created",
              "kvm->created_vcpus"),
        # the x86 operation's request on arm64: the vocabulary's entry-point default
        Found(9, "KVM_ENABLE_CAP(KVM_CAP_VM_DISABLE_NX_HUGE_PAGES) on arm64", DEFAULT, "1"),
    ], note="x86 contrast case: posted order args[0] before CAP_SYS_BOOT"),
}


@dataclass
class Score:
    entry: str
    truth: int = 0                 # errno rows of the table
    absent: int = 0                # rows the posted code does not make
    found: int = 0                 # found, errno and condition right, in order
    plannable: int = 0             # of those, with a planned case
    problems: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def score(name: str, spec, truth: dict[str, list[Row]], plannable: set[tuple[str, str]]) -> Score:
    """How `spec` (extracted from corpus/<name>.txt) meets its ground truth."""
    entry = TRUTH[name]
    rows = {r.number: r for r in truth[entry.table]}
    errno_rows = [r for r in truth[entry.table] if r.errno]
    s = Score(name, truth=len(errno_rows))
    listed = {x.row for x in entry.rows}
    for r in errno_rows:
        if r.number not in listed:
            s.problems.append(f"row {r.number} ({r.condition}) is not in TRUTH")
    by_op: dict[str, list[tuple[Found, int]]] = {}
    for x in entry.rows:
        if isinstance(x, Missing):
            s.absent += x.absent
            s.missing.append(f"row {x.row}: {x.reason}")
            continue
        try:
            op = _exits_as_operation(spec) if x.op == RUN else spec.operation(x.op)
        except KeyError:
            s.problems.append(f"row {x.row}: no operation {x.op}")
            continue
        c = next((c for c in op.checks if c.id == x.check), None)
        if c is None:
            s.problems.append(f"row {x.row}: {x.op} has no check {x.check}")
            continue
        want = rows[x.row].errno
        if (c.errno.name if c.errno else "") != want:
            s.problems.append(f"row {x.row}: {x.check} returns {c.errno}, the table {want}")
            continue
        if x.text not in c.condition:
            s.problems.append(f"row {x.row}: {x.check} is `{c.condition}`, not `{x.text}`")
            continue
        by_op.setdefault(x.op, []).append((x, c.order))
    for op, seq in by_op.items():
        orders = [o for _, o in seq]
        for k, (x, o) in enumerate(seq):
            if all(p < o for p in orders[:k]) and all(o < q for q in orders[k + 1:]):
                s.found += 1
                s.plannable += (op, x.check) in plannable
            else:
                s.problems.append(f"row {x.row}: {x.check} is check {o} of {op}, out of order")
    return s


def _exits_as_operation(spec):
    """The exits of spec.guest as the checks of one KVM_RUN operation: the
    side where KVM_RUN fails with an errno (`otherwise`) is a check whose
    condition is the guard's negation, in the order the rules are found."""
    from generator.model import Check, CheckKind, GuestRuleKind, Operation, OpKind, Source
    from generator.model import errno_from_name
    checks = []
    for r in spec.guest:
        if r.kind is GuestRuleKind.EXIT and r.otherwise.startswith("-E"):
            checks.append(Check(r.id, len(checks) + 1, f"!({r.when})",
                                errno_from_name(r.otherwise), CheckKind.STATE, [],
                                r.predicates, r.otherwise_source or r.source))
    if not checks:
        raise KeyError(RUN)
    return Operation(RUN, OpKind.INTERNAL, "", "vcpu", checks, None, Source(spec.seed, 0))


def plannable_checks(spec) -> set[tuple[str, str]]:
    """(operation, check id) pairs some planned case violates."""
    from generator.model import OpKind
    from generator.plan import PlanError
    from generator.plan.ops import _OpPlanner, load_vocabulary
    vocab = load_vocabulary()
    out: set[tuple[str, str]] = set()
    for op in spec.operations:
        if op.kind in (OpKind.INTERNAL,):
            continue
        try:
            p = _OpPlanner(spec, op, vocab)
            cases = p.violation_cases() + p.fatal_cases() + p.pair_cases()
        except PlanError:
            continue
        for case in cases:
            for v in case.violates:
                out.add((op.name, v))
    # an exit's errno side: a guest case of its rule without the capability
    from generator.model.case import StepKind
    from generator.plan.guest import plan_guest
    for case in plan_guest(spec, vocab):
        if any(s.kind is StepKind.GUEST_EXIT for s in case.steps) and case.id.endswith(".disabled"):
            out.add((RUN, case.clause))
    return out


def table() -> list[Score]:
    from generator.extract import extract_spec
    truth = ground_truth()
    out = []
    for name in TRUTH:
        spec = extract_spec(CORPUS / f"{name}.txt", name)
        out.append(score(name, spec, truth, plannable_checks(spec)))
    return out


if __name__ == "__main__":
    scores = table()
    print("| corpus entry | ground-truth errno checks | absent from the posted code | "
          "extracted in the right order | plannable (got a case) |")
    print("|---|---|---|---|---|")
    for s in scores:
        print(f"| {s.entry} | {s.truth} | {s.absent} | {s.found} | {s.plannable} |")
    for s in scores:
        for p in s.problems:
            print(f"PROBLEM {s.entry}: {p}")
