"""Host profiles that change the emulated board's device tree.

QEMU's `virt` board describes one PMUv3 for all CPUs (a PPI).  A
big.LITTLE board has one PMU per cluster, and KVM then lists several host
PMUs (arm_pmus, one entry per registered PMUv3 arm_pmu): what
KVM_ARM_VCPU_PMU_V3_SET_PMU chooses between.  A profile here boots the
same board with a device tree QEMU generated and this module transformed:

* :func:`dump_dtb` -- QEMU's own tree for a configuration (`-machine
  ...,dumpdtb=FILE`);
* :class:`Fdt` -- reads and edits a flattened tree through Debian's
  device-tree-compiler tools (`fdtget`, `fdtput`): no FDT code of our own;
* :func:`split_pmu` -- the transform: the one PMU node becomes one node
  per CPU, each with its own SPI and `interrupt-affinity` to that CPU
  (drivers/perf/arm_pmu_platform.c pmu_parse_irqs then gives each PMU
  one CPU) and a distinct core compatible (perf names a PMU after it,
  and two PMUs cannot share a name); the SPIs never fire;
* :data:`TRANSFORMS` / :func:`profile_dtb` -- the transforms a host
  profile of specs/host-features.yaml names (`dtb: split_pmu`) and its
  `-dtb` file, built once per QEMU version and configuration under
  ``<cache>/runner/dtb/`` (generator.runner.qemu.for_profile).

Measured on Debian 6.12 under QEMU 10.0 (-smp 2, profile two-pmus):
armv8_cortex_a53 (cpus 0) and armv8_cortex_a57 (cpus 1) probe with
distinct perf types, /dev/kvm works, and SET_PMU of the other PMU after a
PMU event filter returns EBUSY.
"""
from __future__ import annotations

import dataclasses
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional, Protocol, Sequence

from generator.runner.errors import RunnerError

PMU_COMPATIBLE = "arm,armv8-pmuv3"
# core PMUs of the perf driver (drivers/perf/arm_pmuv3.c armv8_pmu_of_device_ids),
# one per CPU of the split: each registers under its own name
CORE_PMUS = ("arm,cortex-a53-pmu", "arm,cortex-a57-pmu", "arm,cortex-a72-pmu",
             "arm,cortex-a55-pmu", "arm,cortex-a76-pmu", "arm,cortex-a78-pmu")
GIC_SPI, IRQ_LEVEL_HIGH = 0, 4       # GIC interrupt specifier: type, flags
FIRST_SPI = 32                       # below: the virt board's own devices
TOOLS_HINT = "install Debian's device-tree-compiler (apt-get install device-tree-compiler)"


class DtbError(RunnerError):
    """A device tree the profile cannot build or transform."""


class Tree(Protocol):
    """What the transform reads and writes of a device tree."""
    def subnodes(self, path: str) -> list[str]: ...
    def cells(self, path: str, prop: str) -> Optional[list[int]]: ...
    def strings(self, path: str, prop: str) -> Optional[list[str]]: ...
    def set_cells(self, path: str, prop: str, values: Sequence[int]) -> None: ...
    def set_strings(self, path: str, prop: str, values: Sequence[str]) -> None: ...
    def create(self, path: str) -> None: ...
    def remove(self, path: str) -> None: ...


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise DtbError(f"'{name}' not found: {TOOLS_HINT}")
    return path


