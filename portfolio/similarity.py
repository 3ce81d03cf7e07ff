"""Duplicate detection at intake: existing and retired initiatives that look like a new one.

A PM typing a title and summary sees the initiatives, in any team and any stage (retired
ones too, with their kill-log reason and lessons), that describe the same problem, each
with the shared words that made it match.

How it works
------------
1. Text becomes *terms*: HTML is stripped, text lowercased, accents dropped; a few
   phrases become one term ("service desk", "purchase order"); stop words go, and so do
   words that every AI initiative uses ("ai", "using", "tool"); British spellings become
   American ones (summarise -> summarize); a light stemmer folds word families (routing,
   routed, route -> rout); a small synonym map folds enterprise vocabulary (ticket / case /
   request, invoice / bill, forecast / predict, ...). Each term keeps the word as written,
   for the explanation.
2. ``InitiativeTerm`` is an inverted index: one row per (initiative, term), flagged when
   the term is in the title. ``index_initiatives`` rewrites the rows of many initiatives
   in a few bulk queries; the services call it on create and on a change of title or
   summary, the importer for its whole batch, ``manage.py similarity_reindex`` for all.
3. A query weighs each term by its rarity in the portfolio (IDF: ``1 + ln((N+1)/(df+1))``),
   doubles it in a title and damps generic terms (assistant, automation, data, model...).
   The database ranks the initiatives that share the query's rarest terms and returns at
   most ``MAX_CANDIDATES``; their terms are then scored exactly in Python.
4. The score is the cosine of the two weighted term vectors, 0 (nothing in common) to 1
   (the same terms, weighted alike), scaled down in proportion when fewer than
   ``MIN_SHARED_TERMS`` terms are shared: one word in common is weak evidence, whatever
   the cosine of two short texts says. Six queries, whatever the size of the portfolio.
5. ``similar_initiatives_batch`` asks the same for many texts at once (the CSV import):
   the same scoring and threshold, each text also against the batch's earlier texts, and
   still six queries (the candidates are ranked in Python from postings read once).

The threshold
-------------
``SIMILARITY_THRESHOLD`` = 0.18: a match below it is never suggested. Measured on the test
corpus (``tests/portfolio/similarity_corpus.py``: 54 initiatives from 30 teams, among them
22 pairs planted as the same idea written up by two teams, and 12 intake texts that
duplicate none of them): every planted twin scores between 0.23 and 0.53 against its pair
(38 of 44 above 0.29), while no unrelated probe scores above 0.10 against anything. The
line sits in that gap, nearer the twins: about twice the best coincidental score, 0.05
under the weakest twin. On the seeded demo (70 initiatives, few of them duplicates) it
shows a suggestion only where two or three meaningful words are shared.
``test_similarity.py`` checks both sides.

The two tiers
-------------
Word overlap alone cannot tell a reworded twin from a different initiative in the same
area (support-ticket triage versus support-ticket summaries), so a suggestion says how sure
it is: "probably the same idea" from ``SAME_IDEA_THRESHOLD`` = 0.42, "related work" from
``SIMILARITY_THRESHOLD`` = 0.18 up to it. Measured on the grown corpus (the 22 planted pairs,
6 ``HARD_PARAPHRASES`` pairs, 10 ``HARD_NEGATIVES``: a different initiative beside a planted
one in its area, the ``OTHERS`` and the unrelated probes; each text asked against all the
others, every match counted): no hard negative and no other non-twin scores above 0.40 (the
best: knowledge-base answer search against KB article writing), so the first tier starts
just above it. First tier: precision 100% (22 of 22 suggestions are twins), recall 39%
(22 of 56 twin directions). Both tiers: recall 96% (54 of 56); the miss is a hard
paraphrase with no word in common (warranty claims / guarantee screening), which only a
reader can link. Hard negatives land in "related work" or nowhere.
``test_the_tiers_hold_their_stated_figures_on_the_corpus`` computes and asserts these.

Changing the normalisation (stop words, synonyms, stemmer) changes the stored terms: run
``manage.py similarity_reindex`` after deploying such a change.
"""

from __future__ import annotations

import functools
import heapq
import html
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Case, Count, FloatField, Subquery, Sum, Value, When

from portfolio.models import Initiative, InitiativeTerm

