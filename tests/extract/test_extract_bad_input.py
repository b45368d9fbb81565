"""Bad input: each gives a message naming the file, the line and what was
expected, keeps what can be kept, and never crashes."""
from pathlib import Path

import pytest

from generator.cli import main
from generator.errors import InputError
from generator.extract import extract_spec
from generator.model import FindingKind, Reach

ROOT = Path(__file__).resolve().parents[2]
V8, V10, MMIO = "000_87786364e6aad26e.txt", "002_640e98e582cbc741.txt", "003_2f257d4ea7dae093.txt"


def _lines(name: str) -> list[str]:
    return (ROOT / "seeds" / name).read_text().splitlines()


def _write(tmp_path, name: str, lines: list[str]) -> Path:
    f = tmp_path / name
    f.write_text("\n".join(lines) + "\n")
    return f


def test_truncated_hunk_keeps_the_uapi(tmp_path):
    lines = _lines(V8)
    cut = next(i for i, l in enumerate(lines) if "if (is_error_noslot_pfn(pfn))" in l)
    spec = extract_spec(_write(tmp_path, "cut.txt", lines[:cut]), "cut")
    errs = [f for f in spec.findings if f.kind is FindingKind.PARSE_ERROR]
    assert errs and "cut.txt" in errs[0].message and "truncated" in errs[0].message
    assert errs[0].source.line == cut
    assert spec.struct("kvm_arm_copy_mte_tags"), "the struct before the damage is kept"
    assert not spec.operations, "a handler cut in half is not guessed at"


def test_malformed_hunk_header_keeps_the_rest(tmp_path):
    lines = _lines(V8)
    k = next(i for i, l in enumerate(lines) if l.startswith("@@ -1303,6 +1303,53 @@"))
    lines[k] = "@@ -1303,six +1303,53 @@"
    spec = extract_spec(_write(tmp_path, "hdr.txt", lines), "hdr")
    errs = [f for f in spec.findings if f.kind is FindingKind.PARSE_ERROR]
    assert any(f"hdr.txt:{k + 1}: malformed hunk header" in f.message
               and "expected @@ -OLD_START" in f.message for f in errs)
    assert spec.ioctl("KVM_ARM_MTE_COPY_TAGS").number == 0x8020AEB4


def test_missing_patch_in_a_thread(tmp_path):
    lines = _lines(V10)
    start = next(i for i, l in enumerate(lines) if l.startswith("* [PATCH v10 3/6]"))
    end = next(i for i, l in enumerate(lines) if l.startswith("* [PATCH v10 4/6]"))
    spec = extract_spec(_write(tmp_path, V10, lines[:start] + lines[end:]), "gap")
    (miss,) = [f for f in spec.findings if f.kind is FindingKind.MISSING_PATCH]
    assert "patch 3/6 of v10 is not in the seed" in miss.message
    assert [p.split(":")[0] for p in spec.patches] == ["v10 1/6", "v10 2/6", "v10 4/6",
                                                         "v10 5/6", "v10 6/6"]
    assert len(spec.operation("KVM_ARM_MTE_COPY_TAGS").checks) == 9


def test_inconsistent_quoting_in_a_reply(tmp_path):
    lines = _lines(MMIO)
    k = next(i for i, l in enumerate(lines) if l == "> + if (ipa & ~PAGE_MASK)")
    lines[k] = ">> + if (ipa & ~PAGE_MASK)"
    spec = extract_spec(_write(tmp_path, MMIO, lines), "mmio")
    rep = [f for f in spec.findings if f.kind is FindingKind.REPAIR
           and "inconsistent-quote" in f.message]
    assert rep and rep[0].source.line == k + 1 and "quoted 2 deep" in rep[0].message
    ids = [c.id for c in spec.operation("kvm_install_ioguard_page").checks]
    assert "ipa_unaligned" in ids


def test_quoting_that_cannot_be_repaired_is_reported(tmp_path):
    """A whole block of the quote at the wrong depth: the hunk comes up short."""
    lines = _lines(MMIO)
    k = next(i for i, l in enumerate(lines) if l == "> + if (ipa & ~PAGE_MASK)")
    for j in range(k, k + 12):
        lines[j] = ">" + lines[j]
    spec = extract_spec(_write(tmp_path, MMIO, lines), "mmio")
    assert spec.operations, "the functions around the damage still extract"
    assert any("short-hunk" in f.message or f.kind is FindingKind.PARSE_ERROR
               for f in spec.findings)


def test_unmapped_predicate_in_a_reply_is_listed(tmp_path):
    lines = [l.replace("irqchip_in_kernel(kvm)", "vgic_frobnicated(kvm)") for l in _lines(MMIO)]
    spec = extract_spec(_write(tmp_path, MMIO, lines), "mmio")
    un = [f for f in spec.findings if f.kind is FindingKind.UNMAPPED_PREDICATE]
    assert un and "vgic_frobnicated" in un[0].message
    assert all(c.reach is Reach.UNREACHABLE
               for c in spec.operation("kvm_install_ioguard_page").checks)


@pytest.mark.parametrize("name, text, message", [
    ("probe.c", "#include <stdio.h>\nint main(void) { return printf(\"%d\\n\", 1 << 3); }\n",
     "is not a mail, a thread dump or a patch"),
    ("data.json", '{"a": [1, 2, 3], "b": {"c": null}}\n', "is not a mail, a thread dump or a patch"),
    ("notes.txt", "Dear diary,\nnothing much happened today, and that is fine by me.\n",
     "contains no patch and no design claim"),
])
def test_not_mail(tmp_path, name, text, message):
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(InputError) as e:
        extract_spec(f, "x")
    assert e.value.path.endswith(name) and e.value.line >= 1 and message in e.value.message
    assert e.value.expected


def test_cli_not_mail_is_one_line(tmp_path, capsys):
    f = tmp_path / "probe.c"
    f.write_text("int main(void) { return 0; }\n")
    assert main(["extract", str(f), "--name", "x", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "probe.c:1:" in err and "Traceback" not in err
