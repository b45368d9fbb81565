"""Case planning for the guest rules of a spec (spec.guest).

Phases:
  1. find the capability the rules depend on (the vocabulary concept
     `cap_enabled` of their predicates) and the operation that enables it;
  2. per rule, cases with the capability enabled and not, each on a fresh
     VM with one vCPU running the guest runtime (templates/guest/):
     an ID register field read with KVM_GET_ONE_REG and by the guest with
     `mrs`; registers a visibility function hides, through
     KVM_GET_REG_LIST, KVM_GET_ONE_REG and KVM_SET_ONE_REG; the guest's own
     access to them (trap control); PSTATE.TCO on entry to an exception
     KVM injects;
  3. the capability enabled before and after the vCPU exists;
  4. tags: the guest's `stg` read by the VMM's tag-copy ioctl, the VMM's
     tags read by the guest's `ldg`, untouched pages, and tags across a
     host page-out to swap.
Register encodings and field positions come from the vocabulary's `guest`
section; every case points at the patch line of its rule.
"""
from __future__ import annotations

from typing import Optional

from generator.model.case import (GUEST_UNBACKED_IPA, SLOT, SLOT_BASE_PAGES, SLOT_PAGES,
                                  AddMemslot, Case, CreateVm, EnableCap, GetOneReg, Guest,
                                  GuestExit, GuestOp, Pageout, RegList, Report, RunFieldRead,
                                  SetOneReg, Step, StepRole, Untested, Val, VcpuStart)
from generator.model.case import Gap

from generator.plan.ops import PlanError, Vocabulary, _OpPlanner, load_vocabulary, op_cap
from generator.extract.exits import run_field_meaning
from generator.extract.guest import GuestVocabulary, load_guest_vocabulary
from generator.model import GuestRule, GuestRuleKind, OpKind, Spec

STATES = (("enabled", True), ("disabled", False))
TAG_PAGES = 4