SIMILARITY_THRESHOLD: float = 0.18  # "related work" from here: never suggested below
SAME_IDEA_THRESHOLD: float = 0.42  # "probably the same idea" from here (see "The two tiers")
SAME_IDEA, RELATED = "same", "related"
TIER_LABELS = {SAME_IDEA: "Probably the same idea", RELATED: "Related work"}

TITLE_WEIGHT = 2.0  # a term in a title says more about what the initiative is
GENERIC_WEIGHT = 0.3  # words every other AI initiative uses: a weak signal on their own
MIN_SHARED_TERMS = 2  # fewer shared terms than this scale the score down in proportion
MAX_CANDIDATES = 50  # initiatives the database hands over for exact scoring
MAX_RETRIEVAL_TERMS = 16  # the query's rarest terms that pick the candidates
COMMON_SHARE = 0.2  # a term in more than this share of the portfolio picks no candidates
MAX_QUERY_CHARS = 5000  # a pasted document is cut here
MAX_TERM_LENGTH = 40  # longer "words" are URLs, hashes or noise
MAX_SUMMARY_TERMS_SHOWN = 6
DELETE_CHUNK = 500  # ids per DELETE, under SQLite's variable limit
INSERT_BATCH = 5000  # rows per INSERT (the backend may lower it: SQLite allows 999 values)
BATCH_IN_LIST = 20_000  # values per IN (...) of a batch check (SQLite: its parameter limit)


# --- Text to terms ------------------------------------------------------------------------

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_WORDS = _words("""
a about above across after again against all almost along already also although always am
among an and another any anyone anything are around as at away be because been before being
below between both but by can cannot could did do does doing done down during each either
else etc even ever every few for from further get gets getting give given go goes going got
had has have having he her here hers him his how however i ie eg if in into is it its itself
just keep know least less let lets like made make makes making many may me might more most
much must my need needs never no nor not now of off often on once one only onto or other
others otherwise our ours out over own per put rather same see seen she should since so some
something still such than that the their theirs them themselves then there these they this
those though through thus to too under until up upon us very via vs was we well were what
whatever when where whether which while whilst who whom whose why will with within without
would yet you your yours
""") | _words("""
ai genai gen generative artificial intelligence powered driven enabled leverage leverages
leveraging initiative initiatives project projects pilot pilots poc mvp solution solutions
tool tools toolkit use uses used using based new improve improves improved improving reduce
reduces reduced reducing increase increases increased help helps helping enable enables
better faster quicker easier fewer time times way ways team teams people company stop stops
agentic right real
""")

# Spelled-out phrases that mean one thing; the key is the term they become.
PHRASES: dict[str, list[str]] = {
    "helpdesk": [r"help[\s-]*desks?", r"service[\s-]*desks?"],
    "contactcentre": [r"(?:call|contact)[\s-]*cent(?:re|er)s?"],
    "knowledgebase": [r"knowledge[\s-]*bases?", r"help[\s-]*cent(?:re|er)\s+articles?"],
    "purchaseorder": [r"purchase[\s-]*orders?"],
    "pullrequest": [r"(?:pull|merge)[\s-]*requests?"],
    "accountspayable": [r"accounts?[\s-]*payables?"],
    "accountsreceivable": [r"accounts?[\s-]*receivables?"],
    "hr": [r"human[\s-]*resources?"],
    "qa": [r"q\s*&\s*a", r"q\s+and\s+a"],
    "faq": [r"frequently[\s-]*asked[\s-]*questions?"],
    "chatbot": [r"chat[\s-]+bots?", r"virtual[\s-]*(?:assistant|agent)s?"],
    "email": [r"e-mails?"],
    "llm": [r"large[\s-]*language[\s-]*models?"],
    "ml": [r"machine[\s-]*learning"],
    "naturallanguage": [r"natural[\s-]*language", r"plain[\s-]*(?:language|english)"],
    "newhire": [r"new[\s-]*(?:joiners?|hires?|starters?|employees?|recruits?)"],
    "monthend": [r"(?:month|period|year|quarter)[\s-]*end"],
    "wrapup": [r"wrap[\s-]*ups?", r"after[\s-]*call[\s-]*work"],
    "speechtotext": [r"speech[\s-]*to[\s-]*text"],
    "realtime": [r"real[\s-]*time"],
    "rootcause": [r"root[\s-]*causes?"],
    "pii": [r"personal(?:ly)?[\s-]*(?:identifiable[\s-]*)?(?:data|information)"],
    "travelexpense": [r"t\s*&\s*e", r"travel\s+(?:and|&)\s+expenses?"],
    "customersupport": [r"customer[\s-]*(?:service|care|support)"],
    "usecase": [r"use[\s-]*cases?", r"business[\s-]*cases?"],
    "bi": [r"business[\s-]*intelligence"],
    "ocr": [r"optical[\s-]*character[\s-]*recognition"],
    "hs": [r"harmoni[sz]ed[\s-]*(?:system|tariff)"],
}