class Fdt:
    """A .dtb file, read with fdtget and edited in place with fdtput."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._get, self._put = _tool("fdtget"), _tool("fdtput")

    def _run(self, argv: list[str], missing_ok: bool = False) -> Optional[str]:
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode == 0:
            return proc.stdout
        if missing_ok and "FDT_ERR_NOTFOUND" in proc.stderr:
            return None
        raise DtbError(f"{Path(argv[0]).name} {' '.join(argv[1:])}: "
                       f"{proc.stderr.strip() or 'failed'}")

    def subnodes(self, path: str) -> list[str]:
        out = self._run([self._get, "-l", str(self.path), path])
        return [line for line in out.split("\n") if line]

    def cells(self, path: str, prop: str) -> Optional[list[int]]:
        out = self._run([self._get, "-t", "x", str(self.path), path, prop], missing_ok=True)
        return None if out is None else [int(w, 16) for w in out.split()]

    def strings(self, path: str, prop: str) -> Optional[list[str]]:
        # fdtget prints a string list joined by spaces (compatible strings hold none)
        out = self._run([self._get, "-t", "s", str(self.path), path, prop], missing_ok=True)
        return None if out is None else out.split()

    def set_cells(self, path: str, prop: str, values: Sequence[int]) -> None:
        self._run([self._put, "-t", "x", str(self.path), path, prop,
                   *(format(v, "x") for v in values)])

    def set_strings(self, path: str, prop: str, values: Sequence[str]) -> None:
        self._run([self._put, "-t", "s", str(self.path), path, prop, *values])

    def create(self, path: str) -> None:
        self._run([self._put, "-c", str(self.path), path])

    def remove(self, path: str) -> None:
        self._run([self._put, "-r", str(self.path), path])


def _join(parent: str, name: str) -> str:
    return f"{parent.rstrip('/')}/{name}"


def _nodes(tree: Tree, path: str = "/") -> list[str]:
    out = []
    for name in tree.subnodes(path):
        child = _join(path, name)
        out += [child] + _nodes(tree, child)
    return out


def used_spis(tree: Tree, nodes: Sequence[str]) -> set[int]:
    """SPI numbers the tree's `interrupts` properties use (3-cell GIC
    specifiers whose type is SPI)."""
    used = set()
    for node in nodes:
        cells = tree.cells(node, "interrupts") or []
        if len(cells) % 3:
            continue
        used |= {cells[i + 1] for i in range(0, len(cells), 3) if cells[i] == GIC_SPI}
    return used


def split_pmu(tree: Tree, compatibles: Sequence[str] = CORE_PMUS) -> list[str]:
    """Replace the tree's PMUv3 node by one PMU per CPU (see the module
    docstring); returns the new nodes' paths, in CPU order."""
    nodes = _nodes(tree)
    pmus = [n for n in nodes if PMU_COMPATIBLE in (tree.strings(n, "compatible") or [])]
    if len(pmus) != 1:
        raise DtbError(f"the device tree has {len(pmus)} nodes compatible with "
                       f"{PMU_COMPATIBLE}; the split needs exactly one")
    cpus = [n for n in nodes if n.startswith("/cpus/")
            and tree.strings(n, "device_type") == ["cpu"]]
    if len(cpus) < 2:
        raise DtbError(f"the device tree has {len(cpus)} CPU node(s); one PMU per CPU "
                       "needs at least two (boot with -smp 2 or more)")
    if len(cpus) > len(compatibles):
        raise DtbError(f"{len(cpus)} CPUs, but only {len(compatibles)} distinct core PMU "
                       "compatibles to name their PMUs")
    used = used_spis(tree, nodes)
    spis = [n for n in range(FIRST_SPI, FIRST_SPI + 64 + len(cpus)) if n not in used]
    tree.remove(pmus[0])
    parent = pmus[0].rsplit("/", 1)[0] or "/"
    made = []
    for i, cpu in enumerate(cpus):
        phandle = tree.cells(cpu, "phandle")
        if not phandle:
            raise DtbError(f"CPU node {cpu} has no phandle for interrupt-affinity")
        node = _join(parent, f"pmu-cpu{i}")
        tree.create(node)
        tree.set_strings(node, "compatible", [compatibles[i], PMU_COMPATIBLE])
        tree.set_cells(node, "interrupts", [GIC_SPI, spis[i], IRQ_LEVEL_HIGH])
        tree.set_cells(node, "interrupt-affinity", phandle[:1])
        made.append(node)
    return made


# ---------------------------------------------------------------- profiles
# the device-tree transforms a host profile can name (specs/host-features.yaml
# profiles.<name>.dtb): name -> function editing a Tree in place
TRANSFORMS = {"split_pmu": split_pmu}


def dump_dtb(config, out: Path) -> Path:
    """QEMU's device tree for `config` (a runner.qemu.QemuConfig:
    `-machine ...,dumpdtb=out`)."""
    binary = shutil.which(config.binary)
    if binary is None:
        raise DtbError(f"'{config.binary}' not found: no QEMU to dump the device tree")
    argv = [binary, "-M", f"{config.machine},dumpdtb={out}", "-cpu", config.cpu,
            "-smp", str(config.smp), "-m", str(config.memory_mb), "-nographic",
            "-net", "none"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0 or not Path(out).is_file():
        raise DtbError(f"{' '.join(argv)} wrote no device tree: "
                       f"{proc.stderr.strip() or proc.stdout.strip() or 'no output'}")
    return Path(out)


def profile_dtb(profile, config, cache: Path, banner: str) -> Path:
    """The device tree of host profile `profile` (a
    generator.model.hostfeatures.Profile naming a transform in `dtb`) for
    `config` (a runner.qemu.QemuConfig with the profile's smp, cpu and
    machine already set): QEMU's own, transformed; built once per QEMU
    version (`banner`, runner.qemu.EmulatorInfo) and configuration under
    `cache`.  (runner.qemu.for_profile calls it; this module imports no
    QEMU code of its own.)"""
    transform = TRANSFORMS.get(profile.dtb)
    if transform is None:
        raise DtbError(f"host profile {profile.name}: unknown device-tree transform "
                       f"{profile.dtb!r}; known: {', '.join(sorted(TRANSFORMS))}")
    key = "|".join([banner, config.machine, config.cpu, str(config.smp),
                    str(config.memory_mb), profile.name, profile.dtb])
    path = Path(cache) / "dtb" / f"{profile.name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.dtb"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kconform-dtb-", dir=path.parent) as tmp:
        dtb = dump_dtb(config, Path(tmp) / "qemu.dtb")
        transform(Fdt(dtb))
        dtb.replace(path)                 # atomic: a reader sees all of it or none
    return path