class _GuestPlanner:
    def __init__(self, spec: Spec, vocab: Vocabulary, gvoc: GuestVocabulary):
        self.spec, self.vocab, self.gvoc = spec, vocab, gvoc
        self.cap = self._cap()
        self.enable = next((o for o in spec.operations if o.kind is OpKind.ENABLE_CAP
                            and op_cap(o) == self.cap), None)
        self.enable_error: Optional[PlanError] = None
        try:
            planner = _OpPlanner(spec, self.enable, vocab) if self.enable else None
        except PlanError as e:          # e.g. the capability is a vCPU one
            if not all(r.kind is GuestRuleKind.EXIT for r in spec.guest):
                raise
            self.enable_error, planner = e, None
        self.skip_reason = (planner.skip_reason() if planner else
                            f"{self.cap} is not reported by KVM_CHECK_EXTENSION")
        self.answers_value = planner.cap_answers_a_value() if planner else False
        self.gaps: list[Untested] = []

    def _cap(self) -> str:
        for r in self.spec.guest:
            if r.cap:
                return r.cap
        for r in self.spec.guest:
            for p in r.predicates:
                e = self.vocab.lookup(p.spelling.split("(")[0].strip())
                if e is not None and e.concept == "cap_enabled":
                    return dict(e.args).get("cap", "")
        return ""

    # -- steps
    def setup(self, enabled: bool, slot: bool = False) -> list[Step]:
        steps = [CreateVm()]
        if enabled:
            steps.append(self.enable_step())
        if slot:
            steps.append(AddMemslot(slot=SLOT,
                              guest_ipa=Val(pages=SLOT_BASE_PAGES), pages=SLOT_PAGES))
        steps.append(VcpuStart())
        return steps

    def enable_step(self) -> Step:
        return EnableCap(role=StepRole.SUBJECT if self.enable else StepRole.SETUP,
                    op=self.enable.name if self.enable else "", cap=self.cap)

    def sysreg(self, name: str, rule: GuestRule) -> str:
        self.gvoc.encoding(name, lambda message: PlanError(rule.source, message))
        return name

    def field(self, rule: GuestRule) -> dict:
        f = self.gvoc.fields.get(rule.name)
        if f is None:
            raise PlanError(rule.source, f"field {rule.name} is not in the "
                            "vocabulary's guest.fields")
        return f

    def case(self, rule: GuestRule, name: str, description: str, steps: list[Step],
             enabled: bool, source=None) -> Case:
        return Case(id=f"guest.{rule.id}.{name}", spec=self.spec.name, clause=rule.id,
                    source=source or rule.source, description=description, steps=steps,
                    requires_cap=self.cap if enabled else "",
                    requires_value=bool(enabled) and self.answers_value,
                    skip_reason=self.skip_reason if enabled else "")

    # -- rules
    def id_field(self, r: GuestRule) -> list[Case]:
        f = self.field(r)
        reg = self.sysreg(r.subject, r)
        out = []
        for state, on in STATES:
            get = GetOneReg(StepRole.SUBJECT, op=r.id, reg=reg,
                       shift=f["shift"], width=f["width"])
            mrs = Guest(StepRole.SUBJECT, op=r.id, reg=reg, guest_op=GuestOp.MRS,
                       report=Report.FIELD, shift=f["shift"], width=f["width"])
            what = f"{r.value} when `{r.when}`, else {r.otherwise}"
            out += [self.case(r, f"get_one_reg.{state}",
                              f"KVM_GET_ONE_REG({reg}).{r.name}, {self.cap} {state}: {what}",
                              self.setup(on) + [get], on),
                    self.case(r, f"mrs.{state}",
                              f"the guest's mrs {reg}: {r.name}, {self.cap} {state}: {what}",
                              self.setup(on) + [mrs], on)]
        return out

    def visibility(self, r: GuestRule) -> list[Case]:
        regs = tuple(self.sysreg(n, r) for n in r.registers)
        out = []
        for state, on in STATES:
            out.append(self.case(
                r, f"reg_list.{state}",
                f"KVM_GET_REG_LIST lists {', '.join(regs)} exactly when `{r.when}` "
                f"({self.cap} {state})",
                self.setup(on) + [RegList(StepRole.SUBJECT, op=r.id,
                                       regs=regs)], on))
            for reg, src in zip(regs, r.register_sources):
                out.append(self.case(
                    r, f"{reg.lower()}.one_reg.{state}",
                    f"KVM_GET_ONE_REG and KVM_SET_ONE_REG of {reg}, {self.cap} {state}: "
                    f"{r.value} when `{r.when}`, else {r.otherwise}",
                    self.setup(on) + [
                        GetOneReg(StepRole.SUBJECT, op=r.id, reg=reg),
                        SetOneReg(StepRole.SUBJECT, op=r.id, reg=reg)],
                    on))
        return out

    def trap_control(self, r: GuestRule) -> list[Case]:
        untraps = self.gvoc.hcr.get(r.name, {}).get("untraps", [])
        vis = next((v for v in self.spec.guest if v.kind is GuestRuleKind.REG_VISIBILITY
                    and v.access), None)
        if "mte_registers" not in untraps or vis is None:
            return []
        regs = [self.sysreg(n, r) for n in vis.registers]
        out = []
        for state, on in STATES:
            steps = self.setup(on) + [
                Guest(StepRole.SUBJECT, op=r.id, reg=reg, guest_op=GuestOp.MRS,
                     report=Report.ACCESS) for reg in regs]
            out.append(self.case(
                r, f"mrs.{state}",
                f"the guest reads {', '.join(regs)}: {r.name} set when `{r.when}` "
                f"untraps them, else they trap to `{vis.access}` ({self.cap} {state})",
                steps, on))
        return out

    def exception(self, r: GuestRule) -> list[Case]:
        probe = self.gvoc.injected_exception.get("register")
        if not probe:
            raise PlanError(r.source, "the vocabulary's guest.injected_exception names "
                            "no register whose access KVM answers with an exception")
        reg = self.sysreg(probe, r)
        return [self.case(
            r, state,
            f"{r.name} in PSTATE on entry to the UNDEF KVM injects for "
            f"the guest's mrs {reg}: set when `{r.when}` ({self.cap} {state})",
            self.setup(on) + [Guest(StepRole.SUBJECT, op=r.id, reg=reg,
                                   guest_op=GuestOp.MRS, report=Report.TCO)], on)
            for state, on in STATES]

    def before_after(self) -> list[Case]:
        fld = next((r for r in self.spec.guest if r.kind is GuestRuleKind.ID_FIELD), None)
        vis = next((r for r in self.spec.guest if r.kind is GuestRuleKind.REG_VISIBILITY),
                   None)
        if fld is None or self.enable is None:
            return []
        f = self.field(fld)
        observe = [Guest(StepRole.SUBJECT, op=fld.id, reg=fld.subject,
                        guest_op=GuestOp.MRS, report=Report.FIELD, shift=f["shift"], width=f["width"])]
        if vis is not None:
            observe.append(RegList(StepRole.SUBJECT, op=vis.id,
                                regs=tuple(vis.registers)))
        en = self.enable_step()
        before = [CreateVm(), VcpuStart(), en] + observe
        after = [CreateVm(), en, VcpuStart()] + observe
        vc = next((c for c in self.enable.checks
                   if any(p.concept == "vcpus_created" for p in c.predicates)), None)
        return [
            self.case(fld, "vcpu_before_cap",
                      f"a vCPU created before {self.cap} is enabled: enabling fails "
                      f"and the guest sees {fld.name} = {fld.otherwise}",
                      before, True, source=vc.source if vc else None),
            self.case(fld, "vcpu_after_cap",
                      f"a vCPU created after {self.cap} is enabled: the guest sees "
                      f"{fld.name} = {fld.value}", after, True)]

    def exit(self, r: GuestRule) -> list[Case]:
        """The guest's event with the capability enabled (KVM_RUN exits with
        the rule's reason; each run field the patch fills whose value the
        reference knows is read) and not (KVM_RUN fails with the errno, or
        the call returns to the guest with the value the guest reads)."""
        if r.value_source is None:
            raise PlanError(r.source, f"{r.name} is stated by the documentation only "
                            f"({r.doc_source}): no code of the patch sets it, so the guard, "
                            "the guest event and the run fields it fills are unknown")
        if not r.cap:
            raise PlanError(r.source, f"{r.name}: no capability of the spec makes "
                            f"`{r.when}` true")
        if not r.trigger:
            raise PlanError(r.source, f"{r.name} is set in {r.function}, which the "
                            "vocabulary's guest.triggers does not list: no guest event is "
                            "known to reach it")
        if self.enable_error is not None:
            raise PlanError(r.source, f"{r.cap} cannot be enabled by a step: "
                            f"{self.enable_error.detail}")
        op, args = self.trigger(r)
        feats = []
        for f in r.vcpu_features:
            if f not in self.gvoc.vcpu_features:
                raise PlanError(r.source, f"vCPU feature {f} is not in the vocabulary's "
                                "guest.vcpu_features")
            feats.append((f, int(self.gvoc.vcpu_features[f])))
        if not r.otherwise:
            raise PlanError(r.source, f"{r.name}: what {r.function} does when `{r.when}` "
                            "does not hold is not in the patch")
        event = GuestExit(StepRole.SUBJECT, op=r.id, guest_op=op, gargs=args)
        what = f"the guest's {op.value}" + (f" of {r.trigger_arg}" if r.trigger_arg else
                                             f" from IPA {args[0]:#x} (no memslot)")
        fields = []
        for f in r.run_fields:
            meaning = run_field_meaning(self.spec, r, f, self.gvoc)
            if meaning is None:
                self.gaps.append(Untested(
                    self.spec.name, "guest", f"{r.id}.{f.path}", f.source, Gap.NOT_EVALUABLE,
                    f"run->{f.path} = {f.expr}: the reference cannot evaluate `{f.expr}` "
                    f"(neither a constant of the spec nor a value of the vocabulary's "
                    f"guest.triggers.{r.function})"))
            else:
                fields.append(RunFieldRead(StepRole.SUBJECT, op=r.id, field=f.path,
                                           mask=meaning[2] if meaning[0] == "bits" else 0))
        start = VcpuStart(features=tuple(feats))
        on = [CreateVm(), self.enable_step(), start, event] + fields
        off = [CreateVm(), start, event]
        errno = r.otherwise.startswith("-E")
        if not errno:
            off.append(RunFieldRead(StepRole.SUBJECT, op=r.id))
        result = (f"KVM_RUN fails with {r.otherwise.lstrip('-')}" if errno else
                  f"the call returns {r.otherwise} to the guest")
        return [
            self.case(r, "enabled", f"{what}, {r.cap} enabled: KVM_RUN returns 0 with "
                      f"exit_reason {r.value}" + (f" and {', '.join(f.field for f in fields)}"
                                                   if fields else ""), on, True),
            self.case(r, "disabled", f"{what}, {r.cap} not enabled: {result}", off, False,
                      source=r.otherwise_source)]

    def trigger(self, r: GuestRule) -> tuple[GuestOp, tuple]:
        if r.trigger == "nisv_abort":
            return GuestOp.LDP, (GUEST_UNBACKED_IPA,)
        if r.trigger in ("hvc", "smc"):
            fid = self.gvoc.function_ids.get(r.trigger_arg)
            if fid is None:
                raise PlanError(r.source, f"function id {r.trigger_arg or '(none)'} is not in "
                                "the vocabulary's guest.function_ids")
            return GuestOp(r.trigger), (int(fid), 0, 0)
        raise PlanError(r.source, f"trigger {r.trigger} has no guest runtime command")

    def tags(self, r: GuestRule) -> list[Case]:
        copy = next((o for o in self.spec.operations if o.kind is OpKind.IOCTL
                     and o.buffer is not None and o.loop), None)
        if copy is None:
            return []
        p = _OpPlanner(self.spec, copy, self.vocab)
        if not p.addr_field:
            return []

        def ioctl(to_guest: bool, seed: int, note: str) -> Step:
            d = p.base(to_guest, TAG_PAGES)
            d.fields[p.addr_field] = Val(pages=SLOT_BASE_PAGES)
            return p.call(d, seed, note)

        def guest(op: GuestOp, seed: int = 0) -> Step:
            args = (Val(pages=SLOT_BASE_PAGES), Val(pages=TAG_PAGES), Val(bytes=seed))
            return Guest(StepRole.SUBJECT, op=r.id, guest_op=op,
                        gargs=args if op is GuestOp.STG else args[:2],
                        report=Report.COUNT if op is GuestOp.STG else Report.TAGS)
        base = self.setup(True, slot=True)
        return [
            self.case(r, "guest_stg_vmm_reads",
                      f"the guest sets a tag per granule with stg over {TAG_PAGES} pages; "
                      f"{copy.name} reads the same tags back",
                      base + [guest(GuestOp.STG, 5), ioctl(False, 0, "read")], True),
            self.case(r, "vmm_writes_guest_ldg",
                      f"{copy.name} writes a tag per granule over {TAG_PAGES} pages; the "
                      "guest's ldg reads the same tags",
                      base + [ioctl(True, 6, "write"), guest(GuestOp.LDG)], True),
            self.case(r, "untouched_guest_ldg",
                      f"pages nobody tagged read as tag 0 from the guest (`{r.name}` "
                      "when the guest first maps them)", base + [guest(GuestOp.LDG)], True),
            self.case(r, "swap",
                      "the guest tags 4 pages, the host pushes the VMM's mapping out to "
                      "swap (MADV_PAGEOUT), the guest's ldg and the VMM's tag copy "
                      "bring them back with the same tags",
                      base + [guest(GuestOp.STG, 7), Pageout(slot=SLOT),
                              guest(GuestOp.LDG), ioctl(False, 0, "read")], True),
        ]


