"""The architectures kconform boots, as frozen data: one entry per target.

Each :class:`TargetArch` says how to boot and feed one architecture's
kernel: the QEMU configuration (runner.qemu), the Debian architecture its
kernel and busybox packages come from (runner.kernels), the compiler that
builds static test binaries for it (runner.build), the KVM modules /init
loads when the kernel has KVM as a module, and whether the MTE platform
check (runner.platform) applies.  ``kernel_dir`` is the kernel source's
``arch/<dir>``: an operation whose handler lives there is run on this
target (generator.run.arches).
"""
from __future__ import annotations

import dataclasses
import lzma
import subprocess
from pathlib import Path
from typing import Optional

from generator.errors import KconformError
from generator.runner.qemu import AARCH64, X86_64, QemuConfig
from generator.runner.swap import MODULE_DIR, GuestSetup, ModuleError, is_builtin, module_closure

KVM_LOG = "/tmp/kconform-kvm.log"


@dataclasses.dataclass(frozen=True)
class TargetArch:
    name: str                     # "arm64" | "x86_64" (QemuConfig.arch)
    kernel_dir: str               # arch/<dir> of the kernel source
    debian: str                   # Debian's architecture of its packages
    qemu: QemuConfig
    qemu_package: str             # the Debian package with the emulator
    cc: str                       # compiler of static test binaries
    cc_package: str               # what to install when it is missing
    kvm_modules: tuple[str, ...] = ()   # loaded (with their dependencies) if modular
    platform_check: bool = False  # runner.platform's MTE sanity check runs first
    snapshots: bool = False       # the saved guest agent (runner.snapshot) serves it


ARM64 = TargetArch(
    name="arm64", kernel_dir="arm64", debian="arm64", qemu=AARCH64,
    qemu_package="qemu-system-arm", cc="aarch64-linux-gnu-gcc",
    cc_package="gcc-aarch64-linux-gnu libc6-dev-arm64-cross",
    platform_check=True, snapshots=True)

# TCG emulates AMD's SVM (not Intel's VMX): the guest kernel runs KVM
# through kvm_amd (measured: Debian 6.12 has /dev/kvm 11 s after start,
# "kvm_amd: Nested Virtualization enabled").
X86 = TargetArch(
    name="x86_64", kernel_dir="x86", debian="amd64", qemu=X86_64,
    qemu_package="qemu-system-x86", cc="gcc", cc_package="gcc libc6-dev",
    kvm_modules=("kvm_amd",))

ARCHES: dict[str, TargetArch] = {a.name: a for a in (ARM64, X86)}
DEFAULT_ARCH = ARM64


def target_arch(name: str) -> TargetArch:
    """The architecture named `name` (also by its kernel directory or its
    Debian name: x86, amd64); a clear error naming the valid ones."""
    for a in ARCHES.values():
        if name in (a.name, a.kernel_dir, a.debian):
            return a
    raise KconformError(f"{name!r} is not an architecture kconform boots; options are "
                        + ", ".join(ARCHES))


def arch_of_config(config: QemuConfig) -> TargetArch:
    return target_arch(config.arch)


def for_kernel_dir(kernel_dir: str) -> Optional[TargetArch]:
    """The target whose kernel has `arch/<kernel_dir>` code (None: none)."""
    if kernel_dir in ("arm",):           # 32-bit arm KVM shared arm64's code
        return ARM64
    return next((a for a in ARCHES.values() if a.kernel_dir == kernel_dir), None)


def kvm_setup(arch: TargetArch, modules_dir: Optional[Path]) -> GuestSetup:
    """What /init does, before any test, so that /dev/kvm exists: load the
    architecture's KVM modules (dependencies first, read from each module's
    `depends=`), unless they are built in; a kernel without them gets a
    note in KVM_LOG instead (a test then finds no /dev/kvm and says so)."""
    if not arch.kvm_modules:
        return GuestSetup()
    if modules_dir is None or not Path(modules_dir).is_dir():
        return GuestSetup(early=(f"echo 'kvm: no modules directory' > {KVM_LOG}",),
                          summary="KVM modules: the kernel came without a modules directory")
    wanted = [m for m in arch.kvm_modules if not is_builtin(modules_dir, m)]
    try:
        mods = module_closure(modules_dir, wanted) if wanted else []
    except (ModuleError, OSError, lzma.LZMAError, subprocess.CalledProcessError) as e:
        return GuestSetup(early=(f"echo 'kvm: {e}' > {KVM_LOG}",),
                          summary=f"KVM modules cannot be loaded: {e}")
    files = tuple((f"{MODULE_DIR}/{n}.ko", elf) for n, elf in mods)
    early = tuple(f"insmod /{p} >> {KVM_LOG} 2>&1 || echo 'insmod {Path(p).name} failed' "
                  f">> {KVM_LOG}" for p, _ in files)
    return GuestSetup(files=files, early=early,
                      summary=f"KVM modules {', '.join(n for n, _ in mods) or 'built in'}")


def combine(*setups: GuestSetup) -> GuestSetup:
    """One set-up doing all of `setups` (files, early lines, lines in order)."""
    files: list = []
    seen = set()
    for s in setups:
        for name, data in s.files:
            if name not in seen:
                seen.add(name)
                files.append((name, data))
    return GuestSetup(tuple(files), tuple(l for s in setups for l in s.lines),
                      "; ".join(s.summary for s in setups if s.summary),
                      early=tuple(l for s in setups for l in s.early))
