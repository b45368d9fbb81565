#!/usr/bin/env python3
"""kconform benchmark: prints figures, asserts nothing.

Measured in one invocation, on the same kernel, emulator and flags:
  * extract + generate (both MTE specs: extraction, case planning, C and
    reference rendering), best of N;
  * prepare for the default run (mte-v10, lock-memslot-rfc-v5 and
    mmio-guard-v2: plan, render, cross-compile the test binaries and the
    BTF probe), of which the cross-compile;
  * the boot floor: an initramfs whose /init only powers off;
  * the boot-and-execute phase of a run (QEMU start to QEMU gone, the
    default run's binaries in);
  * the whole warm-cache `kconform run` (a fresh process, as a user runs it);
  * both as ratios to the floor; the number of cases (all specs of the
    default run) and of rules listed as not reachable; the marginal cost per
    case ((boot-and-execute - floor) / cases);
  * the kernel matrix: `kconform run` alone on each of debian-6.1,
    debian-6.12 and debian-6.12-16k (fresh processes), then `kconform run
    --matrix` on the same three with the default jobs (the machine's cores)
    and with one QEMU per kernel at once; the matrix wall time against the
    sum and the maximum of the single-kernel runs;
  * the exported kselftests (generator.export): fetching and unpacking
    Debian's linux-source-6.12 into an empty cache (the first run; the
    package lists are shared with the real cache), building the exported
    mte-v10, mte-v8 and lock-memslot-rfc-v5 tests in the tree with its
    library already built (warm), and booting the kernel with them (the
    boot-and-execute time and each binary's own time in the guest);
  * extraction time against input size: a thread of 1 and 5 MB (and 50
    with `--extract-sizes 1,5,50`; above the 16 MB seed limit, raised here
    by KCONFORM_MAX_SEED_MB) made of the v10 series followed by its review
    replies again and again; `--extract-only` prints only these.

With --explore, only the figures of `kconform explore` (bench/explore_figures.py).

Usage: python3 bench/bench.py [--kernel debian-6.12] [--repeat 3] [--no-matrix] [--explore]
                              [--no-kselftest | --kselftest-only]
                              [--extract-sizes 1,5[,50]] [--extract-only]
"""
from __future__ import annotations

