"""A seeded paper store at benchmark scale (papers, chats, a skewed delivery history), loaded in seconds."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Engine, insert, text
from sqlalchemy.engine import make_url

from storage.models import Chat, Delivery, Digest, Paper
from storage.vocabulary import CATEGORIES

CATEGORY_SHARES = {"LG": 0.40, "CV": 0.25, "CL": 0.20, "AS": 0.08, "RO": 0.07}
CATEGORY_COUNT_SHARES = {1: 0.08, 2: 0.22, 3: 0.30, 4: 0.22, 5: 0.18}  # most chats follow 2-5 fields
HIGHLIGHT_SHARE, MINOR_SHARE = 0.10, 0.30
NEWEST_SHARE = 0.90  # of a chat's deliveries, the newest papers of its fields: what daily delivery leaves behind
MAX_SEEN_SHARE = 0.80  # no chat has seen more than this share of its fields, so every pick finds something
DAYS = 3 * 365
LAST_DAY = date(2026, 11, 20)
BATCH = 50_000

_WORD_TEXT = (
    "learning model models neural network networks diffusion transformer attention graph policy reward agents "
    "language vision image video speech audio robot robotic control planning retrieval generation reasoning "
    "benchmark dataset scaling efficient sparse robust adversarial contrastive self-supervised representation "
    "embedding multimodal fine-tuning alignment preference optimization gradient descent convergence theory bounds "
    "sample complexity inference latent variational autoencoder segmentation detection tracking depth estimation "
    "3D point cloud manipulation grasping locomotion navigation translation summarization dialogue instruction "
    "tokens context window memory compression quantization distillation pruning federated privacy fairness "
    "uncertainty calibration causal discovery time series forecasting physics-informed operator spectral kernel "
    "Bayesian stochastic Monte Carlo evaluation")
_HANZI = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后"
          "多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还"
          "因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结"
          "解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级"
          "模型网络学习训练数据图像语言视觉推理生成检索机器人控制策略强化优化梯度注意力扩散变换器")
_FIRST_NAMES = ("Wei Jing Li Ming Yu Xin Anna Maria David Daniel Sarah Alex Chen Hao Priya Arjun Lucas Sofia Omar Yuki "
                "Kenji Elena Ivan Noah Emma Liam Olivia Mateo Chloe Aisha")
_LAST_NAMES = ("Wang Zhang Liu Chen Yang Huang Zhao Wu Zhou Smith Johnson Brown Garcia Müller Rossi Kumar Singh Kim "
               "Park Tanaka Sato Nguyen Ivanov Silva Cohen Dubois Novak Hansen Kowalski Ali")
_WORDS, _FIRST, _LAST = _WORD_TEXT.split(), _FIRST_NAMES.split(), _LAST_NAMES.split()
_PLACES = ("Tsinghua University", "Peking University", "Stanford University", "MIT", "Carnegie Mellon University",
           "UC Berkeley", "Google DeepMind", "Microsoft Research", "Meta AI", "Shanghai AI Laboratory",
           "ETH Zurich", "University of Oxford", "University of Toronto", "Mila", "Alibaba Group", "ByteDance",
           "Zhejiang University", "KAIST", "University of Tokyo", "NVIDIA")
_TIMEZONES = ("Asia/Shanghai", "Asia/Shanghai", "Asia/Shanghai", "Asia/Tokyo", "Europe/London", "Europe/Berlin",
              "America/New_York", "America/Los_Angeles", "Asia/Singapore", "UTC")


@dataclass(frozen=True)
class Scale:
    """How big the store is: the issue asks for 100k papers, 10k chats and 1M delivery records."""

    papers: int
    chats: int
    deliveries: int

    @classmethod
    def times(cls, factor: float) -> Scale:
        """The full scale shrunk (or grown) by a factor, for quick runs."""
        return cls(papers=round(100_000 * factor), chats=round(10_000 * factor),
                   deliveries=round(1_000_000 * factor))


@dataclass
class Fixture:
    """Every row to load, as tuples in COLUMNS order."""

    digests: list[tuple[Any, ...]] = field(default_factory=list)
    papers: list[tuple[Any, ...]] = field(default_factory=list)
    chats: list[tuple[Any, ...]] = field(default_factory=list)
    deliveries: list[tuple[Any, ...]] = field(default_factory=list)

    def tables(self) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
        """Table name and rows, parents before children."""
        yield from (("digest", self.digests), ("paper", self.papers), ("chat", self.chats),
                    ("delivery", self.deliveries))


COLUMNS: dict[str, tuple[str, ...]] = {
    "digest": ("id", "source", "digest_date", "content_hash", "shape", "paper_count", "ingested_at"),
    "paper": ("id", "category", "category_inferred", "title_en", "title_zh", "authors", "affiliations", "summary_zh",
              "abstract_en", "url", "arxiv_id", "code_url", "highlight", "minor", "title_key", "abstract_key",
              "rank_date", "rank_digest_id", "created_at"),
    "chat": ("id", "kind", "title", "language", "ui_language", "categories", "digest_time", "timezone", "active",
             "next_due_at", "last_digest_on", "created_at"),
    "delivery": ("id", "chat_id", "paper_id", "kind", "message_id", "sent_at"),
}
_MODELS = {"digest": Digest, "paper": Paper, "chat": Chat, "delivery": Delivery}


def _weighted(rng: random.Random, shares: dict[Any, float]) -> Any:
    """One key drawn with the given probabilities."""
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _sentence(rng: random.Random, words: int) -> str:
    """Plausible-length English filler."""
    return " ".join(rng.choices(_WORDS, k=words))


def _digests(rng: random.Random, papers: int) -> tuple[list[tuple[Any, ...]], list[int]]:
    """Digest rows spread over three years, ~10 papers each; returns the rows and each digest's paper count."""
    sizes: list[int] = []
    while sum(sizes) < papers:
        sizes.append(rng.randint(5, 15))
    sizes[-1] -= sum(sizes) - papers
    first_day = LAST_DAY - timedelta(days=DAYS - 1)
    rows = []
    for index, size in enumerate(sizes):
        day = first_day + timedelta(days=index * DAYS // len(sizes))
        ingested = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=8, minutes=index % 60)
        rows.append((index + 1, f"https://example.org/digest/{index + 1}.txt", day,
                     hashlib.sha256(f"digest {index}".encode()).hexdigest(), "weibo", size, ingested))
    return rows, sizes