# Words that name the same thing in enterprise AI proposals. The first word names the group.
SYNONYMS: list[list[str]] = [
    ["ticket", "case", "request", "enquiry", "inquiry"],
    ["helpdesk", "support", "customersupport"],
    ["invoice", "bill", "billing"],
    ["summary", "summarize", "summarization", "summarizer", "recap", "synopsis"],
    ["assistant", "chatbot", "bot", "copilot"],
    ["email", "mail", "mailbox", "inbox"],
    ["contract", "agreement"],
    ["forecast", "predict", "prediction", "predictive", "projection"],
    ["employee", "staff", "worker", "colleague", "personnel", "workforce"],
    ["customer", "client"],
    ["supplier", "vendor"],
    ["document", "doc", "paperwork"],
    ["transcribe", "transcript", "transcription", "speechtotext"],
    ["translate", "translation", "translator", "multilingual"],
    ["extract", "extraction", "parse", "parser"],
    ["classify", "classification", "classifier", "categorize", "categorization", "tag"],
    ["churn", "churner"],  # customers leaving
    ["attrition", "turnover"],  # staff leaving
    ["anomaly", "outlier", "deviation", "unusual", "abnormal"],
    ["recruit", "recruitment", "recruiter", "hire", "hiring", "talent"],
    ["cv", "resume"],
    ["candidate", "applicant"],
    ["reply", "response", "respond", "answer"],
    ["draft", "compose", "write"],
    ["search", "retrieval", "retrieve", "lookup"],
    ["route", "dispatch", "assign"],
    ["priority", "prioritize", "prioritization", "urgency", "urgent", "severity"],
    ["sentiment", "emotion", "tone", "mood"],
    ["voice", "speech", "audio", "spoken"],
    ["shipment", "shipping", "freight", "parcel", "consignment"],
    ["carrier", "courier", "haulier"],
    ["inventory", "stock"],
    ["warehouse", "depot"],
    ["redact", "redaction", "anonymize", "anonymization", "mask", "pseudonymize"],
    ["pii", "personal"],
    ["escalate", "escalation", "handoff", "handover"],
    ["faq", "qa"],
    ["knowledgebase", "kb", "wiki"],
    ["reconcile", "reconciliation", "match", "matching"],
    ["onboard", "onboarding", "induction"],
    ["vulnerability", "vuln", "cve"],
    ["patch", "remediate", "remediation"],
    ["fraud", "scam"],
    ["developer", "dev"],
    ["slide", "deck", "presentation"],
    ["rfp", "rfq", "tender"],
    ["explain", "explanation", "rationale"],
    ["alert", "notify", "notification", "alarm", "warn", "warning"],
    ["maintenance", "maintain", "repair"],
    ["failure", "breakdown", "outage", "downtime"],
    ["compliance", "comply", "compliant", "regulatory", "regulation"],
    ["monitor", "watch", "surveillance"],
    ["customs", "tariff"],
    ["carbon", "emission", "co2", "ghg"],
    ["procurement", "purchasing", "sourcing"],
    ["schedule", "calendar"],
    ["access", "entitlement", "permission", "privilege"],
    ["crm", "salesforce"],
    ["erp", "sap"],
    ["leave", "holiday", "vacation", "pto", "absence"],
    ["resolve", "solve"],
    ["feedback", "comment", "verbatim"],
    ["theme", "topic"],
    ["analysis", "analyze", "analytics", "analyst"],
    ["automation", "automate", "automatic", "auto"],
    ["promotion", "promo"],
    ["criteria", "requirement"],
    ["accountsreceivable", "receivable"],
    ["accountspayable", "payable"],
]

# Terms so common in AI proposals that they weigh little on their own.
GENERIC_WORDS = ["assistant", "automation", "analysis", "data", "model", "llm", "ml",
                 "platform", "system", "process", "workflow", "insight", "smart",
                 "intelligent", "digital", "service", "business", "engine", "agent",
                 "generate", "detect", "report", "enterprise"]

