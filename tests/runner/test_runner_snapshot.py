"""Saved guests without booting: the snapshot key, the checks that reject a
truncated snapshot or one from another QEMU or kernel, the work disk, and
the lanes script run by the host's own shell (same busybox-compatible
commands) and parsed as the runner parses a console."""

import dataclasses
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from generator.runner import workdisk as agent
from generator.runner.build import content_key, cross_compile
from generator.runner.initramfs import GuestTest, Markers
from generator.runner.platform import PLATFORM_TEST
from generator.runner.qemu import AARCH64, EndReason, WatchResult
from generator.runner.run import RunStatus, outcome_from_lines
from generator.runner.snapshot import (SnapshotKey, check_snapshot, discard,
                                       prune_superseded, snapshot_for)


def _key(**over) -> SnapshotKey:
    base = SnapshotKey.of(AARCH64, kernel="linux-image-6.12 6.12.117-1",
                          qemu="QEMU emulator version 10.0.2", initramfs="ab" * 32,
                          disk_bytes=agent.DISK_BYTES, agent=agent.AGENT_VERSION)
    return dataclasses.replace(base, **over)


def _save(snap, data: bytes = b"x" * 4096, key=None) -> None:
    snap.directory.mkdir(parents=True)
    snap.state.write_bytes(data)
    snap.meta.write_text(json.dumps({"key": (key or snap.key).as_dict(),
                                     "state_bytes": len(data)}))


CHANGES = {"kernel": "linux-image-6.1 6.1.192-3", "qemu": "QEMU emulator version 9.2.0",
           "machine": "virt,mte=on", "cpu": "max", "smp": 3, "memory_mb": 2048,
           "kernel_args": ("quiet",), "initramfs": "cd" * 32, "disk_bytes": 1 << 20,
           "agent": "0", "arch": "x86_64", "dtb": "ef" * 32, "profile": "armv8.0"}


def test_every_field_of_the_key_changes_the_digest():
    assert set(CHANGES) == {f.name for f in dataclasses.fields(SnapshotKey)}
    digests = {_key().digest} | {_key(**{f: v}).digest for f, v in CHANGES.items()}
    assert len(digests) == len(CHANGES) + 1


def test_a_saved_snapshot_checks_out(tmp_path):
    snap = snapshot_for(_key(), tmp_path)
    assert check_snapshot(snap) == ""            # none yet
    _save(snap)
    assert check_snapshot(snap) is None


def test_a_truncated_state_is_rejected(tmp_path):
    snap = snapshot_for(_key(), tmp_path)
    _save(snap)
    with open(snap.state, "r+b") as f:
        f.truncate(1000)
    assert check_snapshot(snap) == "its state file is truncated (1000 of 4096 bytes)"


@pytest.mark.parametrize("field,words", [("qemu", "another QEMU"),
                                         ("kernel", "another kernel"),
                                         ("smp", "another vCPU count"),
                                         ("profile", "another host profile")])
def test_a_snapshot_from_another_qemu_or_kernel_is_rejected(tmp_path, field, words):
    snap = snapshot_for(_key(), tmp_path)
    _save(snap, key=_key(**{field: CHANGES[field]}))   # e.g. copied into place
    why = check_snapshot(snap)
    assert why.startswith(f"it is from {words} ({field} ")
    assert repr(CHANGES[field]) in why and "\n" not in why
    discard(snap)
    assert not snap.directory.exists() and check_snapshot(snap) == ""


