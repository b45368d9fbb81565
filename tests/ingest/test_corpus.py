"""The corpus of fourteen real list mails (tests/data/corpus, ground truth in
its SOURCES.md) loads as raw RFC-822 mail: subject, version, m/M, patch or
reply, author, and the diff hunks (the patch's own, or the one a reply
quotes), each line numbered in the file."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.ingest import Form, SeriesFindingKind, load_series, series_name
from generator.model import FindingKind

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"

# file, subject, version, m, M, reply, author, files, hunks (counted by hand
# with grep: `^diff --git` / `^@@ `, `> ` in front for the replies)
TABLE = [
    ("fw-bmap-v7-02.txt", "[PATCH v7 2/9] KVM: arm64: Setup a framework for hypercall "
     "bitmap firmware registers", 7, 2, 9, False, "Raghavendra Rao Ananta", 8, 18),
    ("nisv-v2-02-review-graf.txt", "Re: [PATCH v2 2/2] KVM: arm/arm64: Allow user injection "
     "of external data aborts", 2, 2, 2, True, "Alexander Graf", 5, 7),
    ("nisv-v2-02.txt", "[PATCH v2 2/2] KVM: arm/arm64: Allow user injection of external "
     "data aborts", 2, 2, 2, False, "Christoffer Dall", 8, 11),
    ("nisv-v3-00.txt", "[PATCH v3 0/2] Improve handling of stage 2 aborts without "
     "instruction decode", 3, 0, 2, False, "Christoffer Dall", 0, 0),
    ("nisv-v3-01.txt", "[PATCH v3 1/2] KVM: arm/arm64: Allow reporting non-ISV data aborts "
     "to userspace", 3, 1, 2, False, "Christoffer Dall", 9, 12),
    ("nisv-v3-02.txt", "[PATCH v3 2/2] KVM: arm/arm64: Allow user injection of external "
     "data aborts", 3, 2, 2, False, "Christoffer Dall", 8, 13),
    ("pmu-set-pmu-v4-05.txt", "[PATCH v4 5/6] KVM: arm64: Add KVM_ARM_VCPU_PMU_V3_SET_PMU "
     "attribute", 4, 5, 6, False, "Alexandru Elisei", 4, 6),
    ("pvtime-v6-07-review-maz.txt", "Re: [PATCH v6 07/10] KVM: arm64: Provide VCPU attributes "
     "for stolen time", 6, 7, 10, True, "Marc Zyngier", 5, 8),
    ("pvtime-v6-07.txt", "[PATCH v6 07/10] KVM: arm64: Provide VCPU attributes for stolen "
     "time", 6, 7, 10, False, "Steven Price", 5, 8),
    ("pvtime-v7-07.txt", "[PATCH v7 07/10] KVM: arm64: Provide VCPU attributes for stolen "
     "time", 7, 7, 10, False, "Steven Price", 5, 8),
    ("smccc-filter-v3-09.txt", "[PATCH v3 09/13] KVM: arm64: Introduce support for userspace "
     "SMCCC filtering", 3, 9, 13, False, "Oliver Upton", 6, 9),
    # re-posted by Marc Zyngier in a pull request; the in-body From: names the author
    ("sve-finalize-pull-22.txt", "[PATCH 22/56] KVM: arm/arm64: Add KVM_ARM_VCPU_FINALIZE "
     "ioctl", 1, 22, 56, False, "Dave Martin", 4, 8),
    ("system-suspend-v6-07.txt", "[PATCH v6 07/12] KVM: arm64: Implement PSCI SYSTEM_SUSPEND",
     6, 7, 12, False, "Oliver Upton", 5, 12),
    ("x86-nx-huge-pages-v6-08.txt", "[PATCH v6 08/10] KVM: x86/MMU: Allow NX huge pages to be "
     "disabled on a per-vm basis", 6, 8, 10, False, "Ben Gardon", 8, 12),
]


QUOTED_AUTHOR = {"nisv-v2-02-review-graf.txt": "Christoffer Dall",
                 "pvtime-v6-07-review-maz.txt": "Steven Price"}


def test_the_table_covers_the_corpus():
    assert sorted(r[0] for r in TABLE) == sorted(p.name for p in CORPUS.glob("*.txt"))


@pytest.mark.parametrize("name, subject, version, index, total, reply, author, nfiles, nhunks",
                         TABLE, ids=[r[0] for r in TABLE])
def test_corpus_mail_loads(name, subject, version, index, total, reply, author, nfiles, nhunks):
    path = CORPUS / name
    s = load_series(path)
    (msg,) = s.thread.messages
    assert msg.form is Form.MAIL
    assert msg.subject == subject
    assert (msg.patch.version, msg.patch.index, msg.patch.total) == (version, index, total)
    assert msg.is_reply is reply
    assert msg.author == author
    raw = path.read_text().split("\n")
    assert raw[msg.subject_line - 1].startswith("Subject: ")
    if index == 0:
        assert not s.patches and s.cover is msg
        return
    (p,) = s.patches
    assert p.quoted_depth == (1 if reply else 0)
    # a reply quotes the patch's author; a patch is its own
    assert p.author == QUOTED_AUTHOR.get(name, author)
    assert (len(p.files), p.hunk_count) == (nfiles, nhunks)
    # every hunk line is on the file line it says, as written there
    prefix = "> " if reply else ""
    for f in p.files:
        for h in f.hunks:
            assert raw[h.seed_line - 1].startswith(prefix + "@@ ")
            for hl in h.lines:
                assert hl.text in raw[hl.seed_line - 1]
    assert all(raw[l.no - 1] == l.text for l in msg.lines)


def test_replies_quote_the_patch_they_review():
    graf = load_series(CORPUS / "nisv-v2-02-review-graf.txt")
    (q,) = graf.patches
    assert q.author == "Christoffer Dall", "the quoted patch is by whoever the attribution names"
    assert graf.replies and not graf.own
    assert graf.thread.messages[0].in_reply_to == "<20191008093640.26519-3-christoffer.dall@arm.com>"
    assert q.remarks, "the reviewer's text between quoted lines is kept"


def test_cover_letter_with_its_series_as_a_directory(tmp_path):
    d = tmp_path / "nisv-v3"
    d.mkdir()
    for n in ("nisv-v3-00.txt", "nisv-v3-01.txt", "nisv-v3-02.txt"):
        shutil.copyfile(CORPUS / n, d / n)
    s = load_series(d)
    assert s.seed == "nisv-v3"
    assert s.cover is not None and s.cover.patch.label == "v3 0/2"
    assert [p.label for p in s.patches] == ["v3 1/2", "v3 2/2"]
    assert [p.seed for p in s.patches] == ["nisv-v3-01.txt", "nisv-v3-02.txt"]
    assert s.findings == [], "complete: SOURCES.md says the series is 00, 01 and 02"
    assert (s.version, series_name(s)) == (3, "stage-2-aborts-v3")


def test_one_patch_of_a_series_reports_the_others_missing():
    s = load_series(CORPUS / "fw-bmap-v7-02.txt")
    missing = [f for f in s.findings if f.kind is SeriesFindingKind.MISSING]
    assert [f.message for f in missing] == [f"patch {k}/9 of v7 is missing"
                                           for k in (1, 3, 4, 5, 6, 7, 8, 9)]
    assert all(f.seed == "fw-bmap-v7-02.txt" and f.line == 75 for f in missing)


@pytest.mark.parametrize("name, expected", [
    ("fw-bmap-v7-02.txt", "hypercall-bitmap-firmware-v7"),
    ("nisv-v2-02.txt", "user-injection-external-v2"),
    ("nisv-v2-02-review-graf.txt", "user-injection-external-v2"),
    ("pvtime-v7-07.txt", "vcpu-attributes-stolen-v7"),
    ("pmu-set-pmu-v4-05.txt", "vcpu-pmu-attribute-v4"),
    ("sve-finalize-pull-22.txt", "vcpu-finalize-ioctl-v1"),
    ("x86-nx-huge-pages-v6-08.txt", "nx-huge-pages-v6"),
])
def test_series_names(name, expected):
    assert series_name(load_series(CORPUS / name)) == expected


def test_series_names_of_the_seeds(seeds_dir):
    got = {p.name[:3]: series_name(load_series(p)) for p in sorted(seeds_dir.glob("*.txt"))}
    assert got == {"000": "ioctl-fetch-store-rfc-v8", "001": "001-20eb00735069180b-v1",
                   "002": "mte-v10", "003": "mmio-checking-v2",
                   "004": "lock-unlock-memslot-rfc-v5"}


def test_extract_reads_a_series_directory(tmp_path):
    from generator.extract import extract_spec
    d = tmp_path / "nisv-v3"
    d.mkdir()
    for n in ("nisv-v3-00.txt", "nisv-v3-01.txt", "nisv-v3-02.txt"):
        shutil.copyfile(CORPUS / n, d / n)
    spec = extract_spec(d, "nisv")
    assert (spec.title, spec.version) == (
        "Improve handling of stage 2 aborts without instruction decode", 3)
    assert [c.name for c in spec.capabilities] == ["KVM_CAP_ARM_NISV_TO_USER",
                                                   "KVM_CAP_ARM_INJECT_EXT_DABT"]
    assert not [f for f in spec.findings if f.kind.value == "missing_patch"]


def test_positions_of_a_directory_series_name_the_file(tmp_path):
    from generator.extract import extract_spec
    d = tmp_path / "nisv-v3"
    d.mkdir()
    for n in ("nisv-v3-00.txt", "nisv-v3-01.txt", "nisv-v3-02.txt"):
        shutil.copyfile(CORPUS / n, d / n)
    spec = extract_spec(d, "nisv")
    for cap, name in ((spec.capabilities[0], "nisv-v3-01.txt"),
                      (spec.capabilities[1], "nisv-v3-02.txt")):
        assert cap.source.seed == name
        line = (d / name).read_text().split("\n")[cap.source.line - 1]
        assert line == f"+#define {cap.name} {cap.number}"
    for op in spec.operations:
        assert op.source.seed in ("nisv-v3-01.txt", "nisv-v3-02.txt")


def test_assembly_findings_reach_the_spec(tmp_path):
    from generator.extract import extract_spec
    d = tmp_path / "nisv"
    d.mkdir()
    for n in ("nisv-v2-02.txt", "nisv-v3-00.txt", "nisv-v3-01.txt", "nisv-v3-02.txt"):
        shutil.copyfile(CORPUS / n, d / n)
    shutil.copyfile(CORPUS / "nisv-v3-02.txt", d / "nisv-v3-02.eml")
    spec = extract_spec(d, "nisv")
    notes = sorted(f.message.split(":")[0] for f in spec.findings
                   if f.kind is FindingKind.NOTE and f.message.startswith("other-"))
    assert notes == ["other-version"]
    dups = [f for f in spec.findings if f.kind is FindingKind.DUPLICATE]
    assert len(dups) == 1 and "appears again" in dups[0].message
    assert (dups[0].source.seed, dups[0].source.line) == ("nisv-v3-02.txt", 41)
    assert spec.version == 3
