"""Category inference for untagged papers: naive Bayes over the store's tagged papers plus a seed vocabulary."""

from __future__ import annotations

import math
import operator
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from storage.vocabulary import CATEGORIES, Category

# A small built-in vocabulary so a store with no tagged papers yet still guesses sensibly.
SEED_VOCABULARY: dict[Category, str] = {
    Category.LG: (
        "learning optimization optimizer gradient training generalization reinforcement policy reward "
        "regularization bayesian kernel federated graph neural network hyperparameter distributed parallel "
        "gpu scaling sparse mixture experts theory convergence adversarial robustness clustering tabular "
        "time series forecasting weather variational autoencoder representation contrastive meta "
        "机器学习 优化 梯度 训练 泛化 强化学习 正则化 分布式 并行 图神经网络 联邦 超参数 聚类 收敛"
    ),
    Category.CV: (
        "image images vision visual video pixel segmentation detection object camera depth point cloud lidar "
        "3d scene nerf radiance rendering reconstruction pose face animation inpainting imaging photo "
        "convolutional imagenet cifar recognition tracking optical flow texture style generation diffusion "
        "图像 视觉 视频 分割 检测 目标 相机 深度估计 点云 三维 场景 渲染 重建 姿态 人脸 动画 成像 识别 跟踪"
    ),
    Category.CL: (
        "language languages text textual translation nlp token tokens word words sentence dialogue question "
        "answering reasoning summarization corpus bert gpt prompt prompting linguistic entity parsing "
        "retrieval passage document generation llm chatbot hallucination negotiation "
        "语言 文本 翻译 自然语言 词 句子 对话 问答 推理 摘要 语料 提示 检索 文档 生成式 大语言模型"
    ),
    Category.AS: (
        "audio speech speaker sound acoustic music voice asr tts waveform spectrogram phoneme "
        "separation enhancement singing listening "
        "音频 语音 说话人 声音 声学 音乐 语音识别 语音合成 波形 频谱"
    ),
    Category.RO: (
        "robot robots robotic robotics manipulation grasping locomotion navigation embodied control "
        "planning autonomous driving vehicle drone legged arm affordances sim2real motor "
        "机器人 操作 抓取 运动 导航 具身 控制 规划 自动驾驶 无人机 机械臂"
    ),
}
SEED_WEIGHT = 10
TEXT_LIMIT = 300
LEARN_CAP = 300
_WORD = re.compile(r"[a-z][a-z0-9\-]{1,}")
_HAN = re.compile(r"[\u4e00-\u9fff]+")
_STOPWORDS = frozenset({
    "the", "and", "for", "with", "from", "that", "this", "these", "those", "are", "was", "were", "has", "have",
    "had", "our", "their", "its", "which", "into", "onto", "using", "use", "used", "based", "via", "can", "not",
    "but", "also", "such", "than", "then", "more", "most", "very", "well", "both", "each", "other", "only",
    "paper", "we", "propose", "proposed", "method", "methods", "approach", "approaches", "results", "show",
    "shows", "new", "model", "models", "task", "tasks", "data", "performance", "state", "art", "existing", "work",
    "works", "while", "however", "achieve", "achieves",
})


def _words_and_bigrams(text: str) -> tuple[list[str], list[str]]:
    """The two halves of tokens(text): English words in order, then Chinese bigrams in order."""
    lowered = text.casefold()
    # Plurals fold ("images" counts as "image"); written inline, as a call per word cost a fifth of the time.
    words = [word[:-1] if len(word) > 4 and word[-1] == "s" and word[-2] != "s" else word
             for word in _WORD.findall(lowered) if word not in _STOPWORDS]
    bigrams: list[str] = []
    for run in () if lowered.isascii() else _HAN.findall(lowered):
        bigrams.extend(map(operator.add, run, run[1:]))  # each character joined to the next
    return words, bigrams


def tokens(text: str) -> list[str]:
    """English words without stopwords, and Chinese character bigrams (Chinese has no spaces)."""
    words, bigrams = _words_and_bigrams(text)
    return words + bigrams


def paper_text(*, title_en: str | None, title_zh: str | None, summary_zh: str | None,
               abstract_en: str | None) -> str:
    """The fields worth learning from: titles (thrice, they name the topic most plainly) and the openings."""
    titles = " ".join(part for part in (title_en, title_zh) if part)
    openings = (text[:TEXT_LIMIT] for text in (summary_zh, abstract_en) if text)
    return " ".join(part for part in (titles, titles, titles, *openings) if part)