def _papers(rng: random.Random, digests: Sequence[tuple[Any, ...]], sizes: Sequence[int]) -> list[tuple[Any, ...]]:
    """Paper rows in digest order: highlights first, minor entries last, fields drawn by CATEGORY_SHARES."""
    abstracts = [_sentence(rng, rng.randint(110, 190)) + "." for _ in range(997)]
    summaries = ["".join(rng.choices(_HANZI, k=rng.randint(90, 200))) + "。" for _ in range(991)]
    per_month: dict[str, int] = {}
    rows = []
    for (digest_id, _source, day, *_rest), size in zip(digests, sizes, strict=True):
        flags = sorted(((rng.random() < HIGHLIGHT_SHARE, rng.random() < MINOR_SHARE) for _ in range(size)),
                       key=lambda flag: (not flag[0], flag[1]))
        for highlight, minor in flags:
            paper_id = len(rows) + 1
            month = day.strftime("%y%m")
            per_month[month] = per_month.get(month, 0) + 1
            arxiv_id = f"{month}.{per_month[month]:05d}"
            title = f"{_sentence(rng, 2).title()}: {_sentence(rng, rng.randint(5, 11))} ({paper_id})"
            created = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=8)
            authors = [f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(rng.randint(1, 9))]
            rows.append((
                paper_id, _weighted(rng, CATEGORY_SHARES), rng.random() < 0.05, title,
                "".join(rng.choices(_HANZI, k=rng.randint(12, 30))), authors, rng.sample(_PLACES, rng.randint(1, 3)),
                summaries[paper_id % len(summaries)], f"{title}. {abstracts[paper_id % len(abstracts)]}",
                f"https://arxiv.org/abs/{arxiv_id}", arxiv_id,
                f"https://github.com/lab{paper_id % 500}/repo{paper_id}" if rng.random() < 0.3 else None,
                highlight, minor and not highlight, title.casefold()[:500],
                hashlib.sha1(str(paper_id).encode()).hexdigest(), day, digest_id, created,
            ))
    return rows