def plan_guest(spec: Spec, vocab: Optional[Vocabulary] = None,
               gvoc: Optional[GuestVocabulary] = None,
               untested: Optional[list] = None) -> list[Case]:
    """The guest cases of a spec; none when it has no guest rule.  A rule
    no case can be planned for is appended to `untested` with why."""
    if not spec.guest:
        return []
    vocab = vocab or load_vocabulary()
    gp = _GuestPlanner(spec, vocab, gvoc or load_guest_vocabulary(vocab.path))
    gaps = untested if untested is not None else []
    gp.gaps = gaps
    if not gp.cap:
        for r in spec.guest:
            try:
                if r.kind is GuestRuleKind.EXIT:
                    gp.exit(r)              # says why it cannot be planned
            except PlanError as e:
                gaps.append(Untested(spec.name, "guest", r.id, r.source, Gap.NOT_TARGETED,
                                     e.detail))
                continue
            gaps.append(Untested(spec.name, "guest", r.id, r.source, Gap.NOT_TARGETED,
                                 f"guest rule {r.id}: no capability of the spec enables it"))
        return []
    by_kind = {GuestRuleKind.ID_FIELD: gp.id_field,
               GuestRuleKind.REG_VISIBILITY: gp.visibility,
               GuestRuleKind.TRAP_CONTROL: gp.trap_control,
               GuestRuleKind.EXCEPTION_PSTATE: gp.exception,
               GuestRuleKind.TAG_INIT: gp.tags,
               GuestRuleKind.EXIT: gp.exit}
    out: list[Case] = []
    for r in spec.guest:
        try:
            out += by_kind[r.kind](r)
        except PlanError as e:           # one rule never stops the others
            gaps.append(Untested(spec.name, "guest", r.id, r.source, Gap.UNMAPPED, e.detail))
    try:
        return out + gp.before_after()
    except PlanError as e:
        gaps.append(Untested(spec.name, "guest", "before_after", e.source, Gap.UNMAPPED,
                             e.detail))
        return out