def paper_tokens(*, title_en: str | None, title_zh: str | None, summary_zh: str | None,
                 abstract_en: str | None) -> list[str]:
    """tokens(paper_text(...)) in the same order, reading the thrice-counted titles once (60% of the text)."""
    titles = " ".join(part for part in (title_en, title_zh) if part)
    openings = " ".join(text[:TEXT_LIMIT] for text in (summary_zh, abstract_en) if text)
    title_words, title_bigrams = _words_and_bigrams(titles)
    words, bigrams = _words_and_bigrams(openings)
    return title_words * 3 + words + title_bigrams * 3 + bigrams


@dataclass
class CategoryModel:
    """Complement naive Bayes with add-one smoothing; learning is incremental and cheap."""

    word_counts: dict[str, Counter[str]] = field(default_factory=lambda: {c: Counter() for c in CATEGORIES})
    totals: Counter[str] = field(default_factory=Counter)
    all_counts: Counter[str] = field(default_factory=Counter)
    documents: Counter[str] = field(default_factory=Counter)
    # Per-word part of each category's score (in CATEGORIES order), recomputed only for words learnt since the
    # last prediction. One tuple per word lets a prediction look each word up once, not once per category.
    _weights: dict[str, tuple[float, ...]] = field(default_factory=dict)
    _dirty: set[str] = field(default_factory=set)

    def wants(self, category: str) -> bool:
        """Learning saturates: past LEARN_CAP papers of a category, more examples cost time and add little."""
        return category in self.word_counts and self.documents[category] < LEARN_CAP

    def learn(self, category: str, text: str, weight: int = 1) -> None:
        """Count one labelled text."""
        self.learn_tokens(category, tokens(text), weight)

    def learn_tokens(self, category: str, found: list[str], weight: int = 1) -> None:
        """Count one labelled text already split into tokens."""
        if category not in self.word_counts:
            return
        self.documents[category] += 1
        words = set(found)  # presence, not frequency: one long abstract must not outweigh ten titles
        counts, every = self.word_counts[category], self.all_counts
        if weight == 1:  # every paper: Counter.update counts an iterable in C, adding one per word
            counts.update(words)
            every.update(words)
        else:  # dict.get, not Counter's += : a missing word would cost a Python-level __missing__ call each
            for word in words:
                counts[word] = counts.get(word, 0) + weight
                every[word] = every.get(word, 0) + weight
        self.totals[category] += weight * len(words)
        self._dirty.update(words)

    def _weigh(self, words: set[str]) -> None:
        """Recompute the cached weights of words learnt again since the last prediction."""
        log, every, per_category = math.log, self.all_counts, [self.word_counts[c] for c in CATEGORIES]
        for word in words:
            total = every[word] + 1
            unseen = log(total)  # the weight where the category never saw the word: log(total - 0) - log(1)
            self._weights[word] = tuple([log(total - own) - log(own + 1) if own else unseen
                                         for own in [counts.get(word, 0) for counts in per_category]])
        self._dirty -= words

    def predict(self, text: str) -> str | None:
        """The likeliest category, or None when the text shares no word with anything learnt."""
        return self.predict_tokens(tokens(text))

    def predict_tokens(self, found: list[str]) -> str | None:
        """predict() for a text already split into tokens."""
        if self._dirty:
            self._weigh(self._dirty.intersection(found))
        # Every learnt word now has its weights; unknown words have none and drop out (a weight tuple is truthy).
        rows = list(filter(None, map(self._weights.get, found)))
        if not rows:
            return None
        size = len(self.all_counts) + 1
        grand_total = sum(self.totals.values())
        best, best_score = None, math.inf
        # Complement naive Bayes: a category scores well when the *other* categories explain the text badly,
        # which stays fair when the store holds far more LG papers than AS or RO ones.
        for category, column in zip(CATEGORIES, zip(*rows, strict=True), strict=True):  # each category's weights
            total = self.totals[category]
            constant = math.log(total + size) - math.log(grand_total - total + size)
            score = sum(column) + len(rows) * constant
            if score < best_score:
                best, best_score = category, score
        return best


def seeded_model(examples: Iterable[tuple[str, str]] = ()) -> CategoryModel:
    """A model that knows the seed vocabulary and then the given (category, text) examples."""
    model = CategoryModel()
    for category, words in SEED_VOCABULARY.items():
        model.learn(category.value, words, weight=SEED_WEIGHT)
    for category, text in examples:
        model.learn(category, text)
    return model