def _chats(rng: random.Random, count: int) -> list[tuple[Any, ...]]:
    """Private chats and groups, each following a random handful of fields, popular fields more often."""
    ids: set[int] = set()
    while len(ids) < count:
        ids.add(rng.randint(10**8, 8 * 10**9) if rng.random() < 0.7 else -(10**12) - rng.randint(10**8, 9 * 10**9))
    now = datetime.combine(LAST_DAY, datetime.min.time(), UTC)
    rows = []
    for chat_id in sorted(ids):
        wanted = _weighted(rng, CATEGORY_COUNT_SHARES)
        codes: set[str] = set()
        while len(codes) < wanted:
            codes.add(_weighted(rng, CATEGORY_SHARES))
        hour, minute = rng.randint(6, 22), rng.choice((0, 0, 0, 15, 30, 45))
        rows.append((chat_id, "private" if chat_id > 0 else "supergroup", None if chat_id > 0 else f"Group {chat_id}",
                     _weighted(rng, {"both": 0.6, "zh": 0.25, "en": 0.15}), rng.choice(("zh", "zh", "en")),
                     ",".join(code for code in CATEGORIES if code in codes), f"{hour:02d}:{minute:02d}",
                     rng.choice(_TIMEZONES), rng.random() < 0.95, now + timedelta(hours=hour, minutes=minute),
                     LAST_DAY, now - timedelta(days=rng.randint(1, DAYS))))
    return rows


def _delivery_counts(rng: random.Random, total: int, caps: Sequence[int]) -> list[int]:
    """Skewed counts summing to total (lognormal: most chats a few dozen, a few thousands), each within its cap."""
    weights = [rng.lognormvariate(0.0, 1.2) for _ in caps]
    counts = [0] * len(caps)
    open_chats = set(range(len(caps)))
    while open_chats and (left := total - sum(counts)) > 0:
        share = left / sum(weights[i] for i in open_chats)
        for i in list(open_chats):
            counts[i] = min(caps[i], counts[i] + max(1, round(weights[i] * share)))
            if counts[i] == caps[i]:
                open_chats.discard(i)
    excess = sum(counts) - total
    for i in sorted(range(len(counts)), key=counts.__getitem__, reverse=True)[:max(excess, 0)]:
        counts[i] -= 1
    return counts


def _pick_order_key(row: Sequence[Any]) -> tuple[Any, ...]:
    """The order pick_unseen_papers ranks papers in, as a sort key over a paper row."""
    columns = COLUMNS["paper"]
    return (-row[columns.index("rank_date")].toordinal(), -row[columns.index("rank_digest_id")],
            -row[columns.index("highlight")], row[columns.index("minor")], row[columns.index("id")])


def _deliveries(rng: random.Random, papers: Sequence[tuple[Any, ...]], chats: Sequence[tuple[Any, ...]],
                total: int) -> list[tuple[Any, ...]]:
    """Each chat has mostly seen the newest papers of its fields (a prefix of its ranking), plus a few older ones."""
    ranked = sorted(papers, key=_pick_order_key)
    category_at = COLUMNS["paper"].index("category")
    created_at = COLUMNS["paper"].index("created_at")

    @cache
    def ranking(categories: str) -> list[tuple[Any, ...]]:
        """The papers a chat following these fields is offered, best first."""
        wanted = set(categories.split(","))
        return [paper for paper in ranked if paper[category_at] in wanted]

    categories_at = COLUMNS["chat"].index("categories")
    caps = [int(len(ranking(chat[categories_at])) * MAX_SEEN_SHARE) for chat in chats]
    rows: list[tuple[Any, ...]] = []
    for chat, count in zip(chats, _delivery_counts(rng, total, caps), strict=True):
        order = ranking(chat[categories_at])
        newest = round(count * NEWEST_SHARE)
        seen = order[:newest]
        seen_ids = {paper[0] for paper in seen}
        while len(seen) < count:  # older papers from any field: /today catch-ups, fields the chat dropped
            paper = papers[rng.randrange(len(papers))]
            if paper[0] not in seen_ids:
                seen_ids.add(paper[0])
                seen.append(paper)
        for paper in seen:
            sent_at = paper[created_at] + timedelta(hours=rng.randint(1, 30), seconds=rng.randint(0, 3599))
            rows.append((chat[0], paper[0], rng.choice(("scheduled", "scheduled", "scheduled", "today")),
                         rng.randint(1, 10**6), sent_at))
    rows.sort(key=lambda row: row[-1])  # the table fills in time order, chats interleaved, as in production
    return [(index, *row) for index, row in enumerate(rows, start=1)]


def generate(scale: Scale, *, seed: int) -> Fixture:
    """Every row of the benchmark store; the same seed gives the same store."""
    rng = random.Random(seed)
    digests, sizes = _digests(rng, scale.papers)
    papers = _papers(rng, digests, sizes)
    chats = _chats(rng, scale.chats)
    return Fixture(digests=digests, papers=papers, chats=chats,
                   deliveries=_deliveries(rng, papers, chats, scale.deliveries))