_BRITISH = {
    "licence": "license", "licences": "licenses", "defence": "defense", "offence": "offense",
    "programme": "program", "programmes": "programs", "catalogue": "catalog",
    "catalogues": "catalogs", "dialogue": "dialog", "analogue": "analog", "enrol": "enroll",
    "enrolment": "enrollment", "fulfil": "fulfill", "fulfilment": "fulfillment",
    "judgement": "judgment", "ageing": "aging", "artefact": "artifact",
    "artefacts": "artifacts", "grey": "gray", "tyre": "tire", "tyres": "tires",
    "learnt": "learned", "cheque": "check", "cheques": "checks", "aluminium": "aluminum",
    "mould": "mold", "travelling": "traveling", "travelled": "traveled",
}
_IRREGULAR = {
    "bias": "bias", "biases": "bias", "data": "data", "criteria": "criteria",
    "criterion": "criteria", "media": "media", "analyses": "analysis", "indices": "index",
    "people": "people", "news": "news", "series": "series", "priority": "priority",
    "priorities": "priority", "customer": "customer", "customers": "customer",
}
_BRITISH_RULES = [
    (re.compile(r"^(\w{2,})is(e|es|ed|ing|er|ers|ation|ations)$"), r"\1iz\2"),
    (re.compile(r"^(\w+)ys(e|es|ed|ing|er|ers)$"), r"\1yz\2"),
    (re.compile(r"^(\w{3,})our(s|ed|ing|al|able|ite|ites)?$"), r"\1or\2"),
    (re.compile(r"^(\w{2,})([tb])re(s)?$"), r"\1\2er\3"),
]
# (suffix, replacement, shortest stem left): the first that fits, at most twice over.
_SUFFIXES = [
    ("ification", "ify", 2), ("ization", "ize", 3), ("ication", "ic", 3),
    ("ional", "ion", 3), ("ifier", "ify", 2), ("ation", "", 3), ("ition", "", 3),
    ("ction", "ct", 2), ("ssion", "ss", 2), ("ption", "pt", 2), ("ator", "", 3),
    ("ctor", "ct", 2), ("izer", "ize", 3), ("ate", "", 3), ("able", "", 4),
    ("ible", "", 4), ("ance", "", 4), ("ence", "", 4), ("ally", "", 4), ("ity", "", 4),
    ("ive", "", 4), ("ly", "", 4), ("er", "", 4),
]
_VOWEL = re.compile(r"[aeiouy]")


def _americanize(word: str) -> str:
    if word in _BRITISH:
        return _BRITISH[word]
    if len(word) < 5:
        return word
    for pattern, replacement in _BRITISH_RULES:
        if (changed := pattern.sub(replacement, word)) != word:
            return changed
    return word


def _undouble(root: str) -> str:
    """planning -> plan; British doubling too: modelling, labelled -> model, label."""
    if len(root) >= 4 and root[-1] == root[-2] and root[-1] not in "lsz":
        return root[:-1]
    if len(root) >= 6 and root.endswith("ell"):
        return root[:-1]
    return root


def stem(word: str) -> str:
    """A light English stemmer: folds plurals, -ing/-ed and common derivations.

    Not a linguist's stem, just the same key for the words of one family: ``route``,
    ``routes``, ``routing``, ``routed`` -> ``rout``; ``summarise``, ``summarized`` ->
    ``summariz``; ``automation``, ``automated`` -> ``autom``.
    """
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    word = _americanize(word)
    if len(word) <= 3:
        return word
    # Inflections.
    if word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "ches", "shes", "xes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for ending, shortest in (("ing", 3), ("ed", 4)):
        root = word[: -len(ending)]
        if word.endswith(ending) and len(root) >= shortest and _VOWEL.search(root):
            word = _undouble(root)
            if word.endswith(("at", "bl", "iz")):
                word += "e"  # automat-ed -> automate, like automate itself
            break
    # Derivations.
    for _ in range(2):
        for suffix, replacement, shortest in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= shortest:
                word = _undouble(word[: -len(suffix)] + replacement)
                break
        else:
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def _build_canon() -> dict[str, str]:
    canon: dict[str, str] = {}
    for group in SYNONYMS:
        concept = stem(group[0])
        for word in group:
            key = stem(word)
            if canon.get(key, concept) != concept:
                raise ValueError(f"{word!r} is in two synonym groups")
            canon[key] = concept
    return canon


