"""The device-tree transform of host profile two-pmus (generator.runner.dtb)."""
import dataclasses
import shutil
import subprocess

import pytest

from generator.runner import dtb
from generator.runner.qemu import AARCH64, qemu_command
from generator.runner.snapshot import SnapshotKey


class FakeTree:
    """An in-memory device tree (nodes -> props) with the Tree interface."""

    def __init__(self, nodes: dict):
        self.nodes = {k: dict(v) for k, v in nodes.items()}

    def subnodes(self, path):
        prefix = path.rstrip("/") + "/"
        return [p[len(prefix):] for p in self.nodes
                if p.startswith(prefix) and p != prefix and "/" not in p[len(prefix):]]

    def cells(self, path, prop):
        v = self.nodes[path].get(prop)
        return list(v) if isinstance(v, tuple) else None

    def strings(self, path, prop):
        v = self.nodes[path].get(prop)
        return list(v) if isinstance(v, list) else None

    def set_cells(self, path, prop, values):
        self.nodes[path][prop] = tuple(values)

    def set_strings(self, path, prop, values):
        self.nodes[path][prop] = list(values)

    def create(self, path):
        assert path not in self.nodes
        self.nodes[path] = {}

    def remove(self, path):
        del self.nodes[path]


def virt_like(cpus=2):
    nodes = {"/": {}, "/pmu": {"compatible": ["arm,armv8-pmuv3"], "interrupts": (1, 7, 4)},
             "/uart": {"interrupts": (0, 1, 4)},
             "/rtc": {"interrupts": (0, 32, 4, 0, 33, 4)},   # two SPIs, both in use
             "/cpus": {}, "/cpus/cpu-map": {}}
    for i in range(cpus):
        nodes[f"/cpus/cpu@{i}"] = {"device_type": ["cpu"], "phandle": (0x8002 - i,)}
    return FakeTree(nodes)


def test_split_gives_each_cpu_its_own_pmu_on_a_free_spi():
    t = virt_like()
    made = dtb.split_pmu(t)
    assert made == ["/pmu-cpu0", "/pmu-cpu1"]
    assert "/pmu" not in t.nodes
    a, b = (t.nodes[n] for n in made)
    assert a["interrupt-affinity"] == (0x8002,) and b["interrupt-affinity"] == (0x8001,)
    assert a["compatible"][0] != b["compatible"][0]          # distinct perf names
    assert a["compatible"][1] == b["compatible"][1] == "arm,armv8-pmuv3"
    spis = {a["interrupts"][1], b["interrupts"][1]}
    assert len(spis) == 2 and not spis & {1, 32, 33}         # no SPI already in use
    assert a["interrupts"][0] == b["interrupts"][0] == 0     # SPIs, not PPIs


def test_split_refuses_one_cpu_and_no_pmu():
    with pytest.raises(dtb.DtbError, match="at least two"):
        dtb.split_pmu(virt_like(cpus=1))
    t = virt_like()
    del t.nodes["/pmu"]
    with pytest.raises(dtb.DtbError, match="0 nodes compatible"):
        dtb.split_pmu(t)


def test_for_profile_gives_the_registry_profiles_smp_and_dtb(tmp_path, monkeypatch):
    from generator.model.hostfeatures import registry
    from generator.runner import qemu
    from generator.runner.qemu import for_profile
    seen = []
    monkeypatch.setattr(qemu, "emulator_info", lambda b: qemu.EmulatorInfo(b, "10.0", "QEMU 10.0", b))
    monkeypatch.setattr(dtb, "profile_dtb", lambda p, c, cache, banner: seen.append(
        (p.dtb, c.smp, banner)) or tmp_path / "t.dtb")
    config = for_profile(AARCH64, registry().profile("two-pmus"), tmp_path)
    assert config.smp == 2 and config.dtb == str(tmp_path / "t.dtb")
    assert seen == [("split_pmu", 2, "QEMU 10.0")]   # the tree is dumped for 2 vCPUs
    assert config.profile == "two-pmus"
    assert dataclasses.replace(config, smp=AARCH64.smp, dtb="", profile="default") == AARCH64
    cmd = qemu_command(config, tmp_path / "k", tmp_path / "i")
    assert cmd[cmd.index("-dtb") + 1] == config.dtb and cmd[cmd.index("-smp") + 1] == "2"
    assert "-dtb" not in qemu_command(AARCH64, tmp_path / "k", tmp_path / "i")
    # a cpu profile keeps QEMU's own tree
    assert for_profile(AARCH64, registry().profile("no-pmu"), tmp_path).dtb == ""
    bad = dataclasses.replace(registry().profile("two-pmus"), dtb="three_pmus")
    monkeypatch.undo()
    with pytest.raises(dtb.DtbError, match="unknown device-tree transform 'three_pmus'"):
        dtb.profile_dtb(bad, config, tmp_path, "QEMU 10.0")


def test_snapshot_key_names_the_device_tree(tmp_path):
    f = tmp_path / "a.dtb"
    f.write_bytes(b"tree")
    args = dict(kernel="k", qemu="q", initramfs="i", disk_bytes=1, agent="a")
    plain = SnapshotKey.of(AARCH64, **args)
    assert "dtb" not in plain.as_dict()                       # digest as before
    other = SnapshotKey.of(dataclasses.replace(AARCH64, dtb=str(f)), **args)
    assert other.digest != plain.digest
    f.write_bytes(b"another tree")
    assert SnapshotKey.of(dataclasses.replace(AARCH64, dtb=str(f)), **args).digest != other.digest


DTS = """/dts-v1/;
/ {
	#address-cells = <2>; #size-cells = <2>; interrupt-parent = <&gic>;
	gic: intc@8000000 { compatible = "arm,gic-v3"; interrupt-controller; #interrupt-cells = <3>; };
	pmu { compatible = "arm,armv8-pmuv3"; interrupts = <1 7 4>; };
	uart@9000000 { interrupts = <0 1 4>; };
	cpus { #address-cells = <1>; #size-cells = <0>;
		cpu0: cpu@0 { device_type = "cpu"; reg = <0>; };
		cpu1: cpu@1 { device_type = "cpu"; reg = <1>; };
		cpu-map { };
	};
	dummy { refs = <&cpu0 &cpu1>; };
};
"""


@pytest.mark.skipif(not all(shutil.which(t) for t in ("dtc", "fdtget", "fdtput")),
                    reason="device-tree-compiler is not installed")
def test_split_with_debians_tools(tmp_path):
    src, out = tmp_path / "t.dts", tmp_path / "t.dtb"
    src.write_text(DTS)
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(out), str(src)], check=True)
    fdt = dtb.Fdt(out)
    phandles = [fdt.cells(f"/cpus/cpu@{i}", "phandle") for i in range(2)]
    assert made_ok(dtb.split_pmu(fdt), fdt, phandles)
    text = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(out)], capture_output=True,
                          text=True, check=True).stdout
    assert "pmu {" not in text and text.count('"arm,armv8-pmuv3"') == 0
    assert text.count("arm,armv8-pmuv3") == 2                # the fallback of each new node


def made_ok(made, fdt, phandles):
    assert made == ["/pmu-cpu0", "/pmu-cpu1"]
    for node, ph in zip(made, phandles):
        assert fdt.cells(node, "interrupt-affinity") == ph
        assert fdt.cells(node, "interrupts")[0] == 0
    assert fdt.strings(made[0], "compatible") != fdt.strings(made[1], "compatible")
    return True
