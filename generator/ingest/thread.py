"""Who wrote what in a reply: quote depths to authors, and remark text
without the mail furniture around it.

A reply quotes earlier messages one `>` deeper per generation and names
each one's writer on an attribution line at the depth above it:

    On Tue, Feb 15, 2022 at 3:03 AM Alexandru Elisei
    <alexandru.elisei@xxxxxxx> wrote:
    > text Alexandru wrote

so the text at depth d+1 is by the person the depth-d attribution names.
Depth 0 is the message's own author (its From: header, or, when the dump
lost its headers, the name it is signed with).
"""
from __future__ import annotations

import re

from generator.ingest.mail import Line, Message, quote_depth

_ATTR_END = re.compile(r'\bwrote:\s*$')
_ATTR_START = re.compile(r'^On\s+\S')
_EMAIL = re.compile(r'<[^>]*@[^>]*>|\S+@\S+')
_FOOTER = re.compile(r'^(?:_{5,}|[-=]{5,}|.*mailing list\s*$|https?://lists\.\S+$|'
                     r'\[Index of Archives\].*|\s*Powered by .*|\[Date Prev\].*)$')
_GREETING = re.compile(r'^(?:Hi|Hello|Hey|Dear)\b[^.!?]{0,40},?\s*$', re.I)
_SIGNOFF = re.compile(r'^(?:Thanks|Thank you|Cheers|Regards|Best regards|Best|Thx)\b[\s,.!]*$', re.I)


def attribution_name(text: str) -> str:
    """The writer's name from `On <date>, <Name> <email> wrote:`."""
    body = _ATTR_END.sub("", text).strip()
    body = re.sub(r'^On\s+', '', body)
    body = _EMAIL.sub("", body).strip().rstrip(",").strip()
    tail = body.rsplit(",", 1)[-1].strip()
    words = tail.split()
    # drop the date and time words in front of the name
    while words and (re.search(r'\d', words[0]) or words[0] in ("at", "AM", "PM", "am", "pm")):
        words.pop(0)
    return " ".join(words)


def attributions(lines: list[Line]) -> list[tuple[int, str, int]]:
    """(depth, name, seed line) for every attribution line: the name wrote
    the text quoted at depth + 1."""
    out: list[tuple[int, str, int]] = []
    parsed = [quote_depth(l.text) for l in lines]
    for k, (d, rest) in enumerate(parsed):
        if not _ATTR_START.match(rest.strip()):
            continue
        text = rest.strip()
        j = k
        # an attribution wraps onto at most two more lines at the same depth
        while not _ATTR_END.search(text) and j + 1 < len(parsed) and j - k < 2 \
                and parsed[j + 1][0] == d and parsed[j + 1][1].strip():
            j += 1
            text += " " + parsed[j][1].strip()
        if _ATTR_END.search(text):
            name = attribution_name(text)
            if name:
                out.append((d, name, lines[k].no))
    return out


def is_attribution_line(lines: list[Line], k: int) -> bool:
    """Whether line k is (part of) an attribution."""
    t = quote_depth(lines[k].text)[1].strip()
    if _ATTR_START.match(t) and any(_ATTR_END.search(quote_depth(l.text)[1])
                                    for l in lines[k:k + 3]):
        return True
    return bool(_ATTR_END.search(t)) and k > 0 and \
        bool(_ATTR_START.match(quote_depth(lines[k - 1].text)[1].strip()))


def _signature(msg: Message) -> str:
    """The name a message is signed with: the line after its last sign-off."""
    body = [quote_depth(l.text) for l in msg.lines]
    for k in range(len(body) - 1, 0, -1):
        d, t = body[k]
        if d or not t.strip():
            continue
        prev = next((body[j][1] for j in range(k - 1, -1, -1)
                     if body[j][1].strip() and body[j][0] == 0), "")
        if _SIGNOFF.match(prev.strip()) and re.match(r'^[A-Z][\w.-]*(?: [A-Z][\w.-]*)?$', t.strip()):
            return t.strip()
    return ""


def authors_by_depth(msg: Message) -> dict[int, str]:
    """Quote depth -> the name of whoever wrote the text at that depth."""
    out: dict[int, str] = {}
    for d, name, _ in attributions(msg.lines):
        out.setdefault(d + 1, name)
    own = msg.author
    if not own:
        signed = _signature(msg)
        # a first name signature is the person a deeper attribution names in full
        full = [n for n in out.values() if signed and n.split()[0] == signed.split()[0]]
        own = full[0] if full else signed
    out[0] = _EMAIL.sub("", own).strip() if own else ""
    return out


def clean_remark(lines: list[Line], all_lines: list[Line]) -> list[Line]:
    """A remark's lines without attributions, greetings, sign-offs,
    signatures and list footers; blank lines at either end dropped."""
    index = {l.no: k for k, l in enumerate(all_lines)}
    keep: list[Line] = []
    texts = [l.text.replace("\xa0", " ").strip() for l in lines]
    for k, ln in enumerate(lines):
        t = texts[k]
        if ln.text.rstrip() == "--" or ln.text == "-- ":
            break                         # the signature delimiter: the rest is signature
        pos = index.get(ln.no)
        if pos is not None and is_attribution_line(all_lines, pos):
            continue
        if _FOOTER.match(t) or _GREETING.match(t) or _SIGNOFF.match(t):
            continue
        prev = next((texts[j] for j in range(k - 1, -1, -1) if texts[j]), "")
        if _SIGNOFF.match(prev) and re.match(r'^[A-Za-z][\w.-]*(?: [A-Z][\w.-]*)?$', t):
            continue                      # the name under "Thanks,"
        if re.match(r'^\S+@\S+$', t) or t in ("--", "-- "):
            continue
        keep.append(ln)
    while keep and not keep[0].text.strip():
        keep.pop(0)
    while keep and not keep[-1].text.strip():
        keep.pop()
    return keep
