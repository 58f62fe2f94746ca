"""End to end: the samples ingested, the bot running with its scheduler against the local Bot API emulator and a
local arXiv stand-in that knows some sample papers and offers look-alikes of others. Every paper it knows gets its
id, none takes a look-alike's, the others keep their digest links; untagged papers get arXiv's primary category;
cards and details link to arXiv; a paper stored twice (a weibo post and an arXiv link) becomes one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.emulator import BotApiEmulator, SentMessage
from bot.playground import Playground, emulator_settings, running_bot
from storage.db import open_store, session_scope
from storage.enrichment import count_papers_waiting_for_arxiv
from storage.ingest import Ingestor
from storage.models import DigestPaper, Paper
from storage.resolution import count_titles_to_resolve
from tests.arxiv_standin import ArxivStandIn, Entry
from tests.conftest import UNTHROTTLED_USERS, ingest_samples
from tests.local_http import LocalServer, local_server

USER = 4242


def _entry(arxiv_id: str, title: str, primary: str, *authors: str) -> Entry:
    return Entry(arxiv_id, title, tuple((name, None) for name in authors), primary, f"Abstract of {title}.")


# Sample papers arXiv knows (title as arXiv writes it, id, primary category, authors on arXiv).
KNOWN = [
    _entry("2101.06840", "ZeRO-Offload: Democratizing Billion-Scale Model Training", "cs.DC", "Jie Ren",
           "Samyam Rajbhandari"),
    _entry("2101.00190", "Prefix-Tuning: Optimizing Continuous Prompts for Generation", "cs.CL", "Xiang Lisa Li",
           "Percy Liang"),
    _entry("2010.04819", "How Does Mixup Help With Robustness and Generalization?", "cs.LG", "Linjun Zhang"),
    _entry("2101.05778", "Topological Deep Learning", "cs.LG", "Ephy R. Love", "Benjamin Filippenko"),
    _entry("2106.04647", "Compacter: Efficient Low-Rank Hypercomplex Adapter Layers", "cs.CL",
           "Rabeeh Karimi Mahabadi", "James Henderson", "Sebastian Ruder"),
    _entry("2112.02805", "Forward Compatible Training for Large-Scale Embedding Retrieval Systems", "cs.CV",
           "Vivek Ramanujan"),
    _entry("2203.12119", "Visual Prompt Tuning", "cs.CV", "Menglin Jia", "Luming Tang"),
    _entry("2203.15556", "Training Compute-Optimal Large Language Models", "cs.CL", "Jordan Hoffmann"),
    _entry("2204.02311", "PaLM: Scaling Language Modeling with Pathways", "cs.CL", "Aakanksha Chowdhery"),
    _entry("2204.01691", "Do As I Can, Not As I Say: Grounding Language in Robotic Affordances", "cs.RO",
           "Michael Ahn", "Anthony Brohan"),
    _entry("2203.13131", "Make-A-Scene: Scene-Based Text-to-Image Generation with Human Priors", "cs.CV",
           "Oran Gafni"),
    _entry("2203.03570", "Kubric: A scalable dataset generator", "cs.CV", "Klaus Greff"),
    _entry("2203.03466", "Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer",
           "cs.LG", "Greg Yang", "Edward J. Hu"),
    _entry("2203.09043", "Latent Image Animator: Learning to Animate Images via Latent Space Navigation", "cs.CV",
           "Yaohui Wang", "Di Yang"),
    _entry("2106.04732", "AdaMatch: A Unified Approach to Semi-Supervised Learning and Domain Adaptation", "cs.LG",
           "David Berthelot"),
]
# Look-alikes: found by the same title phrases, never the sample paper.
LOOK_ALIKES = [
    _entry("2206.00606", "Topological Deep Learning: Going Beyond Graph Data", "cs.LG", "Mustafa Hajij"),
    _entry("2210.00990", "Visual Prompt Tuning for Generative Transfer Learning", "cs.CV", "Kihyuk Sohn"),
    _entry("2301.00001", "Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer "
           "(Extended Version)", "cs.LG", "Greg Yang"),
    _entry("2301.00002", "Invertible Attention: Extended Version", "cs.CV", "Jiajun Zha"),
    _entry("2301.00003", "Towards Invertible Attention", "cs.CV", "Jiajun Zha"),
    _entry("2301.00004", "The Oxford Road Boundaries Dataset 2", "cs.RO", "Tarlan Suleymanov"),
    _entry("2301.00005", "Efficient Language Modeling with Sparse all-MLP Mixtures of Experts", "cs.CL", "Ping Yu"),
    _entry("2301.00006", "Towards Sleeper Agent: Scalable Hidden Trigger Backdoors for Neural Networks Trained from "
           "Scratch", "cs.LG", "Hossein Souri"),
]
# Sample papers the stand-in does not know (only look-alikes, or nothing at all).
UNKNOWN = ["Invertible Attention", "The Oxford Road Boundaries Dataset", "Efficient Language Modeling with Sparse "
           "all-MLP", "Sleeper Agent: Scalable Hidden Trigger Backdoors for Neural Networks Trained from Scratch",
           "Targeted Data Acquisition for Evolving Negotiation Agents", "KALE Flow: A Relaxed KL Gradient Flow for "
           "Probabilities with Disjoint Support"]
# A digest of our own that names Visual Prompt Tuning by its acronym and arXiv link: stored apart from the sample's
# weibo entry (the titles differ), until arXiv says they are one paper.
EXTRA_DIGEST = """LG - 机器学习   CV - 计算机视觉   CL - 计算与语言   AS - 音频与语音 RO - 机器人