def _batches(rows: Sequence[tuple[Any, ...]], size: int = BATCH) -> Iterable[Sequence[tuple[Any, ...]]]:
    """Slices of at most size rows."""
    return (rows[start:start + size] for start in range(0, len(rows), size))


def _load_sqlite(engine: Engine, fixture: Fixture, seconds: dict[str, float]) -> None:
    """Core insert() executemany in big batches in one transaction; plain indexes are rebuilt once at the end."""
    with engine.connect() as connection:
        # Outside the transaction, where SQLite honours them; the connection is thrown away afterwards.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.exec_driver_sql("PRAGMA cache_size=-400000")
        connection.commit()
        with connection.begin():
            for name, rows in fixture.tables():
                start = time.perf_counter()
                indexes = connection.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                    (name,)).all()
                for index, _sql in indexes:
                    connection.exec_driver_sql(f'DROP INDEX "{index}"')
                statement = insert(_MODELS[name].__table__)  # type: ignore[attr-defined]
                for batch in _batches(rows):
                    connection.execute(statement, [dict(zip(COLUMNS[name], row, strict=True)) for row in batch])
                for _index, sql in indexes:
                    connection.exec_driver_sql(sql)
                seconds[name] = time.perf_counter() - start
            start = time.perf_counter()
            connection.exec_driver_sql("ANALYZE")
            seconds["analyze"] = time.perf_counter() - start
        connection.invalidate()


_PG_PLAIN_INDEXES = ("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                     "AND tablename = %s AND indexname NOT IN (SELECT conname FROM pg_constraint)")
_PG_FOREIGN_KEYS = ("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f'")
_PG_COLUMN_TYPES = "SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"


def _copy_postgresql_table(cursor: Any, name: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Binary COPY with foreign keys and plain indexes dropped, then rebuilt and checked once for the whole table."""
    indexes = cursor.execute(_PG_PLAIN_INDEXES, (name,)).fetchall()
    foreign_keys = cursor.execute(_PG_FOREIGN_KEYS, (name,)).fetchall()
    types = dict(cursor.execute(_PG_COLUMN_TYPES, (name,)).fetchall())
    for constraint, _definition in foreign_keys:
        cursor.execute(f'ALTER TABLE "{name}" DROP CONSTRAINT "{constraint}"')
    for index, _definition in indexes:
        cursor.execute(f'DROP INDEX "{index}"')
    columns = COLUMNS[name]
    with cursor.copy(f'COPY "{name}" ({", ".join(columns)}) FROM STDIN (FORMAT BINARY)') as copy:
        copy.set_types([types[column] for column in columns])
        for row in rows:
            copy.write_row(row)
    for _index, definition in indexes:
        cursor.execute(definition)
    for constraint, definition in foreign_keys:
        cursor.execute(f'ALTER TABLE "{name}" ADD CONSTRAINT "{constraint}" {definition}')
    if name != "chat":  # chat ids are Telegram's; the other tables number their rows from a sequence
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", (name, max(len(rows), 1)))


def _load_postgresql(engine: Engine, fixture: Fixture, seconds: dict[str, float]) -> None:
    """Every table by binary COPY through psycopg in one transaction, then VACUUM ANALYZE."""
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            for name, rows in fixture.tables():
                start = time.perf_counter()
                _copy_postgresql_table(cursor, name, rows)
                seconds[name] = time.perf_counter() - start
        raw.commit()
    finally:
        raw.close()
    start = time.perf_counter()
    # Autovacuum gets here on its own after inserts; its visibility map lets the anti-join read only the index.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
    seconds["vacuum_analyze"] = time.perf_counter() - start


def load(engine: Engine, fixture: Fixture) -> dict[str, float]:
    """Load the fixture into a freshly migrated, empty store; seconds spent per table and step."""
    seconds: dict[str, float] = {}
    if engine.dialect.name == "postgresql":
        _load_postgresql(engine, fixture, seconds)
    else:
        _load_sqlite(engine, fixture, seconds)
    return {step: round(value, 2) for step, value in seconds.items()}


def create_postgresql_database(url: str) -> None:
    """A new, empty database named by the URL (dropped first if a previous run left it behind)."""
    from sqlalchemy import create_engine

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def drop_postgresql_database(url: str) -> None:
    """Remove the benchmark database."""
    from sqlalchemy import create_engine

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    finally:
        admin.dispose()
