"""Figures of `kconform explore` (bench/bench.py --explore): printed, never asserted.

In one boot of the kernel, with the mte-v10 agent:
  * the channel's round trip: a batch holding no sequence (the host writes
    `F`, the agent answers its flush line), mean of N;
  * the marginal cost of a step in the guest, measured by the guest's own
    clock (the agent's `us=` per sequence), apart from the channel: the
    set-up prelude plus 5 steps against plus 1, per extra step, for
    KVM_CHECK_EXTENSION and for a one-page KVM_ARM_MTE_COPY_TAGS, one lane;
    creating and destroying the VM; what the host adds per sequence;
  * reference-checked steps per second, and the time for 10,000 steps, of
    an exploration (generation + live execution + judging; shrinking apart),
    with each generator (Hypothesis strategies and a seeded random.Random),
    and the guest's own time per step in it (agent clock, summed over lanes)
    beside the round trips it took;
  * the time to shrink each divergence class found, in steps executed and
    seconds;
  * the same 64 sequences in one guest lane and in all of them, interleaved.
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
        fig["guest_lanes"] = ex.lanes
        n = 50
        t = time.perf_counter()
        for _ in range(n):
            vm.run_batch([])
        fig["channel_round_trip_ms"] = round((time.perf_counter() - t) / n * 1000, 2)

        cap = next(o for o in domain.ops if o.cap)
        copy = next(o for o in domain.ops if o.has_buffer)
        check = CheckExtension(StepRole.SUBJECT, op=cap.op.name, cap=cap.cap)
        pre = domain.prelude()

        def guest_ms(steps_of, reps=3) -> tuple[float, float]:
            """(guest ms, wall ms) per sequence of 16-sequence batches, best of reps."""
            best = None
            for r in range(reps):
                cases = [domain.case(f"b{r}.{i}", steps_of()) for i in range(16)]
                g0 = ex.stats.guest_seconds
                t = time.perf_counter()
                ex.execute(cases)
                wall = time.perf_counter() - t
                got = ((ex.stats.guest_seconds - g0) / 16 * 1000, wall / 16 * 1000)
                best = got if best is None or got[0] < best[0] else best
            return best

        vm.set_lanes(1)                  # a step's own cost, one process at a time
        for name, extra in (("check_extension", lambda k: [check] * k),
                            ("copy_tags_1_page", lambda k: [domain.call(copy, {})] * k)):
            short = guest_ms(lambda: [CreateVm(), *pre, *extra(1)])
            long = guest_ms(lambda: [CreateVm(), *pre, *extra(5)])
            fig[f"guest_step_ms_{name}"] = round((long[0] - short[0]) / 4, 3)
        one = guest_ms(lambda: [CreateVm()])
        fig["guest_ms_create_and_destroy_vm"] = round(one[0], 2)
        fig["host_ms_per_sequence_beyond_guest"] = round(one[1] - one[0], 2)
        vm.set_lanes(ex.lanes)

        # one lane against all of them, interleaved so the load hits both alike
        from generator.explore.explore import generate
        seqs = generate(domain, 64, 1, 8)
        nsteps = sum(len(q) for q in seqs)
        per = {1: [], ex.lanes: []}
        for rep in range(3):
            for lanes in per:
                vm.set_lanes(lanes)
                cases = [domain.case(f"l{lanes}.{rep}.{i}", q) for i, q in enumerate(seqs)]
                t = time.perf_counter()
                ex.execute(cases)
                per[lanes].append(nsteps / (time.perf_counter() - t))
        vm.set_lanes(ex.lanes)
        for lanes, rates in per.items():
            fig[f"steps_per_s_{lanes}_lane(s)"] = [round(x) for x in rates]
        fig["lanes_speedup"] = round(sum(per[ex.lanes]) / sum(per[1]), 2) if ex.lanes > 1 else 1.0

        for gen in Generator:
            g0, rt0, rts0 = ex.stats.guest_seconds, ex.stats.round_trips, ex.stats.seconds
            r = Explorer(spec, module, ex, seed=0,
                         budget=Budget(steps=steps, generator=gen)).run()
            tag = gen.value
            fig[f"{tag}_guest_ms_per_step"] = round((ex.stats.guest_seconds - g0) / r.steps * 1000, 2)
            fig[f"{tag}_round_trips"] = ex.stats.round_trips - rt0
            fig[f"{tag}_ms_per_round_trip"] = round(
                (ex.stats.seconds - rts0) / max(1, ex.stats.round_trips - rt0) * 1000, 1)
            fig[f"{tag}_steps_checked"] = r.checked_steps
            fig[f"{tag}_sequences"] = r.examples
            fig[f"{tag}_seconds_for_steps"] = round(r.seconds, 2)
            fig[f"{tag}_steps_per_s"] = round(r.checked_steps / r.seconds, 1)
            fig[f"{tag}_generate_s"] = round(r.generate_seconds, 2)
            fig[f"{tag}_execute_s"] = round(r.execute_seconds, 2)
            fig[f"{tag}_judge_s"] = round(r.seconds - r.generate_seconds - r.execute_seconds, 2)
            fig[f"{tag}_classes"] = len(r.confirmed)
            fig[f"{tag}_seconds_with_shrinking"] = round(
                r.seconds + sum(f.shrink.seconds for f in r.findings if f.shrink), 2)
            for f in r.findings:
                s = f.shrink
                fig[f"{tag}_shrink[{f.cls.check} -> {f.cls.observed}]"] = (
                    f"{s.start_steps}->{s.final_steps} steps, {s.rounds} rounds, "
                    f"{s.steps} steps executed, {s.seconds:.2f} s")
        ex.stop()
    return fig
