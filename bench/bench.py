#!/usr/bin/env python3
"""kconform benchmark: prints figures, asserts nothing.

Measured in one invocation, on the same kernel, emulator and flags:
  * extract + generate (both MTE specs: extraction, case planning, C and
    reference rendering), best of N;
  * cross-compile time of the generated C;
  * the boot floor: an initramfs whose /init only powers off;
  * the boot-and-execute phase of a run (QEMU start to QEMU gone, tests in);
  * the whole warm-cache `kconform run` (a fresh process, as a user runs it);
  * both as ratios to the floor; the number of cases; the marginal cost per
    case ((boot-and-execute - floor) / cases).

Usage: python3 bench/bench.py [--kernel debian-6.12] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", default="debian-6.12")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args(argv)

    from generator import paths
    from generator.cases import plan
    from generator.extract import extract_spec
    from generator.render_c import CapBinding, render_c, write_c
    from generator.render_ref import render_reference
    from generator.runner.build import cross_compile
    from generator.runner.kernels import resolve_kernel
    from generator.runner.run import boot_floor, run_tests

    index = paths.series_index()
    mte = [n for n in ("mte-v8", "mte-v10") if n in index]

    def extract_generate():
        for name in mte:
            spec = extract_spec(paths.SEEDS / index[name]["seed"], name)
            cases = plan(spec)
            render_c(spec, cases, CapBinding.HEADER)
            render_reference(spec)

    t_gen = best(extract_generate, args.repeat)

    work = Path(tempfile.mkdtemp(prefix="kconform-bench-"))
    from generator.specio import load_spec
    spec = load_spec(paths.spec_path("mte-v10"))
    cases = plan(spec)
    c_file = write_c(spec, cases, work / "src", CapBinding.HEADER)
    t0 = time.perf_counter()
    built = cross_compile([c_file], work / "bin", include_dirs=[work / "src"])
    t_cc = time.perf_counter() - t0

    kernel = resolve_kernel(args.kernel)
    floor = min(boot_floor(kernel) for _ in range(2))
    outcome = run_tests([built.binaries[0].binary], kernel, per_test_timeout=300,
                        total_timeout=900, log_path=work / "console.log",
                        work_dir=work / "runner")
    boot_exec = outcome.timings.total

    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "generator.cli", "run", "--quiet",
                           "--kernel", args.kernel, "--results", str(work / "r.json")],
                          cwd=ROOT, capture_output=True, text=True)
    t_run = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)

    figures = {
        "cases": len(cases),
        "extract_generate_s_both_specs": round(t_gen, 3),
        "compile_s": round(t_cc, 3),
        "boot_floor_s": round(floor, 2),
        "boot_and_execute_s": round(boot_exec, 2),
        "boot_and_execute_over_floor": round(boot_exec / floor, 3),
        "whole_run_warm_s": round(t_run, 2),
        "whole_run_over_floor": round(t_run / floor, 3),
        "marginal_cost_per_case_ms": round(max(boot_exec - floor, 0) / len(cases) * 1000, 1),
        "kernel": outcome.kernel_release,
        "emulator": f"{outcome.emulator_name} {outcome.emulator_version}",
        "run_status": outcome.status.value,
        "kconform_run_exit": proc.returncode,
    }
    width = max(len(k) for k in figures)
    for k, v in figures.items():
        print(f"{k:<{width}}  {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