_CANON = _build_canon()
_GENERIC = frozenset(_CANON.get(stem(word), stem(word)) for word in GENERIC_WORDS)
_TOKEN = re.compile(
    "|".join(f"(?P<p{index}>\\b(?:{'|'.join(patterns)})\\b)"
             for index, patterns in enumerate(PHRASES.values()))
    + r"|(?P<word>[a-z0-9]+)"
)
_PHRASE_TERMS = list(PHRASES)
_TAG = re.compile(r"<[^>]*>")


def _plain(text: str) -> str:
    """Lowercase text without markup or accents."""
    text = html.unescape(_TAG.sub(" ", text or ""))
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    return re.sub(r"['’]s\b", "", text.lower())


@functools.lru_cache(maxsize=50_000)
def term_of(word: str) -> str | None:
    """The index term for one lowercased word, or None if it carries no meaning here."""
    if word in STOP_WORDS or len(word) < 2 or len(word) > MAX_TERM_LENGTH:
        return None
    if word.isdigit() and len(word) < 3:
        return None
    key = stem(word)
    return _CANON.get(key, key)


def terms(text: str) -> Iterator[tuple[str, str]]:
    """(term, word as written) for each meaningful word or phrase in ``text``, in order."""
    for match in _TOKEN.finditer(_plain(text)):
        group = match.lastgroup
        if group == "word":
            word = match.group()
            term = term_of(word)
        else:
            word = " ".join(match.group().split())
            term = term_of(_PHRASE_TERMS[int(group[1:])])
        if term:
            yield term, word


@dataclass
class _Occurrence:
    word: str
    in_title: bool


def document_terms(title: str, summary: str) -> dict[str, _Occurrence]:
    """An initiative's terms, each with the word first written for it (the title's first)."""
    found: dict[str, _Occurrence] = {}
    for term, word in terms((title or "")[:MAX_QUERY_CHARS]):
        found.setdefault(term, _Occurrence(word, True))
    for term, word in terms((summary or "")[:MAX_QUERY_CHARS]):
        found.setdefault(term, _Occurrence(word, False))
    return found


# --- The index ----------------------------------------------------------------------------

def write_index(term_model, items: Iterable[tuple[int, str, str]]) -> int:
    """Replace the index rows of (id, title, summary) items; returns the rows written.

    Takes the model as an argument so that the backfill migration can pass its historical
    one. A fixed number of statements per batch of rows, never one per initiative.
    """
    items = list(items)
    rows = [
        term_model(initiative_id=pk, term=term[:MAX_TERM_LENGTH], in_title=seen.in_title,
                   word=seen.word[:60])
        for pk, title, summary in items
        for term, seen in document_terms(title, summary).items()
    ]
    ids = [pk for pk, _, _ in items]
    with transaction.atomic():
        for start in range(0, len(ids), DELETE_CHUNK):
            term_model.objects.filter(initiative_id__in=ids[start:start + DELETE_CHUNK]).delete()
        term_model.objects.bulk_create(rows, batch_size=INSERT_BATCH)
    return len(rows)


def index_initiatives(initiatives: Iterable[Initiative]) -> None:
    """(Re)build the index rows for these initiatives in bulk."""
    write_index(InitiativeTerm, ((i.pk, i.title, i.summary) for i in initiatives))


# --- Matching -----------------------------------------------------------------------------

def match_tier(score: float) -> str:
    """``SAME_IDEA`` from ``SAME_IDEA_THRESHOLD`` up, else ``RELATED`` (a suggestion is never
    below ``SIMILARITY_THRESHOLD``)."""
    return SAME_IDEA if score >= SAME_IDEA_THRESHOLD else RELATED


class Tiered:
    """A suggestion's tier, from its ``score``: "probably the same idea" or "related work"."""

    score: float

    @property
    def tier(self) -> str:
        return match_tier(self.score)

    @property
    def tier_label(self) -> str:
        return TIER_LABELS[self.tier]


@dataclass(frozen=True)
class SimilarMatch(Tiered):
    initiative: Initiative  # with team and owner loaded
    score: float  # 0..1: the weighted cosine, scaled down if under two terms are shared
    title_terms: list[str]  # shared words that are in both titles
    summary_terms: list[str]  # other shared words: in a summary on one side at least
    reason: str  # one sentence saying why it matched


def _idf(df: int, total: int) -> float:
    return 1.0 + math.log((total + 1) / (df + 1))


