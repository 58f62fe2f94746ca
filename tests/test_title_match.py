"""The title matcher, case by case: what makes an arXiv record the digest's paper, and what makes it a look-alike."""

from __future__ import annotations

import pytest

from storage.enrichment import ArxivRecord
from storage.title_match import (
    Verdict,
    authors_overlap,
    is_english_title,
    judge,
    normalise_title,
    pick_match,
    title_query,
)


def record(title: str, *authors: str, arxiv_id: str = "2101.00001") -> ArxivRecord:
    return ArxivRecord(arxiv_id=arxiv_id, title=title, authors=authors)


@pytest.mark.parametrize(("given", "normalised"), [
    ("ZeRO-Offload: Democratizing Billion-Scale Model Training",
     "zero offload democratizing billion scale model training"),
    ("How Does Mixup Help With Robustness?", "how does mixup help with robustness"),
    ("Quantum Permutation\n  Synchronization", "quantum permutation synchronization"),
    (r"$\alpha$-Divergence for \emph{Deep} {G}aussian Processes", "alpha divergence for deep gaussian processes"),
    (r"\textbf{\emph{Nested}} Commands \& More", "nested commands and more"),
    (r"Sch{\"o}lkopf's Kernels", "scholkopf s kernels"),
    ("Müller’s  Ｌemma", "muller s lemma"),
])
def test_normalising_folds_case_punctuation_latex_and_line_breaks(given: str, normalised: str) -> None:
    assert normalise_title(given) == normalised


@pytest.mark.parametrize(("digest", "arxiv"), [
    ("Prefix-Tuning: Optimizing Continuous Prompts for Generation",
     "Prefix-Tuning:  Optimizing Continuous Prompts for Generation"),  # punctuation and spacing
    ("PREFIX-TUNING: OPTIMIZING CONTINUOUS PROMPTS FOR GENERATION",
     "Prefix-Tuning: Optimizing Continuous Prompts for Generation"),  # case
    ("Alpha-Divergence Deep Gaussian Processes", r"$\alpha$-Divergence \emph{Deep} {G}aussian Processes"),  # LaTeX
    ("Quantum Permutation Synchronization", "Quantum Permutation\n  Synchronization"),  # arXiv's folded lines
    ("Self-Supervised Pretraining at Scale", "Self-Supervised Pre-training at Scale"),  # a hyphen more or less
])
def test_equal_once_normalised_is_the_same_paper_without_authors(digest: str, arxiv: str) -> None:
    assert judge(digest, [], record(arxiv)) is Verdict.EQUAL


def test_nearly_equal_needs_an_author_in_common() -> None:
    digest = "Do As I Can, Not As I Say (SayCan): Grounding Language in Robotic Affordances"
    arxiv = record("Do As I Can, Not As I Say: Grounding Language in Robotic Affordances", "Michael Ahn",
                   "Anthony Brohan")
    assert judge(digest, ["Michael Ahn", "et al."], arxiv) is Verdict.NEAR
    assert judge(digest, ["Someone Else"], arxiv) is Verdict.NEEDS_AUTHORS
    assert judge(digest, [], arxiv) is Verdict.NEEDS_AUTHORS, "no authors in the digest: only equal titles count"
    typo = record("Training Learned Optimizers with Randomly Initialized Learned Optimizers", "Luke Metz")
    assert judge("Training Learned Optimisers with Randomly Initialised Learned Optimizers", ["L Metz"],
                 typo) is Verdict.NEAR


@pytest.mark.parametrize(("digest", "arxiv"), [
    ("Topological Deep Learning", "Topological Deep Learning: Going Beyond Graph Data"),
    ("Latent Image Animator: Learning to Animate Images via Latent Space Navigation", "Latent Image Animator"),
])
def test_a_subtitle_left_out_on_one_side_needs_an_author_in_common(digest: str, arxiv: str) -> None:
    assert judge(digest, ["K Greff"], record(arxiv, "Klaus Greff")) is Verdict.SUBTITLE
    assert judge(digest, ["M Hajij"], record(arxiv, "Klaus Greff")) is Verdict.NEEDS_AUTHORS
    assert judge(digest, [], record(arxiv, "Klaus Greff")) is Verdict.NEEDS_AUTHORS


@pytest.mark.parametrize("arxiv", [
    "Invertible Attention: Extended Version",
    "Invertible Attention (Extended Abstract)",
    "Invertible Attention, Part II",
    "Invertible Attention Revisited",
    "Reply to Invertible Attention",
    "Invertible Attention: Supplementary Material",
])
def test_follow_ups_are_refused_even_by_the_same_authors(arxiv: str) -> None:
    assert judge("Invertible Attention", ["J Zha"], record(arxiv, "Jiajun Zha")) is Verdict.FOLLOW_UP


