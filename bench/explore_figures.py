"""Figures of `kconform explore` (bench/bench.py --explore): printed, never asserted.

In one boot of the kernel, with the mte-v10 agent:
  * the channel's round trip: a batch holding no sequence (the host writes
    `F`, the agent answers its flush line), mean of N;
  * the marginal cost of a step in the guest, measured apart from the
    channel: batches of 16 sequences of 8 steps against 16 of 2 steps (the
    same number of round trips and VM creations), per extra step, for
    KVM_CHECK_EXTENSION and for a one-page KVM_ARM_MTE_COPY_TAGS;
  * reference-checked steps per second, and the time for 10,000 steps, of
    an exploration (generation + live execution + judging; shrinking apart),
    with each generator (Hypothesis strategies and a seeded random.Random);
  * the time to shrink each divergence class found, in steps executed and
    seconds.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path


def explore_figures(kernel_name: str = "debian-6.12", steps: int = 10_000) -> dict:
    from generator.explore.agent import agent_name, build_agent
    from generator.explore.choose import Generator
    from generator.explore.domain import Domain
    from generator.explore.execute import LiveExecutor
    from generator.explore.explore import Budget, Explorer
    from generator.model.case import CheckExtension, CreateVm, StepRole
    from generator.run.pipeline import load_named_spec
    from generator.runner.agent import AgentVM
    from generator.runner.kernels import resolve_kernel
    from generator.verdict.crosscheck import reference_module

    spec = load_named_spec("mte-v10")
    module = reference_module(spec)
    domain = Domain.of(spec)
    work = Path(tempfile.mkdtemp(prefix="kconform-bench-explore-"))
    agent = build_agent(spec, work)
    kernel = resolve_kernel(kernel_name)
    fig: dict = {}
    t0 = time.perf_counter()
    with AgentVM(kernel, [agent], work / "console.log") as vm:
        fig["explore_boot_s"] = round(time.perf_counter() - t0, 2)
        ex = LiveExecutor.start(vm, spec, agent_name(spec))
        n = 50
        t = time.perf_counter()
        for _ in range(n):
            vm.run_batch([])
        fig["channel_round_trip_ms"] = round((time.perf_counter() - t) / n * 1000, 2)

        cap = next(o for o in domain.ops if o.cap)
        copy = next(o for o in domain.ops if o.has_buffer)
        check = CheckExtension(StepRole.SUBJECT, op=cap.op.name, cap=cap.cap)
        pre = domain.prelude()

        def timed(steps_of, reps=3) -> float:
            best = None
            for r in range(reps):
                cases = [domain.case(f"b{r}.{i}", steps_of()) for i in range(16)]
                t = time.perf_counter()
                ex.execute(cases)
                dt = time.perf_counter() - t
                best = dt if best is None else min(best, dt)
            return best

        for name, extra in (("check_extension", lambda k: [check] * k),
                            ("copy_tags_1_page", lambda k: [domain.call(copy, {})] * k)):
            short = timed(lambda: [CreateVm(), *pre, *extra(1)])
            long = timed(lambda: [CreateVm(), *pre, *extra(5)])
            fig[f"guest_step_ms_{name}"] = round((long - short) / (16 * 4) * 1000, 3)
        one = timed(lambda: [CreateVm()])
        fig["guest_sequence_ms_create_vm_only"] = round(one / 16 * 1000, 2)

        for gen in Generator:
            r = Explorer(spec, module, ex, seed=0,
                         budget=Budget(steps=steps, generator=gen)).run()
            tag = gen.value
            fig[f"{tag}_steps_checked"] = r.checked_steps
            fig[f"{tag}_sequences"] = r.examples
            fig[f"{tag}_seconds_for_steps"] = round(r.seconds, 2)
            fig[f"{tag}_steps_per_s"] = round(r.checked_steps / r.seconds, 1)
            fig[f"{tag}_generate_s"] = round(r.generate_seconds, 2)
            fig[f"{tag}_execute_s"] = round(r.execute_seconds, 2)
            fig[f"{tag}_judge_s"] = round(r.seconds - r.generate_seconds - r.execute_seconds, 2)
            fig[f"{tag}_classes"] = len(r.confirmed)
            for f in r.findings:
                s = f.shrink
                fig[f"{tag}_shrink[{f.cls.check} -> {f.cls.observed}]"] = (
                    f"{s.start_steps}->{s.final_steps} steps, {s.rounds} rounds, "
                    f"{s.steps} steps executed, {s.seconds:.2f} s")
        ex.stop()
    return fig