def _weights(found: dict[str, bool], df: dict[str, int], total: int) -> dict[str, float]:
    """term -> weight, from ``found``: term -> whether it is in the title."""
    return {
        term: _idf(df.get(term, 0), total)
        * (GENERIC_WEIGHT if term in _GENERIC else 1.0)
        * (TITLE_WEIGHT if in_title else 1.0)
        for term, in_title in found.items()
    }


def _norm(vector: dict[str, float]) -> float:
    return math.sqrt(sum(weight * weight for weight in vector.values()))


def _document_frequencies(terms_filter) -> dict[str, int]:
    return dict(InitiativeTerm.objects.filter(term__in=terms_filter).values("term")
                .annotate(df=Count("*")).values_list("term", "df"))


def _retrieval_terms(query: dict[str, float], df: dict[str, int], total: int) -> list[str]:
    """The query's most telling terms that some initiative has, common ones left out."""
    known = [term for term in query if df.get(term)]
    too_common = max(25, COMMON_SHARE * total)
    chosen = [term for term in known if df[term] <= too_common] or sorted(
        known, key=lambda term: df[term])[:3]
    return sorted(chosen, key=lambda term: -query[term])[:MAX_RETRIEVAL_TERMS]


def _family(word: str) -> str:
    return stem(re.sub(r"[^a-z0-9]", "", word))


def _label(query_word: str, word: str) -> str:
    """The candidate's word; with the query's beside it when only a synonym links them."""
    return word if _family(query_word) == _family(word) else f"{query_word} ≈ {word}"