import argparse
import json
import os
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
    ap.add_argument("--no-matrix", action="store_true", help="skip the kernel-matrix figures")
    ap.add_argument("--no-kselftest", action="store_true",
                    help="skip the exported-kselftest figures")
    ap.add_argument("--kselftest-only", action="store_true",
                    help="only the exported-kselftest figures")
    ap.add_argument("--extract-sizes", default="1,5",
                    help="thread sizes in MB to time extraction on (comma-separated)")
    ap.add_argument("--extract-only", action="store_true",
                    help="only the extraction-against-size figures")
    ap.add_argument("--explore", action="store_true",
                    help="only the figures of `kconform explore` (bench/explore_figures.py)")
    args = ap.parse_args(argv)
    sizes = [float(x) for x in args.extract_sizes.split(",") if x.strip()]
    if args.kselftest_only:
        return show(kselftest_figures(args.kernel,
                                      Path(tempfile.mkdtemp(prefix="kconform-bench-"))),
                    args.json)
    if args.extract_only:
        return show(extract_scaling(sizes), args.json)
    if args.explore:
        sys.path.insert(0, str(ROOT / "bench"))
        from explore_figures import explore_figures
        figures = explore_figures(args.kernel)
        width = max(len(k) for k in figures)
        for k, v in figures.items():
            print(f"{k:<{width}}  {v}")
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
        return 0

    from generator import paths
    from generator.plan import plan
    from generator.extract import extract_spec
    from generator.render.c import CapBinding, render_c
    from generator.render.reference import render_reference
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
    from generator.run.pipeline import DEFAULT_SPECS, RunRequest, prepare
    t0 = time.perf_counter()
    prep = prepare(RunRequest(spec=DEFAULT_SPECS[0], companions=DEFAULT_SPECS[1:],
                              binding=CapBinding.HEADER, work_dir=work / "prep"))
    t_prep = time.perf_counter() - t0
    t_cc = prep.timings["compile"]
    cases = prep.all_cases

    kernel = resolve_kernel(args.kernel)
    floor = min(boot_floor(kernel) for _ in range(2))
    outcome = run_tests(prep.binaries, kernel, per_test_timeout=300,
                        total_timeout=900, log_path=work / "console.log",
                        work_dir=work / "runner")
    boot_exec = outcome.timings.total

    def kconform_run(*extra: str) -> tuple[float, subprocess.CompletedProcess]:
        """A warm-cache `kconform run` in a fresh process, as a user runs it."""
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "generator.cli", "run", "--quiet",
                               "--work-dir", str(work / "cli"), *extra],
                              cwd=ROOT, capture_output=True, text=True)
        if proc.returncode not in (0, 1):
            print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
        return time.perf_counter() - t0, proc

    t_run, proc = kconform_run("--kernel", args.kernel, "--results", str(work / "r.json"))

    figures = {
        "specs": " ".join(DEFAULT_SPECS),
        "cases": len(cases),
        "rules_not_reachable": len(prep.listed),
        "extract_generate_s_both_specs": round(t_gen, 3),
        "prepare_s_default_run": round(t_prep, 3),
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
    if not args.no_matrix:
        figures.update(matrix_figures(kconform_run, work))
    if not args.no_kselftest:
        figures.update(kselftest_figures(args.kernel, work))
    figures.update(extract_scaling(sizes))
    return show(figures, args.json)


def show(figures: dict, json_path) -> int:
    width = max(len(k) for k in figures)
    for k, v in figures.items():
        print(f"{k:<{width}}  {v}")
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def extract_scaling(sizes_mb) -> dict:
    """Seconds to extract a thread of each size (MB), and per MB."""
    from generator import paths
    from generator.extract import extract_spec
    seed = (paths.SEEDS / "002_640e98e582cbc741.txt").read_text()
    lines = seed.split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("* Re: "))
    replies = "\n".join(lines[start:]) + "\n"
    out = {}
    old = os.environ.get("KCONFORM_MAX_SEED_MB")
    os.environ["KCONFORM_MAX_SEED_MB"] = str(max(sizes_mb, default=1) * 2)
    try:
        with tempfile.TemporaryDirectory(prefix="kconform-bench-extract-") as tmp:
            for mb in sizes_mb:
                text = seed
                while len(text) < mb * (1 << 20):
                    text += replies
                path = Path(tmp) / f"thread-{mb:g}MB.txt"
                path.write_text(text)
                t0 = time.perf_counter()
                extract_spec(path, "mte-v10")
                dt = time.perf_counter() - t0
                out[f"extract_s_{mb:g}MB"] = round(dt, 2)
                out[f"extract_s_per_MB_at_{mb:g}MB"] = round(dt / (len(text) / (1 << 20)), 2)
    finally:
        if old is None:
            os.environ.pop("KCONFORM_MAX_SEED_MB", None)
        else:
            os.environ["KCONFORM_MAX_SEED_MB"] = old
    return out


KSELFTEST_SPECS = ("mte-v10", "mte-v8", "lock-memslot-rfc-v5")