1、[CV] VPT: Visual Prompt Tuning (short version)

M Jia, L Tang, B Chen…

[Cornell University]

视觉提示微调。只在输入空间中加入少量可学习参数,冻结主干网络,就能让大型视觉Transformer适应下游任务。

We add a few learnable parameters in the input space and keep the backbone frozen to adapt large vision models.

https://arxiv.org/abs/2203.12119
"""


@dataclass
class World:
    bot: Playground
    emulator: BotApiEmulator
    engine: Engine
    arxiv: LocalServer
    untagged_before: dict[str, str]
    links_before: dict[str, str | None]


def _papers(engine: Engine) -> list[Paper]:
    with session_scope(engine) as session:
        return list(session.exec(select(Paper).order_by(Paper.id)))


@pytest.fixture
async def world(tmp_path) -> AsyncIterator[World]:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = open_store(url)
    ingest_samples(engine)
    assert Ingestor(engine).ingest_text(EXTRA_DIGEST, source="extra", digest_date=date(2022, 4, 21)).new == 1
    untagged = {paper.title_en: paper.category for paper in _papers(engine)
                if paper.category_inferred and paper.title_en}
    links = {paper.title_en: paper.url for paper in _papers(engine) if paper.title_en}
    standin = ArxivStandIn(KNOWN + LOOK_ALIKES)
    with local_server() as arxiv:
        arxiv.routes["/api/query"] = standin
        async with BotApiEmulator() as emulator:
            emulator.add_private_chat(USER, first_name="Ada", language_code="en")
            settings = emulator_settings(emulator, url, tick_seconds=0.05, digest_size=20, arxiv_enrichment=True,
                                         arxiv_api_url=arxiv.url("/api/query"), arxiv_request_interval=0.02,
                                         **UNTHROTTLED_USERS)
            async with running_bot(settings, engine, emulator=emulator, with_scheduler=True) as bot:
                def settled() -> bool:
                    with session_scope(engine) as session:
                        return (count_titles_to_resolve(session=session) == 0
                                and count_papers_waiting_for_arxiv(session=session) == 0)
                await emulator.wait_until(settled, timeout=60)
                yield World(bot, emulator, engine, arxiv, untagged, links)
    engine.dispose()


def _links(message: SentMessage) -> list[str]:
    return [entity["url"] for entity in message.entities if entity["type"] == "text_link"]


async def test_every_known_sample_paper_gets_its_id_and_no_look_alike_does(world: World) -> None:
    papers = _papers(world.engine)
    by_id = {paper.arxiv_id: paper for paper in papers if paper.arxiv_id}
    for known in KNOWN:
        assert known.arxiv_id in by_id, known.title
    assert not {entry.arxiv_id for entry in LOOK_ALIKES} & set(by_id), "no look-alike's id on any paper"
    by_title = {paper.title_en: paper for paper in papers if paper.title_en}
    for title in UNKNOWN:
        paper = by_title[title]
        assert paper.arxiv_id is None and paper.url == world.links_before[title], title
        assert paper.arxiv_resolution == "unmatched"
    assert by_title["Do As I Can, Not As I Say (SayCan): Grounding Language in Robotic Affordances"].arxiv_id == \
        "2204.01691", "nearly equal, with Michael Ahn on both"
    searches = [request for request in world.arxiv.requests if "search_query" in request.query]
    asked = [paper for paper in papers if paper.arxiv_resolution in ("matched", "unmatched")]
    assert len(searches) == 28 == len(asked), "one request per sample paper with an English title and no id"
    assert len({request.query["search_query"][0] for request in searches}) == 28, "each asked once"


async def test_untagged_papers_get_arxivs_primary_category(world: World) -> None:
    by_title = {paper.title_en: paper for paper in _papers(world.engine) if paper.title_en}
    expected = {"Visual Prompt Tuning": None, "PaLM: Scaling Language Modeling with Pathways": "CL",
                "Do As I Can, Not As I Say (SayCan): Grounding Language in Robotic Affordances": "RO",
                "Kubric: A scalable dataset generator": "CV", "Training Compute-Optimal Large Language Models": "CL",
                "Make-A-Scene: Scene-Based Text-to-Image Generation with Human Priors": "CV",
                "Latent Image Animator: Learning to Animate Images via Latent Space Navigation": "CV",
                "Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer": "LG"}
    for title, category in expected.items():
        assert title in world.untagged_before, title
        if category:
            assert (by_title[title].category, by_title[title].category_inferred) == (category, False), title
    assert {paper.category_inferred for title, paper in by_title.items()
            if title in world.untagged_before and paper.arxiv_id} <= {False}
    assert by_title["ZeRO-Offload: Democratizing Billion-Scale Model Training"].category == "LG", \
        "the digest's tag stays (cs.DC is none of ours anyway)"


async def test_a_paper_stored_twice_becomes_one_with_both_digests(world: World) -> None:
    with session_scope(world.engine) as session:
        (paper,) = session.exec(select(Paper).where(Paper.arxiv_id == "2203.12119")).all()
        assert session.exec(select(Paper).where(Paper.title_en == "Visual Prompt Tuning")).first() is None
        digests = session.exec(select(DigestPaper.digest_id).where(DigestPaper.paper_id == paper.id)).all()
    assert paper.title_en == "VPT: Visual Prompt Tuning (short version)" and len(digests) == 2
    assert (paper.category, paper.category_inferred) == ("CV", False)


async def test_cards_and_details_link_to_arxiv(world: World) -> None:
    bot = world.bot
    await bot.say(USER, USER, "/start")
    await bot.say(USER, USER, "/categories RO")
    (robotics,) = await bot.say(USER, USER, "/today")
    assert "[RO] Do As I Can, Not As I Say (SayCan)" in robotics.plain_text, "arXiv's field, not a guess"
    assert "https://arxiv.org/abs/2204.01691" in _links(robotics)
    await bot.say(USER, USER, "/categories CV")
    vision = await bot.say(USER, USER, "/today")
    cards = " ".join(" ".join(message.plain_text.split()) for message in vision)
    links = {link for message in vision for link in _links(message)}
    shown = [entry for entry in KNOWN if entry.title.split(":")[0] in cards]
    assert len(shown) >= 5, cards
    for entry in shown:
        assert f"https://arxiv.org/abs/{entry.arxiv_id}" in links, entry.title
    assert "[CV] Kubric: A scalable dataset generator" in cards and "[CV] VPT: Visual Prompt Tuning" in cards
    assert "Invertible Attention" in cards and world.links_before["Invertible Attention"] in links
    with session_scope(world.engine) as session:
        resolved = session.exec(select(Paper).where(Paper.arxiv_id == "2204.01691")).one()
        unknown = session.exec(select(Paper).where(Paper.title_en == "Invertible Attention")).one()
    (details,) = await bot.say(USER, USER, f"/paper {resolved.id}")
    assert _links(details) == ["https://arxiv.org/abs/2204.01691", "https://arxiv.org/pdf/2204.01691"], \
        "the blog digest gave no link of its own"
    assert "arXiv:2204.01691 · PDF" in details.plain_text
    (other,) = await bot.say(USER, USER, f"/paper {unknown.id}")
    assert _links(other) == [unknown.url], "unknown to arXiv: its digest link only"
    with session_scope(world.engine) as session:
        compacter = session.exec(select(Paper).where(Paper.arxiv_id == "2106.04647")).one()
    (details,) = await bot.say(USER, USER, f"/paper {compacter.id}")
    assert _links(details) == ["https://arxiv.org/abs/2106.04647", "https://arxiv.org/pdf/2106.04647",
                               world.links_before["Compacter: Efficient Low-Rank Hypercomplex Adapter Layers"]]
    assert "weibo.com" in details.plain_text, "the digest's own link, kept as the source"


async def test_switched_off_the_bot_asks_arxiv_nothing(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = open_store(url)
    ingest_samples(engine)
    with local_server() as arxiv:
        arxiv.routes["/api/query"] = ArxivStandIn(KNOWN)
        async with BotApiEmulator() as emulator:
            for enabled in (True, False):
                settings = emulator_settings(emulator, url, tick_seconds=0.05, arxiv_enrichment=enabled,
                                             arxiv_api_url=arxiv.url("/api/query"), arxiv_request_interval=60)
                async with running_bot(settings, engine, emulator=emulator, with_scheduler=True) as bot:
                    jobs = {job.name for job in bot.application.job_queue.jobs()}
                assert ("arxiv-resolution" in jobs) is enabled and ("arxiv-enrichment" in jobs) is enabled
    assert arxiv.requests == [], "the first run waits one interval (60 s here): nothing was asked"
    with session_scope(engine) as session:
        assert count_titles_to_resolve(session=session) == 28
    engine.dispose()
