"""A large digest corpus made by varying the bundled samples, so every copy's papers are distinct."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

from storage.ingest import SAMPLE_DIGESTS_DIR
from storage.vocabulary import CATEGORIES

_WEIBO_HEADER = re.compile(r"^((?:\d+、)?\*?\[[A-Z]{2}\]\*?\s*)(\S)", re.MULTILINE)
_BLOG_HEADER = re.compile(r"^(\d+、)(\S)", re.MULTILINE)
_SECOND_TITLE = re.compile(r" and ([A-Z][\w\-]*): ")
_ARXIV = re.compile(r"arxiv\.org/abs/\d{4}\.\d{5}")
_PROSE_LINE = re.compile(r"^(?![\d\[*]|https?:|By |translated by)(.{40,})$", re.MULTILINE)
_TRANSLATED_PARAGRAPH = re.compile(r"^(?!translated by)(.+)$", re.MULTILINE)


def sample_texts() -> list[str]:
    """The five bundled samples, in file-name order."""
    return [path.read_text(encoding="utf-8") for path in sorted(SAMPLE_DIGESTS_DIR.glob("*.txt"))]


def vary(text: str, copy: int) -> str:
    """One more digest of the same shape whose titles, abstracts and arXiv ids are new."""
    serials = iter(range(copy * 100, copy * 100 + 100))

    def new_id(_match: re.Match[str]) -> str:
        serial = next(serials)
        return f"arxiv.org/abs/{1000 + serial // 99_999:04d}.{serial % 99_999:05d}"

    text = _ARXIV.sub(new_id, text)
    if "translated by" in text:
        return _TRANSLATED_PARAGRAPH.sub(lambda m: f"Variant {copy}: {m.group(1)}", text)
    text = _PROSE_LINE.sub(lambda m: f"V{copy} {m.group(1)}".replace(". ", f". V{copy} ", 1), text)
    text = _WEIBO_HEADER.sub(lambda m: f"{m.group(1)}V{copy} {m.group(2)}", text)
    if "[LG]" not in text and "[CV]" not in text:
        text = _BLOG_HEADER.sub(lambda m: f"{m.group(1)}V{copy} {m.group(2)}", text)
        text = _SECOND_TITLE.sub(lambda m: f" and {m.group(1)}-V{copy}: ", text)
    return text


def build_corpus(min_papers: int) -> list[str]:
    """Enough varied digests to hold at least min_papers papers (46 per round of the five samples)."""
    samples = sample_texts()
    rounds = -(-min_papers // 46)
    return [vary(text, copy) for copy in range(rounds) for text in samples]


# Documents in the shapes digests are published in (see ../shared/real-digests/README.md), with invented papers:
# the words below are combined per paper, so every copy's titles, authors and arXiv ids are new.
_TOPICS = ("Sparse", "Adaptive", "Diffusion", "Contrastive", "Causal", "Federated", "Hierarchical", "Latent",
           "Robust", "Multimodal", "Self-Supervised", "Equivariant", "Bayesian", "Neural", "Implicit", "Graph")
_OBJECTS = ("Transformers", "Policies", "Point Clouds", "Speech Models", "Retrieval", "Reward Models",
            "Scene Graphs", "Tokenizers", "World Models", "Planners", "Embeddings", "Agents")
_AIMS = ("for Long-Horizon Control", "at Scale", "without Labels", "under Distribution Shift",
         "for Low-Resource Translation", "with Verifiable Feedback", "in the Wild", "for Robot Grasping")
_SURNAMES = ("Arden", "Brask", "Colvin", "Dunmore", "Ekwall", "Fenwick", "Garrow", "Hollis", "Ingram", "Jessop",
             "Kellam", "Lorne", "Marlow", "Norcott", "Orwin", "Pellew", "Quarry", "Rendle", "Sallow", "Tamsin")
_ZH_WORDS = ("稀疏", "自适应", "扩散", "对比", "因果", "联邦", "分层", "潜空间", "鲁棒", "多模态", "图像",
             "语音", "检索", "奖励", "智能体", "规划", "表示", "推理", "压缩", "对齐")
_LABS = ("Northfield University", "Lakeshore Institute of Technology", "Harbor AI Lab", "Eastmere College")


def _fake_paper(copy: int, index: int) -> dict[str, str]:
    """One invented paper: titles, authors, a lab, a tag, an arXiv id and two summaries, unique per (copy, index)."""
    serial = copy * 40 + index
    title = (f"{_TOPICS[serial % 16]} {_OBJECTS[serial // 16 % 12]} {_AIMS[serial // 7 % 8]}: "
             f"Study {copy}-{index}")
    zh = f"{_ZH_WORDS[serial % 20]}{_ZH_WORDS[(serial // 20 + 3) % 20]}方法研究（第{copy}-{index}号）"
    authors = ", ".join(f"{chr(65 + (serial + k) % 26)} {_SURNAMES[(serial * 3 + k) % 20]}" for k in range(3))
    return {"title": title, "zh": zh, "authors": authors, "lab": _LABS[serial % 4], "tag": CATEGORIES[serial % 5],
            "arxiv": f"{2300 + copy // 1000 % 100:04d}.{copy % 1000:03d}{index:02d}",
            "summary": f"本文提出了一种{zh}，在{_ZH_WORDS[serial % 7]}任务上取得了更好的效果，并分析了其局限。",
            "abstract": f"We study {title.lower()} and show that a simple recipe improves accuracy on {index + 3} "
                        f"benchmarks while halving the cost of training (copy {copy})."}


_WEIBO_META = ("微博位置：无\n发布时间：2020-06-{day:02d} {hour:02d}:{minute:02d}\n点赞数：{likes}\n转发数：3\n"
               "评论数：1\n发布工具：微博 weibo.com\n")


def _weibo_posts(copy: int, papers: int) -> list[str]:
    """One day's posts: papers in the 2020 《Title》 authors [lab] (year) link form, with videos and quotes between."""
    posts = []
    for index in range(papers):
        paper = _fake_paper(copy, index)
        star = "*" if index % 5 == 0 else ""
        lead = f"【{paper['zh']}】" if index % 2 else ""
        posts.append(f"{star}{lead}《{paper['title']}》{paper['authors']} [{paper['lab']}] (2020) "
                     f"http://t.cn/A{copy:05d}{index:02d} view:http://t.cn/V{copy:05d}{index:02d}  [组图共3张] 原图 ")
        if index % 3 == 2:
            posts.append(f"今晚的视频分享第{copy}-{index}期，欢迎围观  爱可可-爱生活的微博视频  ")
    return posts


