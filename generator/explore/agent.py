"""Build the guest-side agent of `kconform explore` for one spec, and the
step rows it reads.

The agent (templates/kconform_agent.c) is static and hand-written; what
is the spec's own -- its uAPI structs, its ops table with one fill function
per argument struct, its capability bindings -- comes from the spec's
generated test (generator.render.c.render_c), included by the agent with
its `main` renamed, so a step the agent runs is the very step a generated
test runs (templates/kconform_runtime.h: kc_step).

`step_row` writes one `S` line of the agent's protocol from a case IR step
(generator.model.case), with every size resolved at the running page size.
"""
from __future__ import annotations

from pathlib import Path

from generator.explore.domain import gating_caps
from generator.model import OpKind, Spec
from generator.model.case import (ArgPointer, Case, CheckExtension, CreateVm, Fill, Step,
                                  StepKind, StepRole, Val)
from generator.plan.ops import op_cap
from generator.render.c import CapBinding, copy_runtime, op_defs, render_c

AGENT_SOURCE = Path(__file__).resolve().parents[2] / "templates" / "kconform_agent.c"
STEP_TIMEOUT = 10            # seconds a step may take in the guest (alarm)


def agent_name(spec: Spec) -> str:
    return f"agent_{spec.name.replace('-', '_')}"


def spec_caps(spec: Spec) -> list[str]:
    """Every capability the spec names or one of its operations is about."""
    names = [c.name for c in spec.capabilities]
    names += [op_cap(o) for o in spec.operations
              if o.kind in (OpKind.ENABLE_CAP, OpKind.CHECK_EXTENSION)]
    names += gating_caps(spec)
    return list(dict.fromkeys(n for n in names if n))


def _caps_case(spec: Spec) -> Case:
    """A case naming every capability, so the rendered test binds them all
    (the agent never runs it: it only needs the bindings table)."""
    steps = [CreateVm()] + [CheckExtension(StepRole.SUBJECT, cap=c) for c in spec_caps(spec)]
    return Case(id="agent.caps", spec=spec.name, clause="bindings", source=spec_source(spec),
                description="the capabilities the agent binds", steps=steps[:8])


def spec_source(spec: Spec):
    from generator.model.spec import Source
    return Source(seed=spec.seed, line=0)


def write_agent_sources(spec: Spec, out_dir: Path,
                        binding: CapBinding = CapBinding.HEADER) -> Path:
    """kconform_agent_ops.h (the spec's test, rendered) and the runtime
    headers beside a copy of the agent; returns the agent's C file."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ops = out_dir / "kconform_agent_ops.h"
    text = render_c(spec, [_caps_case(spec)], binding)
    if not ops.exists() or ops.read_text() != text:
        ops.write_text(text)
    copy_runtime(out_dir)
    src = out_dir / "kconform_agent.c"
    if not src.exists() or src.read_bytes() != AGENT_SOURCE.read_bytes():
        src.write_bytes(AGENT_SOURCE.read_bytes())
    return src


def build_agent(spec: Spec, out_dir: Path, binding: CapBinding = CapBinding.HEADER,
                step_timeout: int = STEP_TIMEOUT) -> Path:
    """Cross-compile the agent for `spec`; returns the static arm64 binary."""
    from generator.runner.build import compile_one
    src = write_agent_sources(spec, Path(out_dir) / spec.name, binding)
    flags = [f'-DKC_AGENT_SPEC="{spec.name}"', f"-DKC_AGENT_NOPS={len(op_defs(spec))}",
             f"-DKC_AGENT_STEP_TIMEOUT={int(step_timeout)}", "-Wno-unused-function"]
    built = compile_one(src, Path(out_dir) / "bin", include_dirs=[src.parent],
                        extra_cflags=flags, output_name=agent_name(spec))
    return built.binary


# ---------------------------------------------------------------- rows
def op_indices(spec: Spec) -> dict[str, int]:
    """Spec operation name -> its index in the agent's kc_ops table."""
    return {d.name: i for i, d in enumerate(op_defs(spec))}


def _field_values(spec: Spec, step: Step, page_size: int) -> list[int]:
    d = next(d for d in op_defs(spec) if d.name == step.op)
    return [step.value(f).resolve(page_size) for f in d.fields]


def step_row(spec: Spec, step: Step, page_size: int, caps: dict[str, int]) -> str:
    """The agent's `S` line for `step` (caps: capability name -> number)."""
    k = step.kind
    op = op_indices(spec).get(step.op, 0) if k is StepKind.VM_IOCTL else 0
    cap = 0
    if step.cap:
        cap = step.cap_number if step.cap_number is not None else caps[step.cap]
    flags = getattr(step, "flags", 0)
    args = tuple(getattr(step, "args", (0, 0, 0, 0)))
    slot = getattr(step, "slot", 0)
    ipa = getattr(step, "guest_ipa", Val()).resolve(page_size)
    pages = getattr(step, "pages", 0)
    argp = list(ArgPointer).index(getattr(step, "arg", ArgPointer.VALID))
    b = step.buffer
    buf = (0, 0, 0, 0, 0) if b is None else (
        1, b.length.resolve(page_size), b.valid.resolve(page_size),
        list(Fill).index(b.fill), b.seed)
    values = _field_values(spec, step, page_size) if k is StepKind.VM_IOCTL else []
    kind = list(StepKind).index(k) + 1          # enum kc_step_kind starts at 1
    nums = [kind, op, cap, flags, *args, slot, ipa, pages, argp, *buf, len(values), *values]
    while nums and not nums[-1]:            # the agent reads missing numbers as 0
        nums.pop()
    return "S " + " ".join(f"{int(n) & 0xFFFFFFFFFFFFFFFF:x}" for n in nums)


def sequence_text(spec: Spec, case_id: str, steps: list[Step], page_size: int,
                  caps: dict[str, int]) -> str:
    """One `X` header and its `S` lines."""
    lines = [f"X {case_id} {len(steps)}"]
    lines += [step_row(spec, s, page_size, caps) for s in steps]
    return "\n".join(lines) + "\n"


__all__ = ["build_agent", "write_agent_sources", "agent_name", "step_row",
           "sequence_text", "spec_caps", "op_indices"]
