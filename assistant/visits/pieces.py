"""A jotting cut into pieces at spaces and punctuation (a phone or ID number written with spaces stays one
piece), and "X 不对 是Y" dropping X. Every field of a record is made of pieces, so each knows its span."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.visits.record import VisitRecord

SPLIT = re.compile(r"[\s，,。；;！!？?、：:（）()【】\[\]“”\"'…~～]+")
CORRECTION = re.compile(r"不对")
CORRECTION_LEAD = re.compile(r"^(?:应该|应当)?(?:是|叫|为)")


@dataclass
class Piece:
    text: str
    start: int
    end: int
    dropped: bool = False  # superseded by a correction
    used: bool = False  # consumed by a structured field (name, age, time, method)


def pieces_of(text: str, protected: list[tuple[int, int]]) -> list[Piece]:
    """Cut at separators, never inside a protected span (a phone number written 139 0000 4521)."""
    cuts = [(m.start(), m.end()) for m in SPLIT.finditer(text)
            if not any(s < m.start() < e or s < m.end() < e for s, e in protected)]
    # "严淑珍不对叫严淑贞" written without spaces: 不对 is its own piece all the same
    cuts += [(m.start(), m.start()) for m in CORRECTION.finditer(text)] + [(m.end(), m.end())
                                                                            for m in CORRECTION.finditer(text)]
    cuts.sort()
    out, pos = [], 0
    for s, e in cuts + [(len(text), len(text))]:
        if s > pos:
            out.append(Piece(text[pos:s], pos, s))
        pos = max(pos, e)
    return out


def apply_corrections(pieces: list[Piece], record: VisitRecord) -> list[Piece]:
    """'78 不对 87了', '严淑珍 不对 叫严淑贞': the piece before 不对 is superseded by the one after it."""
    kept: list[Piece] = []
    i = 0
    while i < len(pieces):
        p = pieces[i]
        if p.text == "不对":
            previous = next((k for k in reversed(kept) if not k.dropped), None)
            nxt = pieces[i + 1] if i + 1 < len(pieces) else None
            if previous is not None and nxt is not None:
                previous.dropped = True
                lead = CORRECTION_LEAD.match(nxt.text)
                if lead:
                    nxt.text, nxt.start = nxt.text[lead.end():], nxt.start + lead.end()
                record.corrections.append(f"{previous.text} → {nxt.text}")
            i += 1
            continue
        kept.append(p)
        i += 1
    return [p for p in kept if p.text]


# A piece that only says a visit was made: nothing for the record's fields.
NO_CONTENT = r"^(?:补记|入户|上门|去了|去的|电话问了下?|走了一趟|例行走访|上门回访|回访|走访|家访|登记一下)$"