@pytest.mark.parametrize(("digest", "arxiv", "verdict"), [
    ("Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer",
     "Tensor Programs IV: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer", Verdict.NUMBER),
    ("YOLOv3: An Incremental Improvement", "YOLOv4: An Incremental Improvement", Verdict.NUMBER),
    ("Segment Anything", "Segment Anything 2", Verdict.NUMBER),
    ("Visual Prompt Tuning", "Visual Prompt Tuning v2", Verdict.FOLLOW_UP),
    ("Efficient Language Modeling with Sparse all-MLP", "Efficient Language Modeling with Sparse all-MLP, Version 2",
     Verdict.FOLLOW_UP),
])
def test_versions_and_numbers_that_differ_are_other_papers(digest: str, arxiv: str, verdict: Verdict) -> None:
    assert judge(digest, ["Greg Yang"], record(arxiv, "Greg Yang")) is verdict


@pytest.mark.parametrize(("digest", "arxiv"), [
    ("Robust Visual Prompt Tuning", "Towards Robust Visual Prompt Tuning"),
    ("Towards Invertible Attention", "Invertible Attention"),
    ("On Invertible Attention", "Invertible Attention"),
    ("Attention for Invertible Networks", "Invertible Networks for Attention"),  # the same words, another order
])
def test_towards_and_reordered_titles_are_other_papers(digest: str, arxiv: str) -> None:
    assert judge(digest, ["J Zha"], record(arxiv, "Jiajun Zha")) is Verdict.TOWARDS


@pytest.mark.parametrize(("digest", "arxiv"), [
    ("Attention Is All You Need", "Attention Is Not All You Need"),
    ("Training Compute-Optimal Large Language Models", "Training Compute-Optimal Large Vision Models"),
    ("Visual Representation Learning Does Not Generalize Strongly Within the Same Domain",
     "Visual Representation Learning Does Generalize Strongly Within the Same Domain"),
    ("Efficient Deep Learning: A Survey on Making Deep Learning Models Smaller, Faster, and Better",
     "Efficient Deep Learning: A Survey on Making Deep Learning Models Larger, Slower, and Worse"),
])
def test_a_paper_sharing_most_words_is_another_paper_even_with_shared_authors(digest: str, arxiv: str) -> None:
    verdict = judge(digest, ["A Vaswani"], record(arxiv, "Ashish Vaswani"))
    assert not verdict.same_paper, verdict


def test_an_error_entry_is_not_a_paper_even_when_the_digest_title_reads_error() -> None:
    assert judge("Error", [], ArxivRecord(arxiv_id="", title="Error")) is Verdict.NOT_A_PAPER
    assert judge("Error", [], record("Error")) is Verdict.NOT_A_PAPER


@pytest.mark.parametrize(("digest", "arxiv", "expected"), [
    (["J Ren", "S Rajbhandari"], ["Jie Ren", "Samyam Rajbhandari"], True),
    (["X L Li"], ["Xiang Lisa Li", "Percy Liang"], True),
    (["Wang Yi"], ["Yi Wang"], True),  # family name first, as Chinese names often are
    (["J v Kügelgen"], ["Julius von Kugelgen"], True),
    (["Bell"], ["Alexander Graham Bell"], True),
    (["J Ren"], ["Kai Ren"], False),  # a family name alone is not enough
    ([], ["Jie Ren"], False),
])
def test_author_overlap_compares_family_names_and_initials(digest: list[str], arxiv: list[str],
                                                          expected: bool) -> None:
    assert authors_overlap(digest, arxiv) is expected


def test_pick_takes_the_equal_title_among_look_alikes() -> None:
    candidates = [record("Topological Deep Learning: Going Beyond Graph Data", "Mustafa Hajij", arxiv_id="2206.00606"),
                  record("Towards Topological Deep Learning", "Ephy Love", arxiv_id="2201.00002"),
                  record("Topological Deep\n  Learning", "Ephy R. Love", arxiv_id="2101.05778")]
    assert pick_match("Topological Deep Learning", ["E R. Love"], candidates).arxiv_id == "2101.05778"
    assert pick_match("Topological Deep Learning", ["E R. Love"], candidates[:2]) is None
    assert pick_match("Topological Deep Learning", [], []) is None


def test_two_papers_with_one_title_are_told_apart_by_authors_or_not_at_all() -> None:
    twins = [record("Invertible Attention", "Jiajun Zha", arxiv_id="2106.09003"),
             record("Invertible Attention", "Someone Else", arxiv_id="2301.00001")]
    assert pick_match("Invertible Attention", ["J Zha"], twins).arxiv_id == "2106.09003"
    assert pick_match("Invertible Attention", [], twins) is None


@pytest.mark.parametrize(("title", "english"), [
    ("Visual Prompt Tuning", True), ("视觉提示调优", False), ("PaLM 模型", False), ("", False), (None, False),
    ("AI", False),
])
def test_only_english_titles_are_asked_about(title: str | None, english: bool) -> None:
    assert is_english_title(title) is english


def test_the_query_is_a_title_phrase_without_punctuation_or_asides() -> None:
    assert title_query("Do As I Can, Not As I Say (SayCan): Grounding Language") == \
        'ti:"do as i can not as i say grounding language"'
    assert title_query(r"$\alpha$-Nets: \emph{Fast}") == 'ti:"alpha nets fast"'