def weibo_text(copy: int, papers: int = 10) -> str:
    """A scraper's dump of one weibo day: a profile header, then each post followed by its metadata lines."""
    head = "用户信息：\n用户昵称：示例用户\n用户id：100\n微博数：10\n\n原创微博内容：\n"
    return head + "\n".join(f"{post}\n" + _WEIBO_META.format(day=1 + copy % 28, hour=23 - n % 20, minute=n % 60,
                                                             likes=n * 7 % 97)
                            for n, post in enumerate(_weibo_posts(copy, papers)))


def weibo_csv(copy: int, papers: int = 10) -> str:
    """The same day as a CSV scrape with a BOM: the post is the 微博正文 column."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("微博id", "微博正文", "头条文章url", "原始图片url", "微博视频url", "发布位置", "发布时间",
                     "发布工具", "点赞数", "转发数", "评论数"))
    for n, post in enumerate(_weibo_posts(copy, papers)):
        writer.writerow((f"J{copy:05d}{n:03d}", post, "", "无", "无", "无", f"2020-06-28 {n % 24:02d}:00",
                         "Mac客户端", n, 2, 0))
    return "\ufeff" + out.getvalue()


def frontier_markdown(copy: int, papers: int = 6) -> str:
    """2023's AI前沿推介 as a wiki page: ### N、Title, quoted Chinese title and link list, 动机/方法/优势 bullets."""
    parts = [f"---\nlayout: wiki\ntitle: 2023-04-{1 + copy % 28:02d}：论文速递\nkeywords: paper\n---\n\n"
             f"## 2023-04-{1 + copy % 28:02d}：论文速递\n"]
    for index in range(papers):
        paper = _fake_paper(copy, index)
        parts.append(
            f"\n### {index + 1}、{paper['title']}\n\n> {paper['zh']}\n\n> 《{paper['title']}》\n>\n"
            f"> - URL：https://arxiv.org/abs/{paper['arxiv']}\n>\n"
            f"> - Official Code：https://github.com/example-{copy}/repo-{index}\n>\n> - 单位：{paper['lab']}\n\n"
            f"- 动机：{paper['summary']}\n\n- 方法：提出 **{paper['zh']}**，<u>结合{_ZH_WORDS[index % 20]}</u>。\n\n"
            f"- 优势：在多个基准上表现更好。\n\n> \n> - {paper['summary']}\n\n"
            f"![](https://img.example.org/{copy}/{index}.png)\n\n#### 实验结果\n\n结果见上图。\n")
    return "".join(parts)


