"""Main-content extraction: blocks, the packaged block model, its determinism, and bytes decoding."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

from medallion.transforms import extract_model
from medallion.transforms.extract import extract, judge, read_page
from medallion.transforms.extract_blocks import COMMENT, LINK, LIST, NAV, text_blocks
from medallion.transforms.extract_features import CONTEXT, FEATURES
from medallion.transforms.extract_parsing import parse

sys.path.insert(0, str(REPO / "bench"))

import corpora  # noqa: E402
import train_extractor  # noqa: E402

SENTENCES = [
    "The city council approved the new budget on Tuesday after a long and heated debate.",
    "Members argued for hours about the cost of repairing the old bridge over the river.",
    "In the end, the plan passed by seven votes to four, with two members abstaining.",
    "Work on the bridge is expected to begin in the spring and to last about two years.",
    "Residents who spoke at the meeting said they had waited a decade for the repairs.",
    "The mayor thanked the engineers, who had produced three different designs for it.",
]


def article(
    title: str = "Council approves budget", paragraphs: list[str] = SENTENCES, extra: str = ""
) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html lang='en'><head><meta charset='utf-8'><title>{title} | The Town Paper</title></head><body>"
        "<header><nav><ul><li><a href='/'>Home</a></li><li><a href='/news'>News</a></li>"
        "<li><a href='/sport'>Sport</a></li><li><a href='/about'>About us</a></li></ul></nav></header>"
        f"<main><article><h1>{title}</h1>{body}</article>"
        "<aside class='related'><h3>Related</h3><ul><li><a href='/x'>Bridge closed for a week</a></li>"
        "<li><a href='/y'>Budget talks stall again</a></li></ul></aside></main>"
        f"{extra}<footer><p>© 2026 The Town Paper. All rights reserved.</p>"
        "<a href='/privacy'>Privacy</a> <a href='/terms'>Terms</a></footer></body></html>"
    )


def test_the_article_is_kept_and_the_site_around_it_is_not():
    page = extract(article())
    for sentence in SENTENCES:
        assert sentence in page.content
    for furniture in ("Home", "Sport", "Bridge closed for a week", "All rights reserved", "Privacy"):
        assert furniture not in page.content
    assert page.title == "Council approves budget"
    assert page.charset == "utf-8" and page.language_hint == "en"


def test_blocks_carry_their_text_links_and_surroundings():
    root = parse(
        "<html><body><nav><ul><li><a href='/'>Home</a></li></ul></nav>"
        "<div class='comments'><p>First <a href='/u'>reply</a> here<br>second line</p></div>"
        "<a href='/card'><div>A card inside a link</div></a></body></html>"
    )
    blocks = {b.text: b for b in text_blocks(root.find("body"))}
    assert blocks["Home"].link_chars == 4 and blocks["Home"].kinds & NAV and blocks["Home"].kinds & LIST
    reply = blocks["First reply here\nsecond line"]
    assert reply.link_chars == len("reply") and reply.kinds & COMMENT and reply.lines == 2
    assert "A card inside a link" in blocks  # a block inside an inline element: its own block, once
    assert sum("A card inside a link" in text for text in blocks) == 1


def test_an_unclosed_title_does_not_swallow_the_page():
    html = article().replace("| The Town Paper</title>", "| The Town Paper\n", 1)
    page = extract(html)
    assert SENTENCES[0] in page.content


def test_bytes_are_decoded_by_their_declared_charset_before_extraction():
    html = article(paragraphs=[s.replace("debate", "débat « chaud » — €") for s in SENTENCES])
    cp1252 = html.replace("charset='utf-8'", "charset='iso-8859-1'").encode("cp1252")
    page = extract(cp1252)
    assert "débat « chaud » — €" in page.content and "\ufffd" not in page.content
    assert extract(html.encode(), encoding="utf-8").content == extract(html).content  # a Parquet column


def test_judging_many_pages_at_once_equals_judging_each():
    pages = [article(), article("Bridge repairs begin", SENTENCES[::-1]), "<html><body></body></html>"]
    together = judge([read_page(p) for p in pages])
    assert together == [judge([read_page(p)])[0] for p in pages]
    assert together[2].content == ""


def test_the_second_look_skips_the_blocks_that_are_never_content_and_changes_no_other():
    """Blocks the rules bar get probability 0 without the second look; every other block gets exactly the
    probability of a full look (the first look still sees every block: it is its neighbours' context)."""
    rows, context = read_page(article()).features()
    model, page = extract_model.shipped(), np.zeros(len(rows), dtype=np.int64)
    full = model.probability(rows, context, page)
    needed = np.arange(len(rows)) % 3 != 0
    part = model.probability(rows, context, page, needed)
    assert needed.any() and (~needed).any()
    assert np.array_equal(part[needed], full[needed]) and not part[~needed].any()


def test_the_packaged_model_names_its_version_and_training_data():
    model = extract_model.shipped()
    described = model.describe()
    assert described["version"] == train_extractor.VERSION
    assert len(described["training_sha1"]) == 40 and len(described["sha1"]) == 40
    assert tuple(model.features) == FEATURES + CONTEXT
    assert extract_model.MODEL_PATH.stat().st_size < 5 * 1024 * 1024


def test_the_packaged_model_was_trained_on_the_shared_sets():
    if corpora.missing():
        pytest.skip(f"the shared benchmark sets are not at {corpora.SHARED}")
    assert extract_model.shipped().training_sha1 == corpora.fingerprint(corpora.load())


def synthetic_pages() -> list[corpora.Page]:
    pages = []
    for i in range(12):
        paragraphs = [f"{s} Report number {i} of the series." for s in SENTENCES[i % 3 :]]
        html = article(f"Story {i}", paragraphs, extra="<div class='comments'><p>Nice post!</p></div>")
        pages.append(
            corpora.Page(f"p{i}", "news" if i % 2 else "other", "", html.encode(), "\n".join(paragraphs))
        )
    return pages


def test_training_is_deterministic_and_the_model_extracts():
    pages = synthetic_pages()
    params = {"max_iter": 20}
    first, second = train_extractor.fit(pages, params), train_extractor.fit(pages, params)
    assert first.dumps() == second.dumps()  # byte for byte: the same data give the same file
    assert first.training_sha1 == corpora.fingerprint(pages) != corpora.fingerprint(pages[1:])
    loaded = extract_model.loads(first.dumps())
    page = extract(article("Fresh story", SENTENCES[:4]), model=loaded)
    assert SENTENCES[0] in page.content and "Home" not in page.content


def test_a_foreign_or_stale_model_file_is_refused_with_what_to_do():
    data = extract_model.shipped().dumps()
    with pytest.raises(extract_model.ModelError, match="retrain"):
        extract_model.loads(b"not a model")
    header, trees = data[len(extract_model.MAGIC) :].split(b"\n", 1)
    stale = json.loads(header)
    stale["features"] = stale["features"][:-1]
    with pytest.raises(extract_model.ModelError, match="other features"):
        extract_model.loads(extract_model.MAGIC + json.dumps(stale).encode() + b"\n" + trees)
    with pytest.raises(extract_model.ModelError, match="format"):
        extract_model.loads(extract_model.MAGIC + b'{"format": 0}\n' + trees)
    with pytest.raises(extract_model.ModelError, match="cannot be read"):
        extract_model.loads(data[: len(data) // 2])  # truncated: the header is whole, the trees are not
    damaged = json.loads(header)
    damaged["forests"]["first"]["arrays"]["children"][1] -= 8  # children that are not the nodes'
    with pytest.raises(extract_model.ModelError, match="cannot be read"):
        extract_model.loads(extract_model.MAGIC + json.dumps(damaged).encode() + b"\n" + trees)


def test_the_model_judges_without_scikit_learn():
    """Loading the packaged model and extracting never import scikit-learn (nor its seconds of start-up);
    the sidecar's record of the model comes from the file's header."""
    code = (
        "import sys; from medallion.transforms import extract_model as m; d = m.shipped_description(); "
        "from medallion.transforms.extract import extract; "
        "page = '<html><body><article><p>' + 'Words of a sentence here. ' * 30 + '</p></article></body></html>'; "
        "assert extract(page).content; "
        "assert 'sklearn' not in sys.modules and 'scipy' not in sys.modules, 'scikit-learn imported'; "
        "print(d['sha1'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == hashlib.sha1(extract_model.MODEL_PATH.read_bytes()).hexdigest()
    described, model = extract_model.shipped_description(), extract_model.shipped()
    assert (described["version"], described["training_sha1"]) == (model.version, model.training_sha1)
    assert model.dumps() == extract_model.MODEL_PATH.read_bytes()  # loaded and written back: the same bytes


def test_the_packaged_trees_give_scikit_learns_own_probabilities():
    """The numpy walk of the trees against scikit-learn's predict on the same fitted classifiers, to the
    last bit, on the training rows and with missing values among them (which the features never have,
    but a walk must place)."""
    pages = synthetic_pages()
    data = train_extractor.examples(pages, workers=1)
    features = np.vstack([d[0] for d in data if len(d[2])])
    labels = np.concatenate([d[2] for d in data if len(d[2])])
    weights = np.concatenate([d[3] for d in data if len(d[2])])
    fitted = train_extractor._classifier(
        {**train_extractor.PARAMS, "max_iter": 20}, features, labels, weights
    )
    forest = train_extractor.forest(fitted, features)
    assert np.array_equal(forest.probability(features), fitted.predict_proba(features)[:, 1])
    rows = features.copy()
    rows[np.random.default_rng(0).random(rows.shape) < 0.1] = np.nan
    assert np.array_equal(forest.probability(rows), fitted.predict_proba(rows)[:, 1])


def test_the_trees_split_between_training_values_whatever_the_last_bits_of_a_threshold():
    """Thresholds a bit apart (as scikit-learn's binning gives on another CPU) that split the training
    rows alike give the same file."""
    values = np.array([[0.0], [1.0], [1.0], [2.0]])
    feature, split = np.array([0, 0, 0]), np.array([True, True, False])
    one = train_extractor._snapped(np.array([1.0, 0.3, 7.0]), feature, split, values)
    other = train_extractor._snapped(np.array([np.nextafter(1.0, 2.0), 0.9, 7.0]), feature, split, values)
    assert one.tolist() == other.tolist() == [1.5, 0.5, 7.0]  # a leaf's threshold is left alone


def test_feature_rows_match_the_named_columns():
    page = read_page(article())
    rows, context = page.features()
    assert rows.shape == (len(page.blocks), len(FEATURES)) and np.isfinite(rows).all()
    assert context.shape == (len(page.blocks), 3)


COMMENTS = [
    "I have lived next to that bridge for thirty years and I never thought I would see it repaired at all.",
    "Seven votes to four is not much of a majority for a plan that costs this much money, in my opinion.",
]
THREAD = (
    "<div id='comments' class='comments-area'><h3 class='comments-title'>2 Comments</h3>"
    "<ol class='comment-list'>"
    + "".join(
        f"<li class='comment'><div class='comment-author'><b>Reader {i}</b> says:</div><p>{text}</p></li>"
        for i, text in enumerate(COMMENTS)
    )
    + "</ol></div>"
)


class KeepAll:
    """A block model that keeps every block the rules allow: what the rules over the model decide, alone."""

    def keep(self, rows, context, page, commented, barred):
        return ~barred


def test_comments_excluded_leaves_the_comment_thread_out_and_the_article_in():
    html = article(extra=THREAD)
    kept = judge([read_page(html)], KeepAll())[0].content
    assert all(comment in kept for comment in COMMENTS)  # the rule, not the model, removes them below
    alone = judge([read_page(html)], KeepAll(), comments=False)[0].content
    assert not any(comment in alone for comment in COMMENTS) and "Reader 0" not in alone
    assert all(sentence in alone for sentence in SENTENCES)
    page = extract(html, comments=False)  # the packaged model under the rule
    assert all(sentence in page.content for sentence in SENTENCES)
    assert not any(comment in page.content for comment in COMMENTS)
    assert set(page.content.split("\n")) <= set(extract(html).content.split("\n"))


def sure_of_every_block(probability: float) -> extract_model.BlockModel:
    """A block model that gives every block ``probability`` (trees of one leaf), with the shipped thresholds."""
    logit = float(np.log(probability / (1 - probability)))
    leaf = {"feature": [0], "threshold": [0.0], "missing_left": [0], "children": [0, 0], "value": [0.0]}
    arrays = {name: np.asarray(values) for name, values in {**leaf, "roots": [0], "depths": [0]}.items()}
    forest = extract_model.Forest(logit, **arrays)
    shipped = extract_model.shipped()
    return extract_model.BlockModel(
        forest, forest, shipped.threshold, shipped.comment_threshold, "test", "0" * 40
    )


def test_a_comment_is_content_only_where_the_model_is_sure_of_it():
    """Between the two thresholds, the article is kept and the readers' comments are not; above both,
    both are (unless comments are excluded)."""
    shipped = extract_model.shipped()
    assert shipped.threshold < shipped.comment_threshold == train_extractor.COMMENT_THRESHOLD
    html = article(extra=THREAD)
    between = (shipped.threshold + shipped.comment_threshold) / 2
    content = judge([read_page(html)], sure_of_every_block(between))[0].content
    assert all(sentence in content for sentence in SENTENCES)
    assert not any(comment in content for comment in COMMENTS) and "Reader 0" not in content
    sure = sure_of_every_block((shipped.comment_threshold + 1) / 2)
    assert all(comment in judge([read_page(html)], sure)[0].content for comment in COMMENTS)
    assert not any(
        comment in judge([read_page(html)], sure, comments=False)[0].content for comment in COMMENTS
    )
    loaded = extract_model.loads(sure.dumps())  # the thresholds travel in the file's header
    assert (loaded.threshold, loaded.comment_threshold) == (shipped.threshold, shipped.comment_threshold)


def test_a_page_of_comments_alone_falls_back_to_its_likeliest_blocks():
    """Where nothing reaches its threshold, the fallback still gives the page its likeliest blocks."""
    shipped = extract_model.shipped()
    between = (shipped.threshold + shipped.comment_threshold) / 2
    html = f"<html><head><title>Thread</title></head><body>{THREAD}</body></html>"
    content = judge([read_page(html)], sure_of_every_block(between))[0].content
    assert all(comment in content for comment in COMMENTS)


TEASERS = [
    "Apple recently launched new earbuds for a high price, but it is already possible to buy a pair for less.",
    "Dell has released its list of holiday deals to help get the shopping season started a little early.",
]


def test_nothing_inside_a_landmark_around_the_article_is_content_however_sure_the_model_is():
    """Navigation, footers and complementary parts (elements or ARIA roles) hold teasers that read like
    prose: they stay out even where the model would keep them, and the fallback never picks them."""
    teasers = "".join(f"<article class='teaser'><p class='excerpt'>{text}</p></article>" for text in TEASERS)
    places = [
        f"<aside class='widget'>{teasers}</aside>",
        f"<div role='complementary'>{teasers}</div>",
        f"<footer><div class='more'>{teasers}</div></footer>",
        f"<div role='contentinfo'>{teasers}</div>",
        f"<nav><div>{teasers}</div></nav>",
        f"<div role='navigation'>{teasers}</div>",
        f"<menu><li>{teasers}</li></menu>",
    ]
    sure = sure_of_every_block(0.99)
    for place in places:
        html = article(extra=place)
        for model in (sure, None):  # a model sure of every block, and the packaged one
            content = judge([read_page(html)], model)[0].content
            assert all(sentence in content for sentence in SENTENCES), place
            assert not any(teaser in content for teaser in TEASERS), place
    unsure = sure_of_every_block(0.2)  # below the threshold: the page falls back to its likeliest blocks
    content = judge([read_page(article(extra=places[0]))], unsure)[0].content
    assert all(sentence in content for sentence in SENTENCES)
    assert not any(teaser in content for teaser in TEASERS)
    only = f"<html><head><title>Deals</title></head><body>{places[0]}</body></html>"
    assert judge([read_page(only)], unsure)[0].content == ""  # html-parsing quarantines it: no-main-content


def test_nothing_inside_a_teaser_card_is_content_but_a_link_left_unclosed_keeps_the_page():
    """A link around a small part of the page (a card: headline and excerpt) holds no main content,
    however sure the model is; a link left unclosed, which libxml2 runs over the rest of the page, does
    not take the article with it."""
    cards = "".join(
        f"<a class='card' href='/story/{i}'><h4>Deal of the day</h4><p>{text}</p></a>"
        for i, text in enumerate(TEASERS)
    )
    html = article(extra=f"<div class='more'>{cards}</div>")
    for model in (sure_of_every_block(0.99), None):  # a model sure of every block, and the packaged one
        content = judge([read_page(html)], model)[0].content
        assert all(sentence in content for sentence in SENTENCES)
        assert not any(teaser in content for teaser in TEASERS) and "Deal of the day" not in content
    unclosed = article().replace("<main>", "<a href='/home'>Back to the front page<main>", 1)
    page = read_page(unclosed)
    assert any(b.kinds & LINK for b in page.blocks if b.text in SENTENCES)  # the article is inside the link
    for model in (sure_of_every_block(0.99), None):
        content = judge([read_page(unclosed)], model)[0].content
        assert all(sentence in content for sentence in SENTENCES)
