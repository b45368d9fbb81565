"""Design claims from prose: a cover letter with no code.

Phases:
  1. cut the prose where the mail furniture starts (the shortlog
     `Name (N):`, the diffstat, the `--` signature, list footers);
  2. split it into sentences, keeping each one's line and character offset;
  3. classify each sentence with the vocabulary's `prose` lexicon:
     * meta: about the posting itself (RFC, feedback, what it is based on)
       -- not a claim;
     * lead-in: a sentence ending in `:` -- not a claim;
     * proposal: an alternative the series does not take, and the
       sentences that go on about it (`This seems ...`) -- a claim, not
       testable;
     * otherwise a claim, testable from userspace when it names something a
       VMM does or sees (the lexicon's `observable` terms), not when it
       names only kernel or architecture state (`internal`);
  4. a testable claim whose observable concept the model of a later version
     predicts (the lexicon's `cases`) is mapped to that case.

Nothing here lists the claims of a particular letter: change the letter and
the claims change with it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from generator.ingest import Line
from generator.model import Claim, Source

_TRAILER = re.compile(r"(?:\b[A-Z][\w'-]+(?: [A-Z][\w'-]+)+ \(\d+\):)|(?:\s--\s+\d+\.\d+)|"
                      r"(?:_{5,})|(?:\S+\s+\|\s+\d+ [+-]+)")
_SPLIT = re.compile(r'(?<=[.!?:])\s+(?=["\'(*]?[A-Z]|\[\d+\])|(?<=\S)(?<=[a-z0-9/])\s+(?=\[\d+\] )')
_AFTER_URL = re.compile(r'(https?://\S+)\s+(?=[A-Z])')
_URL_ONLY = re.compile(r'^\[\d+\]\s*\S+$|^https?://\S+$')


@dataclass(frozen=True)
class ProseLexicon:
    meta: tuple[str, ...]
    proposal: tuple[str, ...]
    continuation: tuple[str, ...]
    observable: dict[str, str]      # term -> concept
    internal: dict[str, str]
    cases: dict[str, str]           # concept -> case id in the later version's plan

    @staticmethod
    def from_data(d: dict) -> "ProseLexicon":
        return ProseLexicon(tuple(d.get("meta", [])), tuple(d.get("proposal", [])),
                            tuple(d.get("continuation", [])),
                            dict(d.get("observable") or {}), dict(d.get("internal") or {}),
                            dict(d.get("cases") or {}))


@dataclass(frozen=True)
class Sentence:
    text: str
    line: int
    offset: int                     # character offset in its line


def prose_text(lines: list[Line]) -> list[tuple[int, str]]:
    """(line, text) of the prose, cut where the mail furniture starts."""
    out: list[tuple[int, str]] = []
    for ln in lines:
        m = _TRAILER.search(ln.text)
        if m:
            if ln.text[:m.start()].strip():
                out.append((ln.no, ln.text[:m.start()]))
            break
        out.append((ln.no, ln.text))
    return out


def sentences(lines: list[tuple[int, str]]) -> list[Sentence]:
    out: list[Sentence] = []
    for no, text in lines:
        pos = 0
        pieces = [q for p in _SPLIT.split(text) for q in _AFTER_URL.sub("\\1\n", p).split("\n")]
        for piece in pieces:
            start = text.find(piece, pos)
            pos = start + len(piece)
            s = piece.strip()
            if s:
                out.append(Sentence(s, no, start + (len(piece) - len(piece.lstrip()))))
    return out


def _terms(text: str, table: dict[str, str]) -> list[str]:
    low = text.lower()
    return [t for t in table if re.search(r'(?<![\w])' + re.escape(t.lower()), low)]


def _has(text: str, words: tuple[str, ...]) -> bool:
    low = text.lower()
    return any(re.search(r'(?<![\w])' + re.escape(w.lower()) + r'(?![\w])', low) for w in words)


def classify(sents: list[Sentence], lex: ProseLexicon, seed: str,
             successor: str = "") -> list[Claim]:
    claims: list[Claim] = []
    in_proposal = False
    for k, s in enumerate(sents, 1):
        text = s.text
        if _URL_ONLY.match(text) or len(text.split()) < 4:
            in_proposal = False
            continue
        if _has(text, lex.meta):
            in_proposal = False
            continue
        if text.endswith(":"):
            in_proposal = False
            continue
        observable = _terms(text, lex.observable)
        internal = _terms(text, lex.internal)
        if not observable and not internal and not _has(text, ("KVM", "guest", "MTE", "tags")):
            continue                      # not about the subject at all
        proposal = _has(text, lex.proposal) or (in_proposal and _has(text, lex.continuation))
        in_proposal = proposal
        src = Source(seed, s.line, "", "", text[:120])
        cid = f"cover.s{k}"
        if proposal:
            claims.append(Claim(cid, text, False, src, offset=s.offset,
                                basis="describes an alternative the series does not take"))
            continue
        if observable:
            concepts = [lex.observable[t] for t in observable]
            case = next((lex.cases[c] for c in concepts if c in lex.cases), "")
            basis = (f"names what a VMM does or sees ({', '.join(observable)})"
                     + (f"; the model of {successor} predicts it ({case})" if case and successor
                        else "; no model in this project predicts it"))
            claims.append(Claim(cid, text, True, src,
                                case=f"{successor}:{case}" if case and successor else "",
                                offset=s.offset, basis=basis))
            continue
        claims.append(Claim(cid, text, False, src, offset=s.offset,
                            basis=(f"names only kernel or architecture state ({', '.join(internal)})"
                                   if internal else "names nothing userspace does or sees")))
    return claims


def is_prose(lines: list[Line]) -> bool:
    """Whether text reads as natural language (a mail body), not code or data."""
    text = " ".join(l.text for l in lines)
    words = re.findall(r"[A-Za-z][a-z']+", text)
    code = len(re.findall(r'[{};=<>\[\]]', text))
    return len(words) >= 5 and code * 8 < len(words)
