"""Category inference for untagged papers learns from tagged ones and the seed vocabulary."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from storage.classify import paper_text, paper_tokens, seeded_model, tokens
from storage.parsing import parse_digest
from tests.conftest import sample_text

# A human's reading of the untagged sample papers (001 in order, then 004 in order).
HUMAN_LABELS = ["LG", "LG", "CV", "CV", "CL", "CL", "LG", "CL", "CV", "LG",
                "LG", "CV", "LG", "CL", "CL", "RO", "CV", "CL", "CV", "CL", "CV"]


def _text(paper) -> str:
    """The classifier's view of a parsed paper."""
    return paper_text(title_en=paper.title_en, title_zh=paper.title_zh, summary_zh=paper.summary_zh,
                      abstract_en=paper.abstract_en)


def test_untagged_samples_mostly_get_the_category_a_reader_would_give() -> None:
    tagged = [p for prefix in ("000", "002", "003") for p in parse_digest(sample_text(prefix)).papers]
    model = seeded_model((p.category, _text(p)) for p in tagged)
    untagged = [p for prefix in ("001", "004") for p in parse_digest(sample_text(prefix)).papers]
    guesses = [model.predict(_text(p)) for p in untagged]
    agreement = sum(g == h for g, h in zip(guesses, HUMAN_LABELS, strict=True)) / len(HUMAN_LABELS)
    assert agreement >= 0.7, list(zip(guesses, HUMAN_LABELS, strict=True))


def test_seed_vocabulary_alone_recognises_each_field() -> None:
    model = seeded_model()
    assert model.predict("Robot grasping and manipulation with a legged robot arm") == "RO"
    assert model.predict("端到端语音识别与说话人分离") == "AS"
    assert model.predict("Neural machine translation of low-resource languages") == "CL"
    assert model.predict("Semantic segmentation of LiDAR point clouds") == "CV"
    assert model.predict("Convergence of stochastic gradient descent optimizers") == "LG"


def test_learning_from_the_store_shifts_predictions() -> None:
    model = seeded_model()
    assert model.predict("zorblax quantization") != "AS"
    for _ in range(5):
        model.learn("AS", "zorblax codec quantization for streaming")
    assert model.predict("zorblax quantization") == "AS"


def test_text_with_nothing_known_gets_no_guess() -> None:
    assert seeded_model().predict("qwxz vbnm") is None


def test_chinese_is_read_as_character_bigrams() -> None:
    assert tokens("语音识别") == ["语音", "音识", "识别"]


# Latin letters, digits, hyphens, Chinese, spaces and punctuation: what a paper's fields are made of.
FIELD = st.one_of(st.none(), st.text(alphabet=st.sampled_from("ab Sé-1ßﬁ中文图像。, "), max_size=40))


@given(title_en=FIELD, title_zh=FIELD, summary_zh=FIELD, abstract_en=FIELD)
def test_paper_tokens_are_the_tokens_of_the_paper_text(title_en, title_zh, summary_zh, abstract_en) -> None:
    fields = {"title_en": title_en, "title_zh": title_zh, "summary_zh": summary_zh, "abstract_en": abstract_en}
    assert paper_tokens(**fields) == tokens(paper_text(**fields))


def test_paper_tokens_of_the_samples_predict_what_their_text_predicts() -> None:
    papers = [p for prefix in ("000", "001", "002", "003", "004") for p in parse_digest(sample_text(prefix)).papers]
    model = seeded_model((p.category, _text(p)) for p in papers if p.category)
    for paper in papers:
        fields = {"title_en": paper.title_en, "title_zh": paper.title_zh, "summary_zh": paper.summary_zh,
                  "abstract_en": paper.abstract_en}
        assert paper_tokens(**fields) == tokens(_text(paper))
        assert model.predict_tokens(paper_tokens(**fields)) == model.predict(_text(paper))