def kselftest_figures(kernel_name: str, work: Path) -> dict:
    """Fetch+unpack the tree into an empty cache, build warm, boot and run."""
    import dataclasses
    import shutil
    from generator import paths
    from generator.export.kselftest import render
    from generator.export.tree import build
    from generator.model.specio import load_spec
    from generator.runner.kernels import DebianArchive, cache_root, resolve_kernel
    from generator.runner.run import run_tests
    from generator.runner.source import SOURCE_PACKAGE, fetch_tree, resolve_source

    real = DebianArchive(cache_root())
    fresh = work / "fresh-cache"
    (fresh / "apt").mkdir(parents=True)
    os.symlink(real.lists, fresh / "apt" / "lists")
    for bin_cache in ("pkgcache.bin", "srcpkgcache.bin"):
        if (real.apt_dir / bin_cache).is_file():
            shutil.copyfile(real.apt_dir / bin_cache, fresh / "apt" / bin_cache)
    marks = []
    t0 = time.perf_counter()

    def mark(message: str) -> None:
        marks.append((message.split()[0], time.perf_counter() - t0))
    archive = DebianArchive(fresh, mark)
    version = archive.candidate(SOURCE_PACKAGE)[0]
    t0 = time.perf_counter()
    fetch_tree(archive, SOURCE_PACKAGE, version, fresh / "tree", mark)
    t_fetch = time.perf_counter() - t0
    phases = dict(marks)          # downloading / downloaded / unpacking / installing
    download = archive.download_log[-1] if archive.download_log else ("", 0, 0.0)
    shutil.rmtree(fresh, ignore_errors=True)

    tree = resolve_source()
    files = [render(load_spec(paths.spec_path(n))) for n in KSELFTEST_SPECS]
    build(files, tree)                       # the library objects, once
    stamp = f"\n/* bench {time.time():.0f} */\n"
    changed = [dataclasses.replace(f, text=f.text + stamp) for f in files]
    t0 = time.perf_counter()
    built = build(changed, tree)
    t_build = time.perf_counter() - t0
    kernel = resolve_kernel(kernel_name)
    outcome = run_tests([b.binary for b in built], kernel, per_test_timeout=300,
                        total_timeout=900, log_path=work / "kselftest-console.log",
                        work_dir=work / "runner")
    seconds = {t.name: t.seconds for t in outcome.tests}
    return {
        "kselftest_tree": f"{SOURCE_PACKAGE} {version}",
        "kselftest_fetch_unpack_s_first_run": round(t_fetch, 2),
        "kselftest_download_s_of_which": round(download[2], 2),
        "kselftest_dpkg_x_s_of_which": round(phases.get("unpacking", 0)
                                             - phases.get("downloaded", 0), 2),
        "kselftest_untar_s_of_which": round(phases.get("installing", t_fetch)
                                            - phases.get("unpacking", 0), 2),
        "kselftest_headers_s_of_which": round(t_fetch - phases.get("installing", t_fetch), 2),
        "kselftest_build_s_warm_3_tests": round(t_build, 2),
        "kselftest_boot_and_execute_s": round(outcome.timings.total, 2),
        "kselftest_run_s_in_guest": ", ".join(
            f"{b.name} {seconds.get(b.binary.name) or 0:.2f}" for b in built),
        "kselftest_cases": sum(len(f.exported) for f in files),
    }


MATRIX = ("debian-6.1", "debian-6.12", "debian-6.12-16k")


def matrix_figures(kconform_run, work: Path) -> dict:
    """The three-kernel matrix against the same kernels run one by one."""
    singles = {}
    for k in MATRIX:
        singles[k], _ = kconform_run("--kernel", k)
    cores = os.cpu_count() or 1
    t_matrix, proc = kconform_run("--matrix", "--results", str(work / "matrix.json"))
    t_all, proc_all = kconform_run("--matrix", "--jobs", str(len(MATRIX)))
    data = json.loads((work / "matrix.json").read_text())
    total, longest = sum(singles.values()), max(singles.values())
    out = {f"single_run_s_{k}": round(t, 2) for k, t in singles.items()}
    out.update({
        "cores": cores,
        "matrix_s_jobs_cores": round(t_matrix, 2),
        "matrix_over_sum_of_singles": round(t_matrix / total, 3),
        "matrix_over_max_single": round(t_matrix / longest, 3),
        f"matrix_s_jobs_{len(MATRIX)}": round(t_all, 2),
        f"matrix_jobs_{len(MATRIX)}_over_sum_of_singles": round(t_all / total, 3),
        "sum_of_singles_s": round(total, 2),
        "max_single_s": round(longest, 2),
        "matrix_columns": " ".join(f"{c['kernel']}:{c['state']}" for c in data["columns"]),
        "matrix_exit": proc.returncode,
        f"matrix_jobs_{len(MATRIX)}_exit": proc_all.returncode,
    })
    return out


if __name__ == "__main__":
    sys.exit(main())
