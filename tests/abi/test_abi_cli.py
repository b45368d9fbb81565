"""`main_abi` as the project CLI calls it: argparse Namespace in, exit
status out, JSON results written."""
from __future__ import annotations

import argparse
import json
import os
import shutil

import pytest

from generator.abi.cli import add_abi_arguments, main_abi

ARM64 = "/usr/aarch64-linux-gnu/include"
SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "specs", "mte-v10.yaml")


def parse(argv):
    p = argparse.ArgumentParser()
    add_abi_arguments(p)
    return p.parse_args(argv)


def test_arguments_and_defaults():
    ns = parse([])
    assert (ns.specs, ns.headers, ns.arch, ns.results) == ([], None, "arm64", None)
    with pytest.raises(SystemExit):
        parse(["--arch", "mips"])


@pytest.mark.skipif(not (shutil.which("aarch64-linux-gnu-gcc") and os.path.isdir(ARM64)),
                    reason="arm64 cross toolchain/headers not installed (scripts/setup.sh)")
def test_header_tree_mode_writes_json(tmp_path, capsys):
    out = tmp_path / "abi.json"
    assert main_abi(parse(["--results", str(out)])) == 0
    data = json.loads(out.read_text())["headers"]
    assert data["checked"] == data["matched"] >= 100 and data["mismatched"] == 0
    assert f"{data['checked']} structs checked, {data['checked']} matched " \
           "aarch64-linux-gnu-gcc" in capsys.readouterr().out


def test_missing_header_tree_is_reported_not_raised(tmp_path, capsys):
    out = tmp_path / "abi.json"
    assert main_abi(parse(["--headers", str(tmp_path), "--results", str(out)])) == 1
    data = json.loads(out.read_text())["headers"]
    assert data["checked"] == 0
    assert any("linux/kvm.h: header not found" in e for e in data["errors"])


@pytest.mark.skipif(not os.path.isfile(SPEC), reason="specs/mte-v10.yaml not generated")
@pytest.mark.skipif(not os.path.isdir(ARM64), reason="arm64 headers not installed")
def test_spec_mode_reports_the_capability_number(tmp_path, capsys):
    out = tmp_path / "abi.json"
    assert main_abi(parse([SPEC, "--results", str(out)])) == 1    # 195 vs 205
    [spec] = json.loads(out.read_text())["specs"]
    texts = [f["message"] for f in spec["findings"]]
    assert any("KVM_CAP_ARM_MTE is 195 in the patch but 205 in the headers" in t
               for t in texts)
    assert spec["structs"]["kvm_arm_copy_mte_tags"]["i386"]["size"] == 48


def test_bad_input_exits_2_with_the_options(tmp_path, capsys):
    ns = argparse.Namespace(specs=[], headers=None, arch="mips", results=None)
    assert main_abi(ns) == 2
    assert "'mips' is not a valid arch (expected one of arm64, arm, x86_64, i386)" in \
        capsys.readouterr().out