def zhihu_markdown(copy: int, papers: int = 1) -> str:
    """A Zhihu re-post on a jekyll blog: front matter, a BibTeX block, then the entry with its line breaks lost."""
    paper = _fake_paper(copy, 0)
    body = "".join(
        f"[{item['tag']}] {item['title']}{item['authors']}…[{item['lab']}]{item['zh']}要点:{item['summary']}"
        f"动机：解决已有方法的不足。方法：{item['zh']}。优势：更快更准。\n\n一句话总结：{item['summary']}\n\n"
        f"{item['abstract']}\n\nhttps://arxiv.org/abs/{item['arxiv']}\n\n"
        for item in (_fake_paper(copy, index) for index in range(papers)))
    return (f"---\nlayout: post\ntitle:  {paper['title']}\n"
            f"date:   2023-10-{1 + copy % 28:02d} 09:{copy % 60:02d}:00 +0800\n"
            f"tags:   [AI, arXiv]\n---\n\n[arXiv](https://arxiv.org/abs/{paper['arxiv']}) V1: "
            f"[{paper['title'].upper()}](https://arxiv.org/pdf/{paper['arxiv']}.pdf)\n\n---\n"
            f"{{% highlight markdown %}}\n@article{{Key{copy},\n  title={{{paper['title']}}},\n"
            f"  author={{{paper['authors'].replace(', ', ' and ')}}},\n  year={{2023}}\n}}\n"
            f"{{% endhighlight %}}\n\n---\n作者：示例作者\n链接：https://zhuanlan.zhihu.com/p/{copy}\n来源：知乎\n\n"
            + body)


def arxiv_daily_markdown(copy: int, papers: int = 8) -> str:
    """An automated arXiv daily page: topic headings, each paper an article block with an arXiv id chip, and
    papers of two topics listed under both."""
    parts = [f"---\ntitle: \"arXiv 每日论文 · {copy}\"\n---\n\n# arXiv 每日论文：{copy}\n\n"
             f"<div class=\"daily-overview\" markdown=\"1\">\n\n收录 **{papers}** 篇不重复论文。\n\n</div>\n"]
    for topic, indexes in (("LLM Reasoning", range(papers)), ("LLM Agent", range(0, papers, 3))):
        parts.append(f"\n## {topic} · {len(indexes)} 篇\n\n<div class=\"daily-paper-list\" markdown=\"1\">\n")
        for index in indexes:
            paper = _fake_paper(copy, index)
            parts.append(
                f"\n<article class=\"daily-paper-item\" markdown=\"1\">\n\n#### [{paper['title']}]"
                f"(notes/paper-{copy}-{index}.md)\n\n<div class=\"daily-paper-meta\"><span class=\"daily-paper-id\">"
                f"arXiv {paper['arxiv']}</span><span class=\"paper-category-chip\">{topic}</span></div>\n\n"
                f"<div class=\"daily-paper-summary\" markdown=\"1\">\n\n{paper['summary']}\n\n</div>\n\n</article>\n")
        parts.append("\n</div>\n")
    return "".join(parts)


def paperweekly_markdown(copy: int, papers: int = 8) -> str:
    """PaperWeekly's 本周值得读: unnumbered bold titles, a recommender, a topic tag, commentary, 论文链接 with the URL
    on the next line, and adverts at the end."""
    parts = [f"\n# {papers} 篇最新 AI 论文来袭 | 本周值得读\n\n这是 PaperDaily 的第**{copy}**篇文章\n\n"]
    for index in range(papers):
        paper = _fake_paper(copy, index)
        parts.append(f"**{paper['title']}**\n**@reader{index} 推荐**\n\\#{_OBJECTS[index % 12]}\n"
                     f"**{paper['summary']}**{paper['summary']}\n\n\n论文链接\nhttps://www.paperweekly.site/papers/"
                     f"{copy * 40 + index}\n" + (f"代码链接\nhttps://github.com/pw-{copy}/code-{index}\n"
                                                 if index % 2 else "\n"))
    parts.append("\n**▲**戳我查看比赛详情\n\n**关于PaperWeekly**\n\nPaperWeekly 是一个学术平台。\n")
    return "".join(parts)


REAL_SHAPES: dict[str, Callable[[int], str]] = {
    "weibo text (2020)": weibo_text, "weibo CSV scrape": weibo_csv, "AI前沿推介 Markdown (2023)": frontier_markdown,
    "Zhihu/jekyll re-post": zhihu_markdown, "arXiv daily notes": arxiv_daily_markdown,
    "PaperWeekly 本周值得读": paperweekly_markdown,
}


def build_shape_corpus(copies: int) -> list[tuple[str, str]]:
    """(shape, document) pairs: copies documents of each real-digest shape, no two copies share a paper."""
    return [(shape, make(index * copies + copy))
            for index, (shape, make) in enumerate(REAL_SHAPES.items()) for copy in range(copies)]


def build_large_document(min_bytes: int) -> str:
    """One document of at least min_bytes of UTF-8: varied sample digests one after another."""
    parts: list[str] = []
    size, copy = 0, 0
    samples = sample_texts()
    while size < min_bytes:
        for text in samples:
            part = vary(text, 100_000 + copy)
            parts.append(part)
            size += len(part.encode("utf-8")) + 2
        copy += 1
    return "\n\n".join(parts)
