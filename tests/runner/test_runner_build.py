"""Cross-compilation: static arm64 binaries, useful errors."""

import shutil

import pytest

from generator.runner.build import compile_one, cross_compile, find_compiler
from generator.runner.errors import BuildError

needs_cc = pytest.mark.skipif(shutil.which("aarch64-linux-gnu-gcc") is None,
                              reason="no arm64 cross compiler")


def has_interp(elf: bytes) -> bool:
    """Whether an ELF64 file has a PT_INTERP program header (is dynamic)."""
    phoff = int.from_bytes(elf[32:40], "little")
    size = int.from_bytes(elf[54:56], "little")
    count = int.from_bytes(elf[56:58], "little")
    return any(int.from_bytes(elf[phoff + i * size:phoff + i * size + 4],
                              "little") == 3 for i in range(count))


@needs_cc
def test_compiles_static_arm64(tmp_path):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "gen.h").write_text("#define ANSWER 42\n")
    src = tmp_path / "t_one.c"
    src.write_text('#include "gen.h"\nint main(void){return ANSWER-42;}\n')
    res = cross_compile([src], tmp_path / "out", include_dirs=[inc])
    b = res.binaries[0]
    assert b.binary == tmp_path / "out" / "t_one"
    elf = b.binary.read_bytes()
    assert elf[:4] == b"\x7fELF"
    assert int.from_bytes(elf[18:20], "little") == 183      # EM_AARCH64
    assert not has_interp(elf)                              # static
    assert b.elapsed > 0 and res.elapsed > 0
    assert res.compiler.startswith("aarch64-linux-gnu-gcc")


@needs_cc
def test_compile_error_shows_first_errors(tmp_path):
    src = tmp_path / "broken.c"
    src.write_text("int main(void)\n{\n\treturn undeclared;\n}\n")
    with pytest.raises(BuildError) as err:
        cross_compile([src], tmp_path / "out")
    msg = str(err.value)
    assert msg.startswith(f"{src} failed to compile")
    assert "undeclared (first use in this function)" in msg


@needs_cc
def test_warnings_are_kept(tmp_path):
    src = tmp_path / "warn.c"
    src.write_text("int main(void){int unused; return 0;}\n")
    b = compile_one(src, tmp_path)
    assert "unused variable" in b.warnings


def test_missing_compiler_says_what_to_install(tmp_path):
    with pytest.raises(BuildError, match="install gcc-aarch64-linux-gnu"):
        find_compiler("aarch64-nonexistent-gcc")


def test_missing_source(tmp_path):
    if shutil.which("aarch64-linux-gnu-gcc") is None:
        pytest.skip("no arm64 cross compiler")
    with pytest.raises(BuildError, match="does not exist"):
        compile_one(tmp_path / "nope.c", tmp_path)


def test_duplicate_binary_names(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(BuildError, match="same binary name: t"):
        cross_compile([tmp_path / "a" / "t.c", tmp_path / "b" / "t.c"],
                      tmp_path)
