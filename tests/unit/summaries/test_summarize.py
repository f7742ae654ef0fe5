"""Tests of the summary refresh stage on a story written for the tests."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from pipeline.common.errors import BadInput
from pipeline.common.text import split_sentences
from pipeline.summaries import summarize
from pipeline.summaries.clean import clean_sentence, is_future, is_quote
from pipeline.summaries.summarize import (
    SummaryConfig,
    clean_title,
    strip_markers,
    summarize_story,
    terms_of,
)
from schemas.records import Article, DedupVerdict, RelatedStory, StoryUpdate

DAY = 86400.0
T0 = 1_700_000_000.0

# A made-up story: a dam on the Tessel river near the town of Brackwater.
STORY = [
    ("a1", "Valley Post", "Engineers warn Brackwater dam may fail | Valley Post", 0,
     "By Jane Roe, Staff Writer\n"
     "Engineers warned on Monday that the Brackwater dam on the Tessel river could fail "
     "within days after heavy rain raised the reservoir to a record level.\n"
     "The regional water authority will open the emergency spillway on Tuesday to lower "
     "the reservoir, officials said.\n"
     "About 4,000 residents of Brackwater were told to prepare for a possible evacuation.\n"
     "Workers inspect the cracked wall of the dam on Monday. (Valley Photo)"),
    ("a2", "Tessel Times", "Brackwater dam: residents told to prepare to leave - Tessel Times", 1,
     "Engineers warned that the Brackwater dam on the Tessel river could fail within days "
     "after heavy rain raised the reservoir to a record level.\n"
     "Mayor Ellen Voss opened three shelters in the school gymnasiums of the town.\n"
     "The dam was built in 1962 and last inspected four years ago, according to records."),
    ("a3", "River Herald", "Tessel reservoir hits record as rain continues", 2,
     "Heavy rain raised the Tessel reservoir behind the Brackwater dam to a record level on "
     "Monday.\n"
     "Forecasters expect another 80 millimetres of rain in the catchment before Thursday.\n"
     "Farmers downstream moved cattle to higher ground as the river rose.\n"
     "Leave a Reply"),
    ("a4", "Valley Post", "Spillway opened at Brackwater dam as crews race to ease pressure", 3,
     "BRACKWATER — The regional water authority opened the emergency spillway of the "
     "Brackwater dam on Tuesday, lowering the reservoir by half a metre in six hours.\n"
     "Mayor Ellen Voss ordered the evacuation of about 4,000 residents living below the dam.\n"
     "Buses took residents to three shelters in the school gymnasiums of the town."),
    ("a5", "Coast Daily", "Thousands evacuated below Brackwater dam | Coast Daily", 4,
     "About 4,000 residents living below the Brackwater dam were evacuated on Tuesday on the "
     "orders of Mayor Ellen Voss.\n"
     "The regional water authority opened the emergency spillway of the Brackwater dam on "
     "Tuesday to ease pressure on the cracked wall.\n"
     "Police closed the Tessel road bridge to all traffic until further notice."),
    ("a6", "Metro Wire", "Thousands evacuated below Brackwater dam", 5,
     "About 4,000 residents living below the Brackwater dam were evacuated on Tuesday on the "
     "orders of Mayor Ellen Voss.\n"
     "The regional water authority opened the emergency spillway of the Brackwater dam on "
     "Tuesday to ease pressure on the cracked wall.\n"
     "Police closed the Tessel road bridge to all traffic until further notice."),
    ("a7", "Farm Weekly", "Brackwater flood threat hits dairy farms", 6,
     "Dairy farmers downstream of the Brackwater dam lost access to their milk collection "
     "route when police closed the Tessel road bridge.\n"
     "The farmers union estimated losses of 300,000 euros a day from spoiled milk.\n"
     "The union asked the regional government for emergency compensation."),
    ("a8", "River Herald", "Brackwater dam holds as water level falls", 7,
     "The Brackwater dam held overnight as the reservoir fell by two metres, engineers said "
     "on Wednesday.\n"
     "Engineers said the cracked wall of the dam would need months of repairs.\n"
     "Residents may return home on Friday if the level keeps falling, Mayor Ellen Voss said."),
    ("a9", "Tessel Times", "Brackwater residents eye return as dam holds", 8,
     "The Brackwater dam held overnight while the reservoir fell by two metres, engineers said "
     "on Wednesday.\n"
     "Mayor Ellen Voss said residents may return home on Friday if the level keeps falling.\n"
     "An independent panel will review why the 1962 dam was not inspected for four years."),
]


def article(aid, outlet, title, hours, text) -> Article:
    return Article(
        id=aid, url=f"https://example.org/{aid}", outlet=outlet, title=title, text=text,
        lang="en", published=T0 + hours * 3600.0,
    )


def members(rows=STORY, copies=(("a6", "a5"),)):
    dup = dict(copies)
    out = []
    for row in rows:
        a = article(*row)
        kind = "syndicated" if a.id in dup else "original"
        out.append((a, DedupVerdict(article_id=a.id, kind=kind, duplicate_of=dup.get(a.id))))
    return out


def run(ms=None, **kw) -> StoryUpdate:
    kw.setdefault("version", 1)
    kw.setdefault("previous", None)
    kw.setdefault("now", T0 + DAY)
    return summarize_story("story-1", ms if ms is not None else members(), **kw)


def sentences_of(section_text: str) -> list[tuple[str, list[int]]]:
    """Split a section into (sentence without markers, its citation numbers)."""
    out = []
    for piece in re.split(r"(?<=[.!?\]])\s+(?=[A-Z\"“])", section_text):
        nums = [int(n) for n in re.findall(r"\[(\d+)\]", piece)]
        out.append((strip_markers(piece).replace(" .", "."), nums))
    return out


def near_verbatim(sentence: str, article_text: str) -> bool:
    target = set(terms_of(sentence))
    for para in article_text.split("\n"):
        for s in split_sentences(para):
            if sentence in s or s in sentence:
                return True
            other = set(terms_of(s))
            if target and len(target & other) / len(target) >= 0.9:
                return True
    return False


def test_every_field_of_the_update():
    ms = members()
    related = [RelatedStory(story_id="story-2", headline="Tessel floods", article_count=3)]
    u = run(ms, related=related, version=4)
    assert u.story_id == "story-1" and u.version == 4
    assert u.article_count == 9 and u.status_line == "Updated (9 articles)"
    assert u.first_seen == T0 and u.updated_at == T0 + DAY
    assert u.outlets == ["Valley Post", "Tessel Times", "River Herald", "Coast Daily",
                         "Metro Wire", "Farm Weekly"]
    assert u.related_stories == related
    assert [a.article_id for a in u.articles] == [r[0] for r in STORY]
    assert {a.article_id: a.duplicate_of for a in u.articles}["a6"] == "a5"
    assert all(a.duplicate_of is None for a in u.articles if a.article_id != "a6")
    assert 3 <= len(u.sections) <= 5
    assert StoryUpdate.from_json(u.to_json()) == u


def test_citations_point_at_listed_sources_and_copies_are_never_cited():
    u = run()
    numbers = [s.n for s in u.sources]
    assert numbers == list(range(1, len(numbers) + 1))
    listed = set(numbers)
    assert "a6" not in {s.article_id for s in u.sources}
    for sec in u.sections:
        marked = {int(n) for n in re.findall(r"\[(\d+)\]", sec.text)}
        assert marked == set(sec.citations)
        assert marked <= listed
        for sentence, nums in sentences_of(sec.text):
            assert nums, sentence
    for item in [*u.whats_new, *u.minority_reports,
                 *(i for o in u.unique_by_outlet for i in o.items)]:
        assert item.citations and set(item.citations) <= listed


def test_every_section_sentence_appears_in_an_article_it_cites():
    u = run()
    by_n = {s.n: s.article_id for s in u.sources}
    texts = {a.id: a.text for a, _ in members()}
    checked = 0
    for sec in u.sections:
        for sentence, nums in sentences_of(sec.text):
            assert any(near_verbatim(sentence, texts[by_n[n]]) for n in nums), sentence
            checked += 1
    assert checked >= 5


def test_a_sentence_many_articles_report_cites_them_all():
    u = run()
    by_n = {s.n: s.article_id for s in u.sources}
    found = False
    for sec in u.sections:
        for sentence, nums in sentences_of(sec.text):
            if "spillway" in sentence and "opened" in sentence:
                assert {"a4", "a5"} <= {by_n[n] for n in nums}
                found = True
    assert found


def test_sections_are_clean_and_headed():
    u = run()
    body = " ".join(s.text for s in u.sections)
    for junk in ("By Jane Roe", "(Valley Photo)", "Leave a Reply", "BRACKWATER —"):
        assert junk not in body
    headings = [s.heading for s in u.sections]
    assert len(set(headings)) == len(headings)
    for h in headings:
        assert h and not h.lower().startswith("section") and len(h.split()) <= 8
        assert not h.split()[-1][:1].isdigit()
    for sec in u.sections:  # headings are built from the section's own words
        head_terms = set(terms_of(sec.heading))
        body_terms = set(terms_of(sec.text))
        assert head_terms and len(head_terms & body_terms) >= 0.75 * len(head_terms)


def test_superseded_future_sentence_is_dropped():
    u = run()
    body = " ".join(s.text for s in u.sections)
    # a1 announced the spillway would open; a4 and a5 later report it opened.
    assert "will open the emergency spillway" not in body
    assert "opened the emergency spillway" in body


def test_headline_is_a_cleaned_title():
    u = run()
    titles = {clean_title(r[2]) for r in STORY}
    assert u.headline in titles
    assert "|" not in u.headline and not u.headline.endswith("Tessel Times")
    assert clean_title("Dam holds | Valley Post", "Valley Post") == "Dam holds"
    assert clean_title("Dam holds as river falls - River Herald", "River Herald") == (
        "Dam holds as river falls")


def test_whats_new_lists_only_material_absent_before():
    early = members(STORY[:3], copies=())
    v1 = run(early, now=T0 + 3 * 3600)
    assert v1.whats_new == []
    v2 = run(members(), previous=v1, version=2)
    old_body = " ".join(strip_markers(s.text) for s in v1.sections)
    assert v2.whats_new
    for item in v2.whats_new:
        assert item.text not in old_body
    assert any("evacuat" in i.text or "held overnight" in i.text for i in v2.whats_new)
    # v1 said the spillway "will open"; that it opened is news.
    assert "will open the emergency spillway" in old_body
    assert any("opened the emergency spillway" in i.text for i in v2.whats_new)
    same = run(members(), previous=v2, version=3)
    assert same.whats_new == []


def test_minority_and_unique_coverage():
    u = run()
    for item in u.minority_reports:
        assert 1 <= len(item.outlets) <= 2
    minority_texts = " ".join(i.text for i in u.minority_reports)
    assert "Engineers warned" not in minority_texts  # carried by three outlets
    unique = {o.outlet: [i.text for i in o.items] for o in u.unique_by_outlet}
    # Farm Weekly's figure is in the summary already, so its unique coverage is another claim.
    assert "300,000 euros" in " ".join(sec.text for sec in u.sections)
    assert unique["Farm Weekly"] and not any("300,000" in t for t in unique["Farm Weekly"])
    for o in u.unique_by_outlet:
        for item in o.items:
            assert item.outlets == [o.outlet]


def test_deterministic():
    assert run().to_json() == run().to_json()


def test_dense_and_sparse_vectors_give_the_same_update():
    """Small stories keep dense vectors, big ones sparse: the summary is the same either way."""
    first = run(members(STORY[:3], copies=()))
    previous = {"previous": first, "version": 2}
    for ms, kw in ((members(), {}), (members(STORY[:1], copies=()), {}), (members(), previous)):
        sparse_only = SummaryConfig(dense_cells=0)
        assert run(ms, **kw).to_json() == run(ms, config=sparse_only, **kw).to_json()


def test_single_article_and_empty_story():
    one = run(members(STORY[:1], copies=()))
    assert one.status_line == "Updated (1 article)" and one.article_count == 1
    assert one.sections and one.minority_reports == [] and one.unique_by_outlet == []
    with pytest.raises(BadInput):
        run([])


def test_config_limits_sections():
    u = run(config=SummaryConfig(max_sections=3))
    assert 1 <= len(u.sections) <= 3


def test_a_refresh_reads_no_member_again():
    rows = []
    for i in range(30):
        base = STORY[i % len(STORY)]
        text = base[4] + f"\nUpdate {i}: crews checked gauge {i} near the Tessel weir at noon."
        rows.append((f"x{i}", f"Outlet {i % 7}", base[2], i, text))
    ms = members(rows, copies=())
    for fn in (summarize._clean_sentences, summarize._terms, summarize.stem):
        fn.cache_clear()
    first = run(ms)
    cold = summarize._clean_sentences.cache_info()
    assert cold.misses >= 30  # every article split and cleaned once
    for _ in range(3):
        assert run(ms).to_dict() == first.to_dict()
    warm = summarize._clean_sentences.cache_info()
    # a refresh of the same members splits and cleans no article again
    assert warm.misses == cold.misses
    assert warm.hits >= cold.hits + 3 * 30


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("WASHINGTON (AP) _ The council voted on Tuesday to close the old bridge.",
         "The council voted on Tuesday to close the old bridge."),
        ("BRACKWATER, Jan. 13 (Valley Wire) -- The dam held through the night again.",
         "The dam held through the night again."),
        ("TESSEL — Crews opened the spillway early on Tuesday morning.",
         "Crews opened the spillway early on Tuesday morning."),
        ("The U.S. - backed plan was signed by both sides on Monday.",
         "The U.S. - backed plan was signed by both sides on Monday."),
    ],
)
def test_datelines_are_stripped(raw, expected):
    assert clean_sentence(raw) == expected


@pytest.mark.parametrize(
    "junk",
    [
        "Workers inspect the cracked wall of the dam on Monday. (Valley Photo)",
        "By Jane Roe and John Doe, Staff Writers of the Valley Post",
        "Leave a Reply to this story about the dam and the river.",
        "The mayor said the town was \u00a1\u00b0ready\u00a1\u00b1 for the flood waters.",
        "The mayor spoke to residents \ub9b4\uac8c\uc784 about the dam on Monday.",
        "JU7UZSH6RROOFJOKUDWTG56KLU the mayor spoke about the dam.",
        "the mayor spoke to residents about the dam on Monday.",
        "Mayor spoke.",
        "Subscribe to our newsletter for more news about the Tessel valley.",
        "Read more at https://example.org/dam about the dam on the Tessel.",
        "The mayor spoke to residents about the dam on Monday and then",
        "(STORY CAN END HERE. OPTIONAL SECOND TAKE FOLLOWS ON THE DAM.)",
    ],
)
def test_junk_is_not_summary_material(junk):
    assert clean_sentence(junk) is None


def test_future_and_quote_markers():
    assert is_future("The authority will open the spillway on Tuesday.")
    assert is_future("The vote is expected to take place next week.")
    assert not is_future("The authority opened the spillway on Tuesday.")
    assert is_quote("\u201cWe are ready,\u201d the mayor said.")
    assert is_quote('The mayor said: "We are ready for the water and we will stay ready."')
    assert not is_quote('The mayor called the dam "safe" on Monday before the rain came.')


def test_lead_sentence_taken_for_a_title_is_still_material():
    lead = "The Brackwater dam on the Tessel river burst early on Thursday, flooding the town."
    rows = [
        (f"t{i}", f"Wire {i}", lead, i,
         f"{lead}\nRescue crews reached the flooded town of Brackwater by boat {i} hours later.")
        for i in range(3)
    ]
    u = run(members(rows, copies=()))
    assert lead.rstrip(".") in u.sections[0].text


def test_minority_report_is_a_claim_few_outlets_carry():
    core = ("Floodwater from the Tessel river swept through the centre of Brackwater on "
            "Thursday night.")
    rows = [
        (f"m{i}", f"Outlet {i}", f"Brackwater flooded ({i})", i,
         f"{core}\nResidents of Brackwater spent the night in shelters on high ground {i}.")
        for i in range(5)
    ]
    claim = "The contractor that repaired the dam in 2019 was fined 2 million euros in 2021."
    rows.append(("m5", "Outlet 5", "Brackwater flooded (5)", 5, f"{core}\n{claim}"))
    cfg = SummaryConfig(max_sections=1, overview_sentences=1, max_sentences=1)
    u = run(members(rows, copies=()), config=cfg)
    minority = {i.text: i.outlets for i in u.minority_reports}
    assert minority.get(claim) == ["Outlet 5"]
    assert core not in minority
    by_n = {s.n: s.article_id for s in u.sources}
    item = next(i for i in u.minority_reports if i.text == claim)
    assert [by_n[n] for n in item.citations] == ["m5"]


def test_copy_of_an_article_outside_the_story_is_summary_material():
    rows = [STORY[0], STORY[1]]
    u = run(members(rows, copies=(("a2", "elsewhere"),)))
    assert u.article_count == 2
    assert {a.article_id: a.duplicate_of for a in u.articles} == {"a1": None, "a2": "elsewhere"}
    assert "a2" in {s.article_id for s in u.sources}


def test_copy_of_a_copy_is_cited_as_the_first_original():
    rows = [STORY[3], STORY[4], STORY[5]]
    u = run(members(rows, copies=(("a5", "a4"), ("a6", "a5"))))
    assert {s.article_id for s in u.sources} == {"a4"}
    assert {a.article_id: a.duplicate_of for a in u.articles}["a6"] == "a4"
    assert u.outlets == ["Valley Post", "Coast Daily", "Metro Wire"]


def test_a_changed_figure_is_superseded_by_the_newer_report():
    rows = [
        ("u1", "Valley Post", "Flood in Brackwater", 0,
         "At least 8 people were killed when floodwater swept through Brackwater, police said.\n"
         "Rescue teams searched the flooded streets of the town by boat through the night."),
        ("u2", "Tessel Times", "Brackwater flood toll rises", 5,
         "At least 12 people were killed when floodwater swept through Brackwater, police said.\n"
         "The regional government declared a state of emergency in the Tessel valley."),
    ]
    u = run(members(rows, copies=()))
    body = " ".join(s.text for s in u.sections)
    assert "At least 12 people" in body
    assert "At least 8 people" not in body


def page_sentences(u: StoryUpdate) -> list[str]:
    """Every sentence the story page shows in its sections, minority reports, unique coverage."""
    out = [text for sec in u.sections for text, _ in sentences_of(sec.text)]
    out += [item.text for item in u.minority_reports]
    out += [item.text for cov in u.unique_by_outlet for item in cov.items]
    return out


@pytest.mark.parametrize("rows", [STORY, STORY[:5], STORY[3:]])
def test_no_sentence_appears_twice_on_a_page(rows):
    u = run(members(rows, copies=()))
    shown = [" ".join(t.lower().rstrip(".").split()) for t in page_sentences(u)]
    assert shown and len(shown) == len(set(shown))
    news = [item.text for item in u.whats_new]
    assert len(news) == len(set(news))


@pytest.mark.parametrize(("start", "before", "after"), [(0, 6, 7), (0, 8, 9), (3, 7, 8)])
def test_whats_new_is_empty_when_nothing_changed_and_only_new_after_an_article(
    start, before, after
):
    v1 = run(members(STORY[start:before], copies=()))
    again = run(members(STORY[start:before], copies=()), previous=v1, version=2)
    assert again.whats_new == []
    v2 = run(members(STORY[start:after], copies=()), previous=v1, version=2)
    assert v2.whats_new
    arrived = [article(*row) for row in STORY[before:after]]
    new_sources = {src.n for src in v2.sources if src.article_id in {a.id for a in arrived}}
    for item in v2.whats_new:
        # Only the new articles' own material (an older sentence that moved into the
        # sections is not news), cited to them.
        assert any(near_verbatim(item.text, a.text) for a in arrived), item.text
        assert new_sources & set(item.citations)


def test_a_source_keeps_its_number_across_versions():
    v1 = run(members(STORY[:4], copies=()))
    first = {src.article_id: src.n for src in v1.sources}
    # Articles arrive whose sentences outrank the early ones: the early sources keep their [n].
    v2 = run(members(STORY[2:], copies=()), previous=v1, version=2)
    second = {src.article_id: src.n for src in v2.sources}
    kept = first.keys() & second.keys()
    assert kept
    assert all(first[a] == second[a] for a in kept)
    # A number is never given to another article, even once its source is no longer cited.
    reused = {n for a, n in second.items() if a not in first} & set(first.values())
    assert not reused
    # Numbers known from versions before the previous one hold as well.
    v3 = run(members(STORY, copies=()), previous=v2, version=3, citations={**first, **second})
    third = {src.article_id: src.n for src in v3.sources}
    assert all(third[a] == n for a, n in {**first, **second}.items() if a in third)
    assert len(set(third.values())) == len(third)
    for sec in v3.sections:
        assert set(sec.citations) <= set(third.values())


def _in_order(needle: list[str], hay: list[str]) -> bool:
    it = iter(hay)
    return all(any(w == h for h in it) for w in needle)


def test_headings_are_compressed_from_a_sentence_of_their_section():
    def bare(text: str) -> list[str]:
        return re.findall(r"[\w'’-]+", re.sub(r"\[\d+\]", "", text).lower())

    for rows in (STORY, STORY[:5], STORY[3:]):
        for sec in run(members(rows, copies=())).sections:
            assert not summarize._LEANING_OPENER.match(sec.heading), sec.heading
            sentences = split_sentences(sec.text)
            assert any(_in_order(bare(sec.heading), bare(t)) for t in sentences), sec.heading


def test_a_clause_leaning_on_another_sentence_gives_what_it_is_about():
    words = "They also engaged in earnest discussions".split()
    assert summarize._what_it_is_about(words, 8) == "earnest discussions"
    assert summarize._what_it_is_about("He said so".split(), 8) == ""


def test_section_headings_do_not_end_in_a_function_word():
    for rows in (STORY, STORY[:5], STORY[3:]):
        for sec in run(members(rows, copies=())).sections:
            last = sec.heading.split()[-1].lower()
            assert last not in summarize._EDGE_WORDS and last not in summarize.STOPWORDS


def test_a_revision_under_a_new_title_brings_its_new_material_to_whats_new():
    v1 = run(members(STORY[:4], copies=()))
    revised = list(STORY[:4])
    aid, outlet, _, hours, text = revised[2]
    revised[2] = (aid, outlet, "Tessel reservoir record: levee breached near Marsh End", hours,
                  text + "\nA levee breached near the hamlet of Marsh End late on Monday night.")
    v2 = run(members(revised, copies=()), previous=v1, version=2)
    assert any("Marsh End" in item.text for item in v2.whats_new)
    for item in v2.whats_new:
        assert near_verbatim(item.text, revised[2][4])


def test_a_big_story_is_summarized_from_its_newest_and_most_central_articles():
    def one(i: int, title: str, text: str) -> tuple[Article, DedupVerdict]:
        a = article(f"b{i}", f"o{i % 7}.example", title, i, text)
        return a, DedupVerdict(article_id=a.id, kind="original")

    core = "Flood waters rise in the river valley as rain keeps falling, officials said."
    story = [one(i, "Flood waters rise in the river valley", core) for i in range(30)]
    story[3] = one(
        3, "Harbor crane contract signed", "A harbor crane contract was signed by the port."
    )
    story.append(
        one(
            30,
            "Flood waters reach the old bridge",
            "Flood waters reached the old bridge on Friday night.",
        )
    )
    cfg = SummaryConfig(max_documents=10)
    docs, _ = summarize._documents(story)
    kept = summarize._bounded(docs, cfg.max_documents)
    assert len(kept) == 10
    ids = [d.article.id for d in kept]
    assert {f"b{i}" for i in range(26, 31)} <= set(ids)  # the newest half
    assert "b3" not in ids  # an off-topic title is not central
    assert ids == sorted(ids, key=lambda i: int(i[1:]))  # arrival order kept
    update = summarize_story("s-big", story, version=1, previous=None, now=100.0, config=cfg)
    assert update.article_count == 31 and len(update.articles) == 31
    assert {s.article_id for s in update.sources} <= set(ids)
    assert "old bridge" in " ".join(sec.text for sec in update.sections)
    small = summarize_story("s-big", story[:10], version=1, previous=None, now=100.0, config=cfg)
    same = summarize_story(
        "s-big", story[:10], version=1, previous=None, now=100.0, config=SummaryConfig()
    )
    assert small == same  # a story within the bound is summarized from all its articles


def test_a_figure_most_outlets_contradict_is_a_minority_report():
    def one(aid: str, outlet: str, toll: int, hours: float) -> tuple[Article, DedupVerdict]:
        text = (
            f"At least {toll} people were killed when floodwater swept through Brackwater "
            "on Sunday, police said.\n"
            f"The regional government of {outlet.split('.')[0].title()} declared a state of "
            "emergency in the Tessel valley on Monday morning."
        )
        a = article(aid, outlet, "Brackwater flood toll rises", hours, text)
        return a, DedupVerdict(article_id=a.id, kind="original")

    # Published together: a later figure would be read as an update, not a departure.
    story = [one("f1", "north.example", 12, 1), one("f2", "south.example", 12, 1)]
    story += [one("f3", "east.example", 12, 1), one("f4", "west.example", 8, 1)]
    update = summarize_story("s-flood", story, version=1, previous=None, now=T0 + DAY)
    reports = [m for m in update.minority_reports if "8 people" in m.text]
    assert reports and reports[0].outlets == ["west.example"]
    source = {s.n: s.article_id for s in update.sources}
    assert [source[n] for n in reports[0].citations] == ["f4"]
    # The figure most outlets give is never reported as the minority's.
    assert not any("12 people" in m.text for m in update.minority_reports)


# Three outlets lead with the same event in their own words; their bodies repeat the
# council's storm repairs, which the story's term counts also weigh.
LEADS = (
    "Flood water cut the coastal railway near Marlow on Friday, stranding two thousand "
    "commuters overnight.",
    "Two thousand commuters were stranded overnight after flood water cut the coastal "
    "railway near Marlow.",
    "The coastal railway near Marlow was cut by flood water on Friday, leaving commuters "
    "stranded overnight.",
)
BODIES = (
    "The storm council said storm repairs to council roads and storm drains would take "
    "the council weeks.",
    "Council crews began storm repairs on council roads while the storm council met again.",
    "The storm council asked the council for storm repairs money for council roads and drains.",
)


def lead_story():
    rows = [
        (f"m{i}", f"Outlet {i}", f"Marlow report {i}", i,
         f"{LEADS[i]}\n{BODIES[i]}\n{BODIES[(i + 1) % 3]}")
        for i in range(3)
    ]
    return members(rows, copies=())


def model_of(ms, cfg):
    docs, _ = summarize._documents(ms)
    sents = summarize._sentences(docs, cfg)
    model = summarize._Model(docs, sents, cfg)
    model.rank()
    return model, sents


def test_the_lead_centroid_counts_each_articles_lead_once_and_ignores_bodies():
    model, _ = model_of(lead_story(), SummaryConfig(lead_sentences=1))
    centroid = model.lead_centroid()
    weight = {t: centroid[i] for t, i in model.vocab.items()}
    assert weight["council"] == 0.0 and weight["repair"] == 0.0  # body words only
    # "railway" opens all three leads, "friday" two of them: more leads, more weight.
    assert weight["railway"] > weight["friday"] > 0.0


def test_what_the_leads_corroborate_gains_on_body_text_the_term_counts_favour():
    model, sents = model_of(lead_story(), SummaryConfig())
    at = {(s.doc, s.pos): s.idx for s in sents}
    lead, body = at[(0, 0)], at[(2, 2)]  # the first article's lead, a council sentence
    by_leads = model.x @ model.lead_centroid()
    assert by_leads[lead] > by_leads[body]

    def gap(cfg):
        m, _ = model_of(lead_story(), cfg)
        return float(m.score[lead] - m.score[body])

    assert gap(SummaryConfig()) > gap(SummaryConfig(lead_weight=0.0)) + 0.02


def test_central_first_ties_go_to_the_earlier_pick_whatever_the_last_bits():
    # sentences 1 and 2 are equally central but for float noise (dense and sparse vectors
    # differ in the last bits): the earlier one comes first
    sim = np.array([[1.0, 0.5, 0.5 + 1e-15], [0.5, 1.0, 0.3], [0.5 + 1e-15, 0.3, 1.0]])
    model = SimpleNamespace(sim=sim)
    assert summarize._Model.central_first(model, [0, 1, 2]) == [0, 1, 2]
    sim[0, 1] = sim[1, 0] = 0.2  # a real difference still orders them
    assert summarize._Model.central_first(model, [0, 1, 2]) == [2, 0, 1]