def test_a_new_snapshot_prunes_the_ones_it_supersedes(tmp_path):
    new = snapshot_for(_key(), tmp_path)
    old_qemu = snapshot_for(_key(qemu=CHANGES["qemu"]), tmp_path)
    old_agent = snapshot_for(_key(initramfs=CHANGES["initramfs"]), tmp_path)
    other_kernel = snapshot_for(_key(kernel=CHANGES["kernel"]), tmp_path)
    other_smp = snapshot_for(_key(smp=CHANGES["smp"]), tmp_path)
    for s in (new, old_qemu, old_agent, other_kernel, other_smp):
        _save(s)
    import fcntl
    with open(tmp_path / "snapshots" / f"{old_agent.directory.name}.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_SH)          # a run restoring it right now
        gone = prune_superseded(new)
    assert gone == [old_qemu.directory]
    assert all(s.directory.exists() for s in (new, old_agent, other_kernel, other_smp))
    assert prune_superseded(new) == [old_agent.directory]


def test_unreadable_meta_is_rejected(tmp_path):
    snap = snapshot_for(_key(), tmp_path)
    _save(snap)
    snap.meta.write_text("{")
    assert check_snapshot(snap) == "its meta.json is missing or unreadable"


def test_work_disk_is_a_tar_of_the_script_and_binaries(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"\x7fELF" + b"a" * 5000)
    b.write_bytes(b"bb")
    disk = agent.write_work_disk([GuestTest("one", a), GuestTest("two", b)],
                                 "#!/bin/sh\n", tmp_path / "w.img", size=1 << 20)
    assert disk.path.stat().st_size == 1 << 20
    assert disk.blocks * agent.BLOCK == disk.payload and disk.payload % agent.BLOCK == 0
    head = disk.path.read_bytes()[:disk.payload]
    with tarfile.open(fileobj=io.BytesIO(head)) as t:
        assert t.getnames() == ["run.sh", "one", "two"]
        assert t.extractfile("one").read() == a.read_bytes()
    with pytest.raises(agent.InitramfsError, match="more than the agent's 0 MiB"):
        agent.write_work_disk([GuestTest("one", a)], "", tmp_path / "x.img", size=4096)
    with pytest.raises(agent.InitramfsError, match="two tests are named 'one'"):
        agent.write_work_disk([GuestTest("one", a), GuestTest("one", b)], "",
                              tmp_path / "y.img")


def test_agent_init_loads_the_disk_module_and_waits():
    text = agent.agent_init(["echo swap"], ["virtio_blk"])
    lines = text.splitlines()
    assert lines.index("echo swap") < lines.index(
        "insmod /lib/modules/agent/virtio_blk.ko") < next(
        i for i, l in enumerate(lines) if agent.AGENT_READY in l)
    assert "while read -r cmd blocks; do" in lines and lines[-1] == "poweroff -f"
    # no disk (a transport module missing): say so and never reach READY
    [guard] = [l for l in lines if agent.AGENT_NO_DISK in l]
    assert lines.index(guard) < next(i for i, l in enumerate(lines) if agent.AGENT_READY in l)
    assert guard.startswith(f"[ -b {agent.GUEST_DISK} ] ||")


def _fake_test(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


@pytest.mark.skipif(shutil.which("timeout") is None or not Path("/proc/uptime").exists(),
                    reason="needs a Linux host with coreutils timeout")
def test_lanes_keep_each_tests_output_apart_and_overlap(tmp_path):
    """The host's sh runs run.sh: two slow tests in two lanes overlap in
    time, yet each one's lines sit between its own markers."""
    d = tmp_path / "w"
    d.mkdir()
    tests = [GuestTest(PLATFORM_TEST, _fake_test(d / PLATFORM_TEST, "echo ok 1 plat")),
             GuestTest("slow_a", _fake_test(d / "slow_a",
                                            "for i in 1 2 3; do echo a$i; sleep 0.3; done")),
             GuestTest("slow_b", _fake_test(d / "slow_b",
                                            "for i in 1 2 3; do echo b$i; sleep 0.3; done; exit 3")),
             GuestTest("quick", _fake_test(d / "quick", "echo q"))]
    markers = Markers.fresh()
    script = agent.work_script(tests, markers, 20, lanes=2, out_dir=str(tmp_path / "o"))
    (d / "run.sh").write_text(script)
    proc = subprocess.run(["sh", str(d / "run.sh")], capture_output=True, text=True,
                          timeout=60)
    lines = proc.stdout.splitlines()
    watched = WatchResult(EndReason.EXITED, lines, [], 1.0, 0)
    out = outcome_from_lines(watched, markers, expected=["slow_a", "slow_b", "quick"],
                             per_test_timeout=20)
    assert out.status is RunStatus.COMPLETED, proc.stdout + proc.stderr
    by = {t.name: t for t in out.tests}
    assert by["slow_a"].lines == ["a1", "a2", "a3"] and by["slow_a"].exit_status == 0
    assert by["slow_b"].lines == ["b1", "b2", "b3"] and by["slow_b"].exit_status == 3
    assert by["quick"].lines == ["q"]
    assert out.platform_test.lines == ["ok 1 plat"]
    begins = {m.name: m.uptime for m in map(markers.parse, lines)
              if m and m.kind.value == "BEGIN"}
    ends = {m.name: m.uptime for m in map(markers.parse, lines)
            if m and m.kind.value == "END"}
    assert begins["slow_b"] < ends["slow_a"] and begins["slow_a"] < ends["slow_b"]
    assert begins["quick"] >= ends["slow_a"]        # lane 1: slow_a then quick


def test_lanes_of_one_run_in_order():
    tests = [GuestTest(n, Path(n)) for n in ("p", "a", "b")]
    script = agent.work_script(tests, Markers("00"), 5, lanes=1)
    assert "&" not in script.replace("2>&1", "")
    assert script.index("lane a") < script.index("lane b")


def test_compile_cache_key_follows_content(tmp_path):
    src = tmp_path / "t.c"
    src.write_text("int main(void){return 0;}\n")
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "h.h").write_text("#define X 1\n")
    k = content_key(src, [inc], ["-O2"], "gcc 12")
    assert k == content_key(src, [inc], ["-O2"], "gcc 12")
    (inc / "h.h").write_text("#define X 2\n")
    assert content_key(src, [inc], ["-O2"], "gcc 12") != k
    assert content_key(src, [inc], ["-O1"], "gcc 12") != content_key(src, [inc], ["-O2"], "gcc 12")
    assert content_key(src, [inc], ["-O2"], "gcc 13") != content_key(src, [inc], ["-O2"], "gcc 12")


@pytest.mark.skipif(shutil.which("aarch64-linux-gnu-gcc") is None,
                    reason="needs gcc-aarch64-linux-gnu")
def test_a_warm_build_compiles_nothing(tmp_path):
    src = tmp_path / "t.c"
    src.write_text("int main(void){return 0;}\n")
    first = cross_compile([src], tmp_path / "b1", cache=tmp_path / "cache")
    assert first.binaries[0].elapsed > 0
    again = cross_compile([src], tmp_path / "b2", cache=tmp_path / "cache")
    assert again.binaries[0].elapsed == 0.0
    assert again.binaries[0].binary.read_bytes() == first.binaries[0].binary.read_bytes()
    src.write_text("int main(void){return 1;}\n")
    changed = cross_compile([src], tmp_path / "b4", cache=tmp_path / "cache")
    assert changed.binaries[0].elapsed > 0
    # writing the run's binary in place does not reach the cache
    again.binaries[0].binary.write_bytes(b"another run's binary")
    src.write_text("int main(void){return 0;}\n")
    back = cross_compile([src], tmp_path / "b3", cache=tmp_path / "cache")
    assert back.binaries[0].elapsed == 0.0
    assert back.binaries[0].binary.read_bytes() == first.binaries[0].binary.read_bytes()


def test_a_captured_restored_run_parses_as_a_booted_one():
    """A console captured from a restored guest agent (the default run's
    three binaries in two lanes) reads like a booted run's."""
    from generator.runner.qemu import ReplayConsole, watch
    from generator.runner.platform import PlatformState
    log = Path(__file__).parents[1] / "data" / "runner" / "restored-lanes.log"
    text = log.read_text()
    assert "(guest restored)" in text.splitlines()[1]
    markers = Markers.find_in(text.splitlines())
    watched = watch(ReplayConsole(text), boot_timeout=60, step_timeout=60,
                    total_timeout=600, is_progress=lambda l: markers.parse(l) is not None)
    names = ["kconform_mte_v10", "kconform_lock_memslot_rfc_v5", "btf_probe"]
    out = outcome_from_lines(watched, markers, expected=names, per_test_timeout=300)
    assert out.status is RunStatus.COMPLETED and not out.not_run
    assert [t.name for t in out.tests] == names
    assert out.platform.state is PlatformState.OK
    assert out.kernel_release == "6.12.117+deb12-arm64" and out.page_size == 4096
    mte = out.tests[0]
    assert mte.exit_status == 0 and len(mte.ktap.results) == 63 and mte.ktap.complete
    # each binary's lines stay its own, though two ran at once
    assert not any("btf" in l for l in mte.lines)
    assert all(markers.parse(l) is None for t in out.tests for l in t.lines)
    assert any("lock" in l.lower() for l in out.tests[1].lines)
    assert not any("lock_user_memory" in l.lower() for l in mte.lines)
