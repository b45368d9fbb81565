"""The generated C kselftest: golden files, compilation, runtime agreement."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from generator.render.guest import write_guest_files

from generator.plan import plan
from generator.render.c import (RUNTIME, CapBinding, copy_runtime, file_name, render_c,
                                write_c)
from generator.model.specio import load_spec
from tests.data.spec_fixtures import fixture_spec_mte_v10
from reference.vmstate import fnv1a64, pattern_byte

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "data" / "golden"
CROSS = shutil.which("aarch64-linux-gnu-gcc")
NATIVE = shutil.which("gcc")
GOLDENS = [("mte-v10", CapBinding.PATCH, "kconform_mte_v10.c"),
           ("mte-v8", CapBinding.PATCH, "kconform_mte_v8.c"),
           ("mte-v10", CapBinding.HEADER, "kconform_mte_v10.bind_by_name.c"),
           ("lock-memslot-rfc-v5", CapBinding.HEADER, "kconform_lock_memslot_rfc_v5.c")]


def _spec(name):
    return load_spec(ROOT / "specs" / f"{name}.yaml")


def _render(name, binding):
    spec = _spec(name)
    return render_c(spec, plan(spec), binding)


@pytest.mark.parametrize("name,binding,golden", GOLDENS)
def test_golden_has_not_drifted(name, binding, golden):
    text = _render(name, binding)
    path = GOLDEN / golden
    if os.environ.get("KCONFORM_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.read_text() == text, (
        f"generated C for {name} ({binding.value}) differs from {path}; "
        f"regenerate with KCONFORM_UPDATE_GOLDEN=1 pytest {__file__}")


def test_banner_and_one_row_per_case():
    spec = _spec("mte-v10")
    cases = plan(spec)
    text = render_c(spec, cases)
    assert text.startswith("// do not edit, generated from mte-v10 by kconform")
    ids = re.findall(r'\.id = "([^"]+)"', text)
    assert ids == [c.id for c in cases]
    assert "4096" not in text


def test_binding_is_explicit():
    patch = _render("mte-v10", CapBinding.PATCH)
    header = _render("mte-v10", CapBinding.HEADER)
    assert "#define KCONFORM_KVM_CAP_ARM_MTE\t195" in patch
    assert "#define KCONFORM_KVM_CAP_ARM_MTE\tKVM_CAP_ARM_MTE" in header
    # the probe of the patch's own number is there either way
    assert "#define KCONFORM_KVM_CAP_ARM_MTE_PATCH\t195" in header
    v8 = _render("mte-v8", CapBinding.PATCH)      # v8 has no number: by name
    assert "#define KCONFORM_KVM_CAP_ARM_MTE\tKVM_CAP_ARM_MTE" in v8


def _compile(tmp_path, text, cc, name="t", extra=()):
    src = tmp_path / f"{name}.c"
    src.write_text(text)
    copy_runtime(tmp_path)
    if "KC_WITH_GUEST" in text:          # the guest image and VMM side
        write_guest_files(tmp_path)
    cmd = [cc, "-O2", "-Wall", "-Werror", "-I", str(tmp_path), *extra,
           "-o", str(tmp_path / name), str(src)]
    return subprocess.run(cmd, capture_output=True, text=True)


@pytest.mark.skipif(CROSS is None, reason="aarch64-linux-gnu-gcc not installed")
@pytest.mark.parametrize("name,binding,golden", GOLDENS)
def test_compiles_for_arm64(tmp_path, name, binding, golden):
    r = _compile(tmp_path, _render(name, binding), CROSS, extra=["-static"])
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(CROSS is None, reason="aarch64-linux-gnu-gcc not installed")
def test_static_assert_catches_a_wrong_size(tmp_path):
    spec = fixture_spec_mte_v10()
    spec.ioctls[0].size = 40          # the spec's computed size is wrong
    r = _compile(tmp_path, render_c(spec, plan(spec), extra_asserts=[]), CROSS)
    assert r.returncode != 0 and "sizeof(struct kvm_arm_copy_mte_tags) is 40" in r.stderr


def test_write_c_puts_the_runtime_beside(tmp_path):
    spec = _spec("mte-v8")
    path = write_c(spec, plan(spec), tmp_path)
    assert path.name == file_name(spec) == "kconform_mte_v8.c"
    assert (tmp_path / "kconform_runtime.h").read_bytes() == RUNTIME.read_bytes()


HARNESS = r"""
#include "kconform_runtime.h"
int main(void)
{
	unsigned char b[600];
	unsigned int seed;
	size_t i;

	for (seed = 0; seed < 3; seed++) {
		for (i = 0; i < sizeof(b); i++)
			b[i] = kc_pattern(i, seed);
		printf("%u %016llx\n", seed,
		       (unsigned long long)kc_fnv1a64(b, sizeof(b)));
	}
	return 0;
}
"""


@pytest.mark.skipif(NATIVE is None, reason="gcc not installed")
def test_runtime_pattern_and_digest_match_the_reference(tmp_path):
    r = _compile(tmp_path, HARNESS, NATIVE, "harness")
    assert r.returncode == 0, r.stderr
    out = subprocess.run([str(tmp_path / "harness")], capture_output=True,
                         text=True, check=True).stdout.split("\n")
    for seed in range(3):
        want = fnv1a64(bytes(pattern_byte(i, seed) for i in range(600)))
        assert out[seed] == f"{seed} {want}"


CAPS_HARNESS = r"""
#include "kconform_runtime.h"
static int has(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	syscall(SYS_capget, &h, d);
	return !!(d[cap / 32].effective & (1U << (cap % 32)));
}
int main(void)
{
	struct kc_env env = { .vm_fd = -1, .guest_fd = -1 };
	int before = has(CAP_SYS_BOOT);
	long r = kc_capability(&env, CAP_SYS_BOOT, 1);
	int during = has(CAP_SYS_BOOT), other = has(CAP_SYS_ADMIN);

	kc_teardown(&env);
	printf("%d %ld %d %d %d\n", before, r, during, other, has(CAP_SYS_BOOT));
	return 0;
}
"""


@pytest.mark.skipif(NATIVE is None or os.geteuid() != 0, reason="needs gcc and root")
def test_a_dropped_capability_is_gone_until_teardown(tmp_path):
    """KC_DROP_CAPABILITY's kc_capability drops CAP_SYS_BOOT alone from the
    effective set; kc_teardown raises it again for the next case."""
    r = _compile(tmp_path, CAPS_HARNESS, NATIVE, "caps")
    assert r.returncode == 0, r.stderr
    out = subprocess.run([str(tmp_path / "caps")], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["1", "0", "0", "1", "1"]


@pytest.mark.skipif(CROSS is None, reason="aarch64-linux-gnu-gcc not installed")
def test_a_struct_wider_than_the_default_compiles(tmp_path):
    """No fixed field limit: a spec whose argument has 21 scalar fields
    defines KC_MAX_FIELDS for its test, and every field gets its slot."""
    from tests.data.spec_fixtures import fixture_spec_levers
    spec = fixture_spec_levers(pad=18)
    text = render_c(spec, plan(spec))
    assert "#define KC_MAX_FIELDS 21" in text
    assert ".v[20] = " in text                    # pad[17] of the pad_17 case
    r = _compile(tmp_path, text, CROSS, extra=["-static"])
    assert r.returncode == 0, r.stderr


def test_the_default_field_count_defines_nothing():
    assert "KC_MAX_FIELDS" not in _render("mte-v10", CapBinding.PATCH)
