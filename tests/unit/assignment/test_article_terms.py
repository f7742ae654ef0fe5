"""Term statistics computed before the assign stage give the same placements as inline ones."""

from __future__ import annotations

from pipeline.assignment.assigner import ClusterConfig, StoryAssigner, article_terms
from schemas.records import Article, ArticleTerms, DedupedArticle, DedupVerdict

STORIES = {
    "quay": [
        "Fire crews fought a warehouse blaze on Quay Street in Wexley through Monday night.",
        "The Quay Street warehouse fire in Wexley burned until dawn, fire chief Ana Brill said.",
        "Wexley fire chief Ana Brill said the Quay Street blaze started in a storage room.",
    ],
    "ferry": [
        "The Northbay ferry line will add two evening crossings to Harlow from June.",
        "Northbay ferries to Harlow get two more evening crossings, the operator said.",
    ],
}


def _articles() -> list[Article]:
    out = []
    t = 1_700_000_000.0
    for name, texts in STORIES.items():
        for i, text in enumerate(texts):
            t += 600.0
            out.append(
                Article(
                    id=f"{name}-{i}",
                    url=f"https://o{i}.example/{name}",
                    outlet=f"o{i}.example",
                    title=text.split(",")[0][:60],
                    text=text + "\n" + text.lower(),
                    lang="en",
                    published=t,
                )
            )
    return out


def test_terms_are_stateless_and_survive_the_wire() -> None:
    article = _articles()[0]
    terms = article_terms(article)
    assert terms == article_terms(article)
    assert "warehouse" in terms.terms and "the" not in terms.terms
    assert any(e.startswith("e:") for e in terms.entities)
    assert len(terms.term_counts) == len(terms.terms)
    # Title words count more than body words.
    title_word = terms.title[0]
    assert terms.term_counts[terms.terms.index(title_word)] > 1.0
    wire = DedupedArticle(article, DedupVerdict(article.id, "original"), terms).to_json()
    back = DedupedArticle.from_json(wire)
    assert back.terms == terms
    assert (
        DedupedArticle.from_json(
            DedupedArticle(article, DedupVerdict(article.id, "original")).to_json()
        ).terms
        is None
    )


def test_precomputed_terms_place_articles_exactly_as_inline_tokenizing() -> None:
    config = ClusterConfig()
    inline, given = StoryAssigner(config), StoryAssigner(config)
    for article in _articles():
        verdict = DedupVerdict(article.id, "original")
        a = inline.assign(article, verdict)
        terms = ArticleTerms.from_json(article_terms(article, config).to_json())
        b = given.assign(article, verdict, terms=terms)
        assert (a.story_id, a.score, a.is_new_story) == (b.story_id, b.score, b.is_new_story)
    assert inline.drain_changes() == given.drain_changes()
    stories = {inline.story_of(a.id) for a in _articles() if a.id.startswith("quay")}
    assert len(stories) == 1


def test_an_older_workers_terms_without_positions_or_numbers_give_the_same_vectors() -> None:
    article = Article(
        id="n-1",
        url="https://o.example/n",
        outlet="o.example",
        lang="en",
        title="Ferry with 214 passengers runs aground in 2024 storm",
        text="Rescuers took 37 people off the ferry on Sunday; 12 were hurt.",
        published=1.0e9,
    )
    full = article_terms(article)
    assert full.numbers == ["12", "214", "37"]  # years are no numbers of the event
    older = ArticleTerms.from_json(full.to_json())
    older.title_at, older.lede_at, older.numbers = [], [], []
    assigner = StoryAssigner()
    a = assigner.represent(article, learn=False, terms=full)
    b = assigner.represent(article, learn=False, terms=older)
    assert a.numbers == b.numbers == frozenset({"12", "214", "37"})
    assert a.terms == b.terms
    for mine, theirs in ((a.title, b.title), (a.lede, b.lede)):
        assert mine.ids.tolist() == theirs.ids.tolist()
        assert mine.weights.tolist() == theirs.weights.tolist()
