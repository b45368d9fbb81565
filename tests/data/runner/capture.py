"""Re-capture the console logs in this directory from real boots.

    PYTHONPATH=. python3 tests/data/runner/capture.py [--qemu72 PATH]

Boots Debian's arm64 kernels under the installed QEMU (and, with --qemu72,
a QEMU 7.2 binary unpacked from bookworm's qemu-system-arm .deb) and writes
``*.log`` plus ``MEASUREMENTS.md``.  The unit tests only read the logs.
"""

import argparse
import dataclasses
import statistics
import sys
import tempfile
from pathlib import Path

from generator.runner import build, kernels, qemu
from generator.runner.run import boot_floor, run_tests

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"


def compile_all(out: Path) -> dict[str, Path]:
    res = build.cross_compile(sorted(SRC.glob("*.c")), out)
    return {b.binary.name: b.binary for b in res.binaries}


def show(name, outcome, notes):
    line = (f"- `{name}`: status {outcome.status.name}, release "
            f"{outcome.kernel_release}, page size {outcome.page_size}, "
            f"boot {outcome.timings.boot:.2f} s, execute "
            f"{outcome.timings.execute or 0:.2f} s, total "
            f"{outcome.timings.total:.2f} s; platform: "
            f"{outcome.platform.state.name}")
    print(line)
    print("   ", outcome.platform.sentence)
    if outcome.broke:
        print("    broke:", outcome.broke.splitlines()[0])
    notes.append(line)
    notes.append(f"  - platform: {outcome.platform.sentence}")
    notes.append(f"  - facts: {dict(outcome.platform.facts)}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu72", help="path to a QEMU 7.2 qemu-system-aarch64")
    ap.add_argument("--floor-runs", type=int, default=3)
    args = ap.parse_args()
    notes = ["# Measurements behind the captured logs", ""]
    emu = qemu.emulator_info()
    notes.append(f"Emulator: {emu.banner}")
    with tempfile.TemporaryDirectory() as tmp:
        bins = compile_all(Path(tmp))
        k612 = kernels.resolve_kernel("debian-6.12", log=print)
        k61 = kernels.resolve_kernel("debian-6.1", log=print)
        k16 = kernels.resolve_kernel("debian-6.12-16k", log=print)
        for k in (k612, k61, k16):
            notes.append(f"- {k.alias}: {k.package} {k.version} "
                         f"(release {k.release})")
        notes.append("")
        suite = [bins[n] for n in ("hello_ktap", "failing", "noisy",
                                   "nested", "sleeper")]
        o = run_tests(suite, k612, per_test_timeout=8, total_timeout=300,
                      log_path=HERE / "qemu10-complete.log", restore=False)
        show("qemu10-complete.log", o, notes)
        o = run_tests([bins["hello_ktap"], bins["crash"], bins["nested"]],
                      k612, per_test_timeout=30, total_timeout=300,
                      log_path=HERE / "panic.log", restore=False)
        show("panic.log", o, notes)
        o = run_tests([bins["hello_ktap"]], k16, per_test_timeout=30,
                      total_timeout=300, log_path=HERE / "debian-6.12-16k.log", restore=False)
        show("debian-6.12-16k.log", o, notes)
        o = run_tests([bins["hello_ktap"]], k61, per_test_timeout=30,
                      total_timeout=300, log_path=HERE / "debian-6.1.log", restore=False)
        show("debian-6.1.log", o, notes)
        # A kernel that cannot find its root: initrd of garbage.
        junk = Path(tmp) / "junk.gz"
        junk.write_bytes(b"\x00not an initramfs\x00" * 64)
        with open(HERE / "boot-failed.log", "w") as log, \
                qemu.QemuProcess(qemu.AARCH64, k612.vmlinuz, junk) as p:
            w = qemu.watch(p, boot_timeout=120, step_timeout=120,
                           total_timeout=120, is_progress=lambda l: False,
                           log=log)
        print("boot-failed.log:", w.reason, w.exit_status)
        if args.qemu72:
            old = dataclasses.replace(qemu.AARCH64, binary=args.qemu72)
            notes.append(f"QEMU 7.2: {qemu.emulator_info(args.qemu72).banner}")
            o = run_tests([bins["hello_ktap"]], k612, per_test_timeout=30,
                          total_timeout=300, config=old,
                          log_path=HERE / "qemu72-platform.log", restore=False)
            show("qemu72-platform.log", o, notes)
            # Without virtualization=on: is the fault specific to nesting?
            flat = dataclasses.replace(old, machine="virt,mte=on,gic-version=3")
            o = run_tests([bins["hello_ktap"]], k612, per_test_timeout=30,
                          total_timeout=300, config=flat,
                          log_path=Path(tmp) / "qemu72-el1.log", restore=False)
            show("QEMU 7.2 without virtualization=on (log not kept)", o,
                 notes)
        notes += ["", "## Boot floor (init only powers off)", ""]
        configs = [("installed", qemu.AARCH64)]
        if args.qemu72:
            configs.append(("7.2", old))
        for label, cfg in configs:
            for k in (k612, k61, k16):
                runs = [boot_floor(k, config=cfg)
                        for _ in range(args.floor_runs)]
                line = (f"- QEMU {label}, {k.alias}: median "
                        f"{statistics.median(runs):.2f} s "
                        f"(runs: {', '.join(f'{r:.2f}' for r in runs)})")
                print(line)
                notes.append(line)
    (HERE / "MEASUREMENTS.md").write_text("\n".join(notes) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
