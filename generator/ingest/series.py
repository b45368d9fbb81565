"""A series: patches, cover letters and replies assembled by their
`[PATCH vN m/M]` subjects, and the name a spec of it gets.

Assembly (`assemble`):
  1. the series' version is the highest version among its own patches
     (a patch that is not a reply), else among its cover letters; own
     patches of another version are left out (`SUPERSEDED`);
  2. of that version, own patches whose headers put them in another
     thread than the cover letter's (or, with no cover letter, than most
     patches') are left out (`OTHER_THREAD`): a directory may hold two
     series that share a version number;
  3. own patches with the same number m of that version are one patch:
     the first (in file-name and message order) is kept (`DUPLICATE`,
     saying whether the other copy's diff is the same);
  4. own patches are ordered by m; patches quoted in replies follow in the
     order of the messages that quote them;
  5. every m in 1..M that is not there is a `MISSING` finding with its
     number; patches of one version that disagree on M are `INCONSISTENT`.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import InputError
from generator.ingest.diff import FileDiff
from generator.ingest.mail import Line, Message, Thread
from generator.ingest.repair import Repair
from generator.ingest.subject import PatchSubject


@dataclass
class Remark:
    """Reviewer text written between quoted patch lines."""
    author: str
    after_line: int           # seed line of the quoted line it follows
    lines: list[Line]         # cleaned: no attributions, greetings, footers
    depth: int = 0            # quote depth the remark itself is at in the mail

    @property
    def text(self) -> str:
        return "\n".join(l.text for l in self.lines).strip()

    @property
    def line(self) -> int:
        return self.lines[0].no if self.lines else self.after_line


@dataclass
class Patch:
    subject: PatchSubject | None
    message: Message
    files: list[FileDiff]
    description: list[Line]          # commit message / prose before the diff
    repairs: list[Repair]
    quoted_depth: int = 0            # 0: the patch itself; >0: quoted in a reply
    remarks: list[Remark] = field(default_factory=list)
    problems: list[InputError] = field(default_factory=list)
    author: str = ""                 # who wrote the patch (at its quote depth)

    @property
    def label(self) -> str:
        return self.subject.label if self.subject else ""

    @property
    def seed(self) -> str:
        """The file its lines are numbered in."""
        return self.message.seed

    @property
    def hunk_count(self) -> int:
        return sum(len(f.hunks) for f in self.files)


def added_lines(patches: list[Patch], suffix: str):
    """(patch, file, line) for every line the patches add to a file whose
    path ends in `suffix` (".c", ".rst"), in mail order."""
    for p in patches:
        for f in p.files:
            if f.path.endswith(suffix):
                for h in f.hunks:
                    for l in h.added():
                        yield p, f, l


class SeriesFindingKind(enum.Enum):
    MISSING = "missing-patch"
    DUPLICATE = "duplicate-patch"
    SUPERSEDED = "other-version"
    OTHER_THREAD = "other-thread"
    INCONSISTENT = "inconsistent-count"
    UNREADABLE = "unreadable-file"


@dataclass(frozen=True)
class SeriesFinding:
    kind: SeriesFindingKind
    seed: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.seed}:{self.line}: {self.message}" if self.line else \
            f"{self.seed}: {self.message}"


@dataclass
class Series:
    seed: str                        # the file's name; a directory's name for several files
    path: Path
    thread: Thread                   # every message of every file, in order
    patches: list[Patch]
    covers: list[Message]
    replies: list[Message]
    findings: list[SeriesFinding] = field(default_factory=list)
    threads: list[Thread] = field(default_factory=list)   # one per file read
    superseded: list[Patch] = field(default_factory=list)

    @property
    def version(self) -> int:
        vs = [p.subject.version for p in self.patches if p.subject]
        return max(vs) if vs else 1

    @property
    def rfc(self) -> bool:
        return any(p.subject.rfc for p in self.patches if p.subject)

    @property
    def own(self) -> list[Patch]:
        return [p for p in self.patches if p.quoted_depth == 0]

    @property
    def cover(self) -> Message | None:
        """The cover letter (0/M) of the series' own patches: of their
        version, and the root of their thread where headers say."""
        cands = [m for m in self.covers if m.patch and m.patch.is_cover and not m.is_reply]
        own = [p for p in self.own if p.subject]
        if not own:
            return cands[0] if cands else None
        cands = [m for m in cands if m.patch.version == own[0].subject.version]
        roots = {p.message.root for p in own}
        return next((m for m in cands if m.message_id and m.message_id in roots),
                    cands[0] if cands else None)

    @property
    def text(self) -> str:
        """The text of every file (for searches over the whole input)."""
        return "\n".join(t.path.read_text(errors="replace") for t in self.threads)


def _diff_text(p: Patch) -> list[str]:
    return [f"{l.kind.value}{l.text}" for f in p.files for h in f.hunks for l in h.lines]


def _where(p: Patch) -> tuple[str, int]:
    return p.seed, p.message.subject_line or p.message.start


def _one_thread(patches: list[Patch], covers: list[Message], version: int | None
                ) -> tuple[list[Patch], list[Patch]]:
    """(the patches of the series' thread, the others).  Patches whose
    headers name no thread stay."""
    roots: dict[str, list[Patch]] = {}
    for p in patches:
        if p.message.root:
            roots.setdefault(p.message.root, []).append(p)
    if len(roots) < 2:
        return patches, []
    cover_ids = [m.message_id for m in covers if m.patch and m.patch.is_cover
                 and m.patch.version == version and not m.is_reply]
    chosen = next((r for r in roots if r in cover_ids), None) or \
        max(roots, key=lambda r: len(roots[r]))
    return ([p for p in patches if p.message.root in ("", chosen)],
            [p for p in patches if p.message.root not in ("", chosen)])


def assemble(own: list[Patch], quoted: list[Patch], covers: list[Message]
             ) -> tuple[list[Patch], list[Patch], list[SeriesFinding]]:
    """(patches in series order, own patches of other versions, findings)."""
    findings: list[SeriesFinding] = []
    numbered = [p for p in own if p.subject]
    versions = {p.subject.version for p in numbered} or \
        {m.patch.version for m in covers if m.patch and not m.is_reply}
    version = max(versions) if versions else None
    kept: list[Patch] = []
    other: list[Patch] = []
    for p in own:
        if p.subject and version is not None and p.subject.version != version:
            other.append(p)
            seed, line = _where(p)
            findings.append(SeriesFinding(
                SeriesFindingKind.SUPERSEDED, seed, line,
                f"[PATCH v{p.subject.version} {p.subject.index}/{p.subject.total}] is not "
                f"of v{version}, the newest version here; left out of the series"))
        else:
            kept.append(p)
    kept, strays = _one_thread(kept, covers, version)
    other += strays
    for p in strays:
        seed, line = _where(p)
        findings.append(SeriesFinding(
            SeriesFindingKind.OTHER_THREAD, seed, line,
            f"patch {p.label} is in another thread ({p.message.root}); left out of the series"))
    by_index: dict[int, Patch] = {}
    unique: list[Patch] = []
    for p in kept:
        if p.subject is None:
            unique.append(p)
            continue
        first = by_index.get(p.subject.index)
        if first is None:
            by_index[p.subject.index] = p
            unique.append(p)
            continue
        seed, line = _where(p)
        fseed, fline = _where(first)
        same = ("the same diff, word for word" if _diff_text(p) == _diff_text(first)
                else "a different diff")
        findings.append(SeriesFinding(
            SeriesFindingKind.DUPLICATE, seed, line,
            f"patch {p.label} appears again ({same}); the one at {fseed}:{fline} is used"))
    unique.sort(key=lambda p: p.subject.index if p.subject else 1 << 30)
    if version is not None:
        cover_totals = [m.patch.total for m in covers
                        if m.patch and m.patch.is_cover and m.patch.version == version
                        and not m.is_reply]
        totals = {p.subject.total for p in unique if p.subject} | set(cover_totals)
        if len(totals) > 1:
            anchor = unique[0] if unique else None
            seed, line = _where(anchor) if anchor else (covers[0].seed, covers[0].start)
            findings.append(SeriesFinding(
                SeriesFindingKind.INCONSISTENT, seed, line,
                f"the subjects of v{version} disagree on the number of patches: "
                + ", ".join(str(t) for t in sorted(totals)) + f"; {max(totals)} assumed"))
        total = max(totals) if totals else 0
        have = set(by_index)
        if unique or cover_totals:
            anchor_seed, anchor_line = _where(unique[0]) if unique else \
                (covers[0].seed, covers[0].subject_line or covers[0].start)
            for k in range(1, total + 1):
                if k not in have:
                    findings.append(SeriesFinding(
                        SeriesFindingKind.MISSING, anchor_seed, anchor_line,
                        f"patch {k}/{total} of v{version} is missing"))
    return unique + quoted, other, findings


# ------------------------------------------------------------------ naming
_PREFIX = re.compile(r'^\s*[\w./+-]+(?:/[\w.+-]+)*:\s+')
# words that say nothing about which uAPI a series adds: verbs every title
# starts with, function words, and the subsystem's own names
_FILLER = frozenset("""
a an the to for of on in and or with without by from at as into via be is are it its this
add adds added introduce introduces implement implements allow allows support supports
provide provides setup set up use uses make makes enable enables fix fixes handle handling
improve improves rework refactor new some more per basis framework infrastructure
kvm arm arm64 aarch64 x86 linux guest guests vm vms host
""".split())
_WORDS = 3


def _slug_words(text: str) -> list[str]:
    out: list[str] = []
    for w in re.split(r'[^A-Za-z0-9]+', text.lower()):
        if not w or w in _FILLER or re.fullmatch(r'v\d+', w) or w in out:
            continue
        out.append(w)
    return out


def series_name(series: Series) -> str:
    """A stable spec name from the series' subject and version.

    The rule: take the title of the cover letter (0/M), else of the first
    own patch, else of the first reply's patch; drop the subsystem prefixes
    (`KVM: arm64: `, `KVM: x86/MMU: `); split into lower-case words on
    anything that is not a letter or digit (so `KVM_ARM_VCPU_FINALIZE` is
    four words); drop filler (verbs titles start with, function words, the
    subsystem's own names, version-like words such as `v3`) and repeats;
    keep the first three words, joined by `-`; then `-rfc` for an RFC and
    `-v<N>` (`-v1` when the subject gives no version).  A title that leaves
    no word falls back on the file's name.

    `[PATCH v7 2/9] KVM: arm64: Setup a framework for hypercall bitmap
    firmware registers` -> `hypercall-bitmap-firmware-v7`;
    `[RFC PATCH v5 02/38] KVM: arm64: Add lock/unlock memslot user API`
    -> `lock-unlock-memslot-rfc-v5`.
    """
    subject: PatchSubject | None = None
    cover = series.cover
    if cover is not None:
        subject = cover.patch
    elif series.own and series.own[0].subject:
        subject = series.own[0].subject
    else:
        subject = next((p.subject for p in series.patches if p.subject), None) or \
            next((m.patch for m in series.replies + series.covers if m.patch), None)
    words: list[str] = []
    if subject is not None:
        title = subject.title
        while (m := _PREFIX.match(title)) and title[m.end():].strip():
            title = title[m.end():]
        words = _slug_words(title)[:_WORDS]
    if not words:
        words = _slug_words(Path(series.seed).stem)[:_WORDS] or ["series"]
    name = "-".join(words)
    if subject is not None and subject.rfc:
        name += "-rfc"
    return f"{name}-v{subject.version if subject else 1}"
