"""Generated municipal documents in Swedish, with known term frequencies for the query classes.

Deterministic for a seed. Each document has a title, a case number, a board, a type, a date and a body of
some 60-140 words built from sentences a registry really holds (decisions, minutes, building permits,
consultations). Frequencies are planted, not hoped for:

- ``kommunen`` appears in every second document (the "very common term");
- ``strandskydd`` in about 1 % (mid-frequency), ``vindkraft`` in about 1 % (two-term: both together ~0.1 %);
- ``Hällbergsgården`` in about 20 documents in a million (rare);
- ``detaljplan för Föllinge`` as a phrase in about 0.5 %;
- ``bygglov``, ``bygglovet``, ``bygglovsansökan`` … for the prefix query ``bygg*``-style.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

BOARDS = ("KS", "KF", "BN", "MN", "SN", "UN", "TN")
KINDS = ("incoming", "outgoing", "decision", "minutes", "agenda", "notice", "memo")
PLACES = ("Änge", "Föllinge", "Krokom", "Nälden", "Dvärsätt", "Aspås", "Trångsviken", "Hotagen", "Offerdal", "Ås")
TOPICS = (
    "bygglov för nybyggnad av enbostadshus",
    "förhandsbesked för fritidshus",
    "ansökan om serveringstillstånd",
    "remiss om regional trafikförsörjning",
    "budget och verksamhetsplan",
    "upphandling av skolskjuts",
    "medborgarförslag om belysning",
    "motion om gång- och cykelväg",
    "tillsyn enligt miljöbalken",
    "delårsrapport för förvaltningen",
    "taxa för vatten och avlopp",
    "ombyggnad av förskolan",
    "snöröjning och vinterväghållning",
    "renovering av simhallen",
    "avfallsplan för kommande period",
)
SENTENCES = (
    "Nämnden beslutar att {topic} ska genomföras under året.",
    "Förvaltningen har utrett ärendet och föreslår att {topic} bifalls.",
    "Sökanden har inkommit med kompletterande handlingar den {day} {month}.",
    "Ärendet har remitterats till berörda grannar i {place} som inte har haft några synpunkter.",
    "Beslutet kan överklagas hos länsstyrelsen inom tre veckor från den dag beslutet kungjordes.",
    "Protokollet justerades av ordföranden och två justerare efter sammanträdet i {place}.",
    "Enligt plan- och bygglagen ska åtgärden prövas mot gällande bestämmelser.",
    "Kostnaden beräknas till {amount} kronor och ryms inom befintlig budget.",
    "Samråd har skett med trafikverket och räddningstjänsten om tillfart och brandvatten.",
    "Handlingen innehåller uppgifter om fastigheten {place} {lot} och dess omgivning.",
    "Utskottet föreslår fullmäktige att anta förslaget med de ändringar som framgår av bilagan.",
    "Yttrandet lämnas till regionen senast den {day} {month} enligt begäran.",
    "Verksamheten har följts upp och resultatet redovisas i bifogad rapport.",
    "Eleverna och vårdnadshavarna har informerats om förändringen vid ett möte i skolan.",
    "Vägföreningen i {place} har framfört önskemål om bättre underhåll av vägen.",
    "Miljöinspektören genomförde ett platsbesök och noterade brister i avloppsanläggningen.",
    "Ledamöterna diskuterade frågan och ordföranden ställde proposition på förslagen.",
    "Tjänsteskrivelsen har upprättats av handläggaren på samhällsbyggnadsförvaltningen.",
)
COMMON = "Kommunen ansvarar för att ärendet handläggs skyndsamt och enligt gällande regler."
MID = "Åtgärden berör strandskydd vid sjön och kräver dispens."
TWO = "Planerad vindkraft i området har diskuterats med närboende."
RARE = "Byggnaden på Hällbergsgården är kulturhistoriskt värdefull."
PHRASE = "Arbetet med detaljplan för Föllinge centrum fortsätter."
PREFIX = (
    "Bygglovet beviljas.",
    "Bygglovsansökan är komplett.",
    "Bygglov krävs inte.",
    "Byggnadsnämnden har yttrat sig.",
)
MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober")
TITLES = (
    "Beslut om {topic}",
    "Protokoll från sammanträde i {place}",
    "Tjänsteskrivelse: {topic}",
    "Kallelse och dagordning, {place}",
    "Yttrande över {topic}",
    "Inkommen skrivelse om {topic}",
)

RARE_TERM = "hällbergsgården"
MID_TERM = "strandskydd"
COMMON_TERM = "kommunen"
TWO_TERMS = "strandskydd vindkraft"
PREFIX_TERM = "bygglov*"
PHRASE_TERM = '"detaljplan för Föllinge"'


@dataclass(frozen=True, slots=True)
class GeneratedDocument:
    """One document as the registry would hold it."""

    id: int
    case_number: str
    board: str
    kind: str
    title: str
    date: str  # ISO
    body: str


def documents(count: int, seed: int = 7) -> Iterator[GeneratedDocument]:
    """``count`` documents, ids 1…count, dated oldest first (ids grow with registration, as in the hub)."""
    rng = random.Random(seed)
    rare_every = max(1, count // 20)
    for doc_id in range(1, count + 1):
        board = BOARDS[doc_id % len(BOARDS)]
        year = 2016 + (doc_id * 10) // (count + 1)
        fill = {
            "topic": rng.choice(TOPICS),
            "place": rng.choice(PLACES),
            "day": rng.randint(1, 28),
            "month": rng.choice(MONTHS),
            "amount": rng.randint(10, 900) * 1000,
            "lot": f"{rng.randint(1, 40)}:{rng.randint(1, 99)}",
        }
        sentences = [s.format(**fill) for s in rng.sample(SENTENCES, rng.randint(4, 9))]
        if doc_id % 2 == 0:
            sentences.insert(rng.randint(0, len(sentences)), COMMON)
        if rng.random() < 0.01:
            sentences.append(MID)
            if rng.random() < 0.1:
                sentences.append(TWO)
        elif rng.random() < 0.01:
            sentences.append(TWO)
        if doc_id % rare_every == 0:
            sentences.append(RARE)
        if rng.random() < 0.005:
            sentences.append(PHRASE)
        if rng.random() < 0.03:
            sentences.append(rng.choice(PREFIX))
        month = 1 + doc_id % 12
        yield GeneratedDocument(
            id=doc_id,
            case_number=f"{board} {year}/{doc_id % 997 + 1}",
            board=board,
            kind=KINDS[doc_id % len(KINDS)],
            title=rng.choice(TITLES).format(**fill),
            date=f"{year}-{month:02d}-{1 + doc_id % 28:02d}",
            body=" ".join(sentences),
        )
