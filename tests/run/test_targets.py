"""Targets without booting: parsing `--target`, the clear refusal of
`--target local` on a host that is not arm64 with /dev/kvm, the ssh command
line, ssh to a closed loopback port, and the staged run script (markers,
per-test timeout, KTAP) executed on this host with shell scripts standing
in for the arm64 test binaries."""
import os
import platform
import socket
from pathlib import Path

import pytest

from generator.cli import main
from generator.runner.run import RunStatus
from generator.run.targets import (LocalTarget, SshTarget, TargetError, parse_target,
                               run_script)
from generator.runner.initramfs import Markers


@pytest.mark.parametrize("text, host, user, port", [
    ("ssh://board", "board", None, None),
    ("ssh://root@10.0.0.7:2222", "10.0.0.7", "root", 2222),
    ("ssh://me@[::1]:22", "::1", "me", 22),
    ("ssh://me@board/", "board", "me", None),
])
def test_ssh_urls(text, host, user, port):
    t = parse_target(text)
    assert isinstance(t, SshTarget) and (t.host, t.user, t.port) == (host, user, port)


def test_qemu_and_local():
    assert parse_target("qemu") is None and parse_target("") is None
    assert isinstance(parse_target("local"), LocalTarget)


@pytest.mark.parametrize("text, message", [
    ("arm64-board", "is not a target; options are qemu (default), local, ssh://[user@]HOST[:PORT]"),
    ("ssh://", "is not a target"),
    ("ssh://host:0", "port 0 is not in 1..65535"),
    ("ssh://host:99999", "port 99999 is not in 1..65535"),
])
def test_bad_targets(text, message):
    with pytest.raises(TargetError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        parse_target(text)


def test_ssh_option_must_be_key_value():
    with pytest.raises(TargetError, match="expected Key=Value"):
        parse_target("ssh://h", options=["StrictHostKeyChecking"])


def test_ssh_command_line():
    t = parse_target("ssh://root@127.0.0.1:2222", identity="/k/id",
                     options=["UserKnownHostsFile=/dev/null"])
    argv = t.ssh_argv("true")
    assert argv[:2] == ["ssh", "-T"] and argv[-3:] == ["--", "127.0.0.1", "true"]
    joined = " ".join(argv)
    for part in ("-o BatchMode=yes", "-o ConnectTimeout=", "-o UserKnownHostsFile=/dev/null",
                 "-i /k/id -o IdentitiesOnly=yes", "-p 2222", "-l root"):
        assert part in joined
    assert t.label == "ssh://root@127.0.0.1:2222"


def test_local_refuses_a_host_that_is_not_arm64():
    with pytest.raises(TargetError) as e:
        LocalTarget(machine="x86_64").resolve()
    assert "this host is x86_64, not arm64 (aarch64)" in str(e.value)
    assert "--target ssh://" in str(e.value)
    with pytest.raises(TargetError, match="/nonexistent/kvm does not exist"):
        LocalTarget(machine="aarch64", kvm="/nonexistent/kvm").resolve()


@pytest.mark.skipif(platform.machine() in ("aarch64", "arm64") and os.path.exists("/dev/kvm"),
                    reason="this host can run the tests locally")
def test_cli_local_on_this_host_is_a_usage_error(capsys):
    assert main(["run", "--quiet", "--target", "local"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kconform: error: --target local runs the arm64 test binaries on "
                          f"this machine, but this host is {platform.machine()}")


def test_cli_kernel_with_a_remote_target_is_a_usage_error(capsys):
    assert main(["run", "--quiet", "--target", "ssh://h", "--kernel", "debian-6.1"]) == 2
    assert "the tests run on that machine's own kernel" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ssh_to_a_closed_loopback_port_says_it_did_not_start(tmp_path):
    port = _free_port()
    t = SshTarget("127.0.0.1", "root", port, options=("UserKnownHostsFile=/dev/null",
                                                      "StrictHostKeyChecking=no"))
    t.resolve()
    o = t.run([], per_test_timeout=5, total_timeout=30, log_path=tmp_path / "log",
              work_dir=tmp_path / "runner")
    assert o.status is RunStatus.BOOT_FAILED
    assert o.broke.startswith(f"the tests did not start on ssh://root@127.0.0.1:{port}: "
                              "ssh could not connect or log in (exit status 255)")
    assert "Connection refused" in o.broke
    assert "Connection refused" in (tmp_path / "log").read_text()


STAND_INS = {
    # host shell scripts in place of the static arm64 binaries
    "ktap_ok": "#!/bin/sh\necho 'TAP version 13'\necho '1..2'\necho 'ok 1 first'\n"
               "echo 'ok 2 second # SKIP not here'\n",
    "fails": "#!/bin/sh\necho '1..1'\necho 'not ok 1 broken'\nexit 1\n",
    "sleeper": "#!/bin/sh\necho 'sleeping'\nexec sleep 30\n",
}


def test_staged_run_script_on_this_host(tmp_path):
    """The run script and console of local/ssh targets, executed here:
    markers, kernel release and page size of the machine, exit statuses,
    the per-test timeout, KTAP.  (The arm64 platform check cannot execute
    on an x86 host, so the platform is unchecked.)"""
    bins = []
    for name, text in STAND_INS.items():
        p = tmp_path / "bin" / name
        p.parent.mkdir(exist_ok=True)
        p.write_text(text)
        p.chmod(0o755)
        bins.append(p)
    o = LocalTarget().run(bins, per_test_timeout=2, total_timeout=60,
                          log_path=tmp_path / "console.log", work_dir=tmp_path / "runner")
    assert o.status is RunStatus.COMPLETED
    assert o.kernel_release == os.uname().release
    assert o.page_size == os.sysconf("SC_PAGESIZE")
    assert [t.name for t in o.tests] == ["ktap_ok", "fails", "sleeper"]
    assert [t.exit_status for t in o.tests] == [0, 1, 137]
    assert [t.timed_out for t in o.tests] == [False, False, True]
    assert [r.name for r in o.tests[0].ktap.results] == ["first", "second"]
    assert o.tests[0].ktap.results[1].status.value == "skip"
    assert o.platform.state.value == "unchecked"
    assert "sleeping" in (tmp_path / "console.log").read_text()


def test_run_script_uses_the_runner_markers():
    m = Markers("abcd1234")
    text = run_script(["platform_mte", "kconform_mte_v10"], m, 300)
    assert 'echo "KCONFORM-abcd1234 START $up 300"' in text
    assert text.splitlines()[-1] == 'echo "KCONFORM-abcd1234 DONE $up"'
    assert "run kconform_mte_v10" in text and "timeout -s KILL 300" in text