def _quoted(words: list[str]) -> str:
    quoted = [f'"{word}"' for word in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _reason(title_terms: list[str], summary_terms: list[str], in_both_summaries: bool) -> str:
    parts = []
    if title_terms:
        parts.append(f"Both titles mention {_quoted(title_terms)}")
    if summary_terms:
        shared = "summaries share" if in_both_summaries else "the descriptions share"
        parts.append(f"{shared} {_quoted(summary_terms)}")
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."


def _score(query: dict[str, float], query_norm: float,
           vector: dict[str, float]) -> tuple[float, list[str]]:
    """The score of one candidate (weighted cosine, scaled down when under
    ``MIN_SHARED_TERMS`` terms are shared) and the shared terms, most telling first."""
    shared = sorted(set(query) & set(vector), key=lambda t: (-query[t] * vector[t], t))
    cosine = sum(query[t] * vector[t] for t in shared) / (query_norm * _norm(vector))
    evidence = sum(GENERIC_WEIGHT if t in _GENERIC else 1.0 for t in shared)
    return cosine * min(1.0, evidence / MIN_SHARED_TERMS), shared


def _explain(query_found: dict[str, _Occurrence], found: dict[str, bool], words: dict[str, str],
             shared: list[str]) -> tuple[list[str], list[str], str]:
    """The shared words in both titles, the other shared words, and the "Why" sentence."""
    in_titles = [t for t in shared if query_found[t].in_title and found[t]]
    elsewhere = [t for t in shared if t not in in_titles][:MAX_SUMMARY_TERMS_SHOWN]
    title_terms = [_label(query_found[t].word, words[t]) for t in in_titles]
    summary_terms = [_label(query_found[t].word, words[t]) for t in elsewhere]
    both_summaries = all(not query_found[t].in_title and not found[t] for t in elsewhere)
    return title_terms, summary_terms, _reason(title_terms, summary_terms, both_summaries)


def similar_initiatives(*, title: str, summary: str = "", limit: int = 5,
                        exclude_id: int | None = None) -> list[SimilarMatch]:
    """The initiatives most like this title and summary, best first, none below the threshold.

    Six queries whatever the size of the portfolio: its size, the query terms' document
    frequencies, the candidates (ranked in the database), their terms, those terms'
    document frequencies, and the matches with team and owner.
    """
    query_found = document_terms(title, summary)
    if not query_found or limit <= 0:
        return []
    total = Initiative.objects.count()
    df = _document_frequencies(list(query_found))
    query = _weights({t: seen.in_title for t, seen in query_found.items()}, df, total)
    retrieval = _retrieval_terms(query, df, total)
    if not retrieval:
        return []

    # Candidates: initiatives sharing the query's telling terms, by summed weight.
    term_weight = Case(*[When(term=term, then=Value(query[term])) for term in retrieval],
                       default=Value(0.0), output_field=FloatField())
    field_weight = Case(When(in_title=True, then=Value(TITLE_WEIGHT)), default=Value(1.0),
                        output_field=FloatField())
    ranked = (InitiativeTerm.objects.filter(term__in=retrieval)
              .values("initiative_id")
              .annotate(rank=Sum(term_weight * field_weight, output_field=FloatField()))
              .order_by("-rank", "-initiative_id"))
    if exclude_id is not None:
        ranked = ranked.exclude(initiative_id=exclude_id)
    candidate_ids = [row["initiative_id"] for row in ranked[:MAX_CANDIDATES]]
    if not candidate_ids:
        return []

    # Exact scores over the candidates' whole texts.
    candidate_rows = InitiativeTerm.objects.filter(initiative_id__in=candidate_ids)
    found: dict[int, dict[str, bool]] = {pk: {} for pk in candidate_ids}
    words: dict[int, dict[str, str]] = {pk: {} for pk in candidate_ids}
    for pk, term, in_title, word in candidate_rows.values_list("initiative_id", "term",
                                                               "in_title", "word"):
        found[pk][term] = in_title
        words[pk][term] = word
    df.update(_document_frequencies(Subquery(candidate_rows.values("term"))))
    query_norm = _norm(query)
    scored = []
    for pk in candidate_ids:
        score, shared = _score(query, query_norm, _weights(found[pk], df, total))
        if score >= SIMILARITY_THRESHOLD:
            scored.append((score, pk, shared))
    scored.sort(key=lambda item: (-item[0], item[1]))
    scored = scored[:limit]

    initiatives = Initiative.objects.select_related("team", "owner").in_bulk(
        [pk for _, pk, _ in scored])
    matches = []
    for score, pk, shared in scored:
        if pk not in initiatives:  # deleted since it was scored
            continue
        title_terms, summary_terms, reason = _explain(query_found, found[pk], words[pk], shared)
        matches.append(SimilarMatch(
            initiative=initiatives[pk], score=round(score, 4), title_terms=title_terms,
            summary_terms=summary_terms, reason=reason,
        ))
    return matches


# --- Many texts at once: the CSV import -----------------------------------------------------

@dataclass(frozen=True)
class BatchMatch(Tiered):
    """What one text of a batch looks like: an initiative, or an earlier text of the batch."""

    score: float  # as ``SimilarMatch.score``
    title_terms: list[str]
    summary_terms: list[str]
    reason: str  # the same "Why" sentence intake shows
    initiative: Initiative | None = None  # with team and owner loaded
    earlier: int | None = None  # or the index of an earlier text in the batch


def _in_chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _in_list_size() -> int:
    """Values per ``IN (...)`` list: under SQLite's parameter limit, few statements elsewhere."""
    limit = connection.features.max_query_params
    return min(limit - 10, BATCH_IN_LIST) if limit else BATCH_IN_LIST


def _best_ranked(rank: dict[int, float]) -> list[int]:
    """The ``MAX_CANDIDATES`` best-ranked keys, ties to the higher key (as the database orders)."""
    return heapq.nsmallest(MAX_CANDIDATES, rank, key=lambda key: (-rank[key], -key))


def similar_initiatives_batch(texts: Sequence[tuple[str, str]], *, limit: int = 5
                              ) -> list[list[BatchMatch]]:
    """For each (title, summary) of ``texts``, best first: the initiatives like it and the
    earlier texts of the batch like it, by the same score and threshold as
    ``similar_initiatives``.

    Against the portfolio, a text is scored exactly as intake scores it (the portfolio's
    term frequencies). Against the earlier texts it is scored as if they were in the
    portfolio already (their terms counted in the frequencies), so two copies of a row in
    one file match as a row and an initiative would. The portfolio's candidates are ranked
    here from the postings of every text's retrieval terms, fetched once: six queries for
    any number of texts (more only where SQLite's parameter limit splits an ``IN`` list),
    never one per text or per initiative.
    """
    documents = [document_terms(title, summary) for title, summary in texts]
    results: list[list[BatchMatch]] = [[] for _ in documents]
    if limit <= 0 or not any(documents):
        return results
    size = _in_list_size()
    total = Initiative.objects.count()
    df: dict[str, int] = {}
    for part in _in_chunks(sorted({term for found in documents for term in found}), size):
        df.update(_document_frequencies(part))
    in_title = [{term: seen.in_title for term, seen in found.items()} for found in documents]

    # The portfolio: the postings of every text's retrieval terms, read once.
    queries = [_weights(flags, df, total) for flags in in_title]
    retrievals = [_retrieval_terms(query, df, total) for query in queries]
    postings: dict[tuple[str, bool], list[int]] = {}  # (term, in a title) -> initiative ids
    for part in _in_chunks(sorted({term for terms_ in retrievals for term in terms_}), size):
        for pk, term, title_flag in (InitiativeTerm.objects.filter(term__in=part)
                                     .values_list("initiative_id", "term", "in_title")):
            postings.setdefault((term, title_flag), []).append(pk)
    candidates = []
    for query, retrieval in zip(queries, retrievals, strict=True):
        rank: dict[int, float] = {}
        for term in retrieval:
            for title_flag, weight in ((False, query[term]), (True, query[term] * TITLE_WEIGHT)):
                for pk in postings.get((term, title_flag), ()):
                    rank[pk] = rank.get(pk, 0.0) + weight
        candidates.append(_best_ranked(rank))
    del postings
    found: dict[int, dict[str, bool]] = {pk: {} for ids in candidates for pk in ids}
    words: dict[int, dict[str, str]] = {pk: {} for pk in found}
    for part in _in_chunks(sorted(found), size):
        for pk, term, title_flag, word in (InitiativeTerm.objects.filter(initiative_id__in=part)
                                           .values_list("initiative_id", "term", "in_title",
                                                        "word")):
            found[pk][term] = title_flag
            words[pk][term] = word
    for part in _in_chunks(sorted({t for terms_ in found.values() for t in terms_} - set(df)),
                           size):
        df.update(_document_frequencies(part))
    vectors = {pk: _weights(flags, df, total) for pk, flags in found.items()}

    # The batch's earlier texts, as if they were in the portfolio already.
    batch_df = dict.fromkeys((term for flags in in_title for term in flags), 0)
    for flags in in_title:
        for term in flags:
            batch_df[term] += 1
    batch_df = {term: count + df.get(term, 0) for term, count in batch_df.items()}
    batch_total = total + len(documents)
    own = [_weights(flags, batch_df, batch_total) for flags in in_title]
    earlier_postings: dict[str, list[tuple[int, bool]]] = {}

    best: list[list[tuple[float, int, int, list[str]]]] = []  # (score, 0 or 1, pk or index)
    for index, (query, ids) in enumerate(zip(queries, candidates, strict=True)):
        scored = []
        if ids:
            query_norm = _norm(query)
            for pk in ids:
                score, shared = _score(query, query_norm, vectors[pk])
                if score >= SIMILARITY_THRESHOLD:
                    scored.append((score, 0, pk, shared))
        vector = own[index]
        if vector:
            rank = {}
            for term in _retrieval_terms(vector, batch_df, batch_total):
                for other, title_flag in earlier_postings.get(term, ()):
                    rank[other] = (rank.get(other, 0.0)
                                   + vector[term] * (TITLE_WEIGHT if title_flag else 1.0))
            vector_norm = _norm(vector)
            for other in _best_ranked(rank):
                score, shared = _score(vector, vector_norm, own[other])
                if score >= SIMILARITY_THRESHOLD:
                    scored.append((score, 1, other, shared))
            for term, title_flag in in_title[index].items():
                earlier_postings.setdefault(term, []).append((index, title_flag))
        scored.sort(key=lambda item: (-item[0], item[1], item[2]))
        best.append(scored[:limit])

    initiatives: dict[int, Initiative] = {}
    for part in _in_chunks(sorted({key for row in best for _, kind, key, _ in row if not kind}),
                           size):
        initiatives.update(Initiative.objects.select_related("team", "owner").in_bulk(part))
    for index, row in enumerate(best):
        for score, kind, key, shared in row:
            if kind:
                other = documents[key]
                explained = _explain(documents[index], in_title[key],
                                     {term: seen.word for term, seen in other.items()}, shared)
            elif key in initiatives:  # else deleted since it was scored
                explained = _explain(documents[index], found[key], words[key], shared)
            else:
                continue
            title_terms, summary_terms, reason = explained
            results[index].append(BatchMatch(
                score=round(score, 4), title_terms=title_terms, summary_terms=summary_terms,
                reason=reason, initiative=None if kind else initiatives[key],
                earlier=key if kind else None,
            ))
    return results
