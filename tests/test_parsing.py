"""The five sample digests parse to exactly the papers a careful reader sees, field by field."""

from __future__ import annotations

import pytest

from storage.parsing import (
    ET_AL,
    DigestFormatError,
    DigestShape,
    ParsedPaper,
    parse_authors,
    parse_digest,
    split_zh_en,
)
from tests.conftest import sample_text

# (title_en, title_zh, category, minor, url, arxiv_id, authors, affiliations) for every entry, in order.
WEIBO_000 = [
    ("ZeRO-Offload: Democratizing Billion-Scale Model Training", "ZeRO-Offload: 十亿级(参数)模型训练大众化",
     "LG", False, "https://weibo.com/1402400261/JEBk6eghr", None,
     ["J Ren", "S Rajbhandari", "R Y Aminabadi", "O Ruwase", "S Yang", "M Zhang", "D Li", "Y He"],
     ["Microsoft", "University of California, Merced"]),
    ("Training Learned Optimizers with Randomly Initialized Learned Optimizers", "用随机初始化习得优化器训练习得优化器",
     "LG", False, "https://weibo.com/1402400261/JEBBP75yZ", None,
     ["L Metz", "C. D Freeman", "N Maheswaranathan", "J Sohl-Dickstein"], ["Google Research"]),
    ("Prefix-Tuning: Optimizing Continuous Prompts for Generation", "Prefix-Tuning:面向生成的连续提示优化",
     "CL", False, "https://weibo.com/1402400261/JEBKIwp6B", None, ["X L Li", "P Liang"], ["Stanford University"]),
    ("How Does Mixup Help With Robustness and Generalization?", "Mixup提高鲁棒性和泛化性的机制分析",
     "LG", False, "https://weibo.com/1402400261/JEBPh0Xr1", None,
     ["L Zhang", "Z Deng", "K Kawaguchi", "A Ghorbani", "J Zou"],
     ["Rutgers University", "Harvard University", "Stanford University"]),
    ("Sparse Single Sweep LiDAR Point Cloud Segmentation via Learning Contextual Shape Priors from Scene Completion",
     "基于场景补全上下文形状先验学习的稀疏单扫激光雷达点云分割", "CV", False,
     "https://weibo.com/1402400261/JEBSXrTBo", None,
     ["X Yan", "J Gao", "J Li", "R Zhang", "Z Li", "R Huang", "S Cui"],
     ["The Chinese University of Hong Kong (Shenzhen)", "Shenzhen Research Institute of Big Data"]),
    ("Topological Deep Learning", "拓扑深度学习", "LG", True, "https://weibo.com/1402400261/JEC2qfuto", None,
     ["E R. Love", "B Filippenko", "V Maroulas", "G Carlsson"], ["University of Tennessee", "Stanford University"]),
    ("Quantum Permutation Synchronization", "QuantumSync:用来解决计算机视觉同步问题的量子算法", "CV", True,
     "https://weibo.com/1402400261/JEC407lBC", None, ["T Birdal", "V Golyanik", "C Theobalt", "L Guibas"],
     ["Stanford University", "Max Planck Institute for Informatics"]),
]

WEIBO_002 = [
    ("Forward Compatible Training for Large-Scale Embedding Retrieval Systems", "大规模嵌入检索系统的前向兼容训练",
     "CV", False,
     "https://openaccess.thecvf.com/content/CVPR2022/html/Ramanujan_Forward_Compatible_Training_for_Large-Scale_"
     "Embedding_Retrieval_Systems_CVPR_2022_paper.html", None,
     ["V Ramanujan", "PKA Vasu", "A Farhadi", ET_AL], ["University of Washington", "Apple"]),
    ("AdaMatch: A Unified Approach to Semi-Supervised Learning and Domain Adaptation", "AdaMatch: 半监督学习和域自适应统一方法",
     "LG", False, "https://arxiv.org/abs/2106.04732", "2106.04732",
     ["D Berthelot", "R Roelofs", "K Sohn", "N Carlini", "A Kurakin"], ["Google Research"]),
    ("Scale Efficiently: Insights from Pre-training and Fine-tuning Transformers", "高效缩放:从Transformer预训练和微调中得到的启示",
     "CL", False, "https://arxiv.org/abs/2109.10686", "2109.10686",
     ["Y Tay", "M Dehghani", "J Rao", "W Fedus", "S Abnar", "H W Chung", "S Narang", "D Yogatama", "A Vaswani",
      "D Metzler"], ["Google Research", "DeepMind"]),
    ("Visual Representation Learning Does Not Generalize Strongly Within the Same Domain", "视觉表示学习在同域不会显著泛化",
     "LG", False, "https://arxiv.org/abs/2107.08221", "2107.08221", ["L Schott", "J v Kügelgen", "F Träuble", ET_AL],
     ["University of Tübingen", "Max Planck Institute for Intelligent Systems", "Amazon Web Services"]),
    ("FourCastNet: Accelerating Global High-Resolution Weather Forecasting using Adaptive Fourier Neural Operators",
     "FourCastNet: 基于自适应傅里叶神经算子加速全球高分辨率天气预报", "LG", False, "https://arxiv.org/abs/2208.05419",
     "2208.05419", ["T Kurth", "S Subramanian", "P Harrington", "J Pathak", ET_AL], ["NVIDIA", "NERSC"]),
    ("Ghost-free High Dynamic Range Imaging with Context-aware Transformer", "基于上下文感知Transformer的无重影高动态范围成像",
     "CV", True, "https://arxiv.org/abs/2208.05114", "2208.05114", ["Z Liu", "Y Wang", "B Zeng", "S Liu"],
     ["Megvii Technology", "Noah’s Ark Lab, Huawei Technologies",
      "University of Electronic Science and Technology of China"]),
    ("Keys to Better Image Inpainting: Structure and Texture Go Hand in Hand", "图像补全改善的关键:结构纹理两手抓",
     "CV", True, "https://arxiv.org/abs/2208.03382", "2208.03382", ["J Jain", "Y Zhou", "N Yu", "H Shi"],
     ["University of Oregon", "Adobe", "Salesforce Research"]),
    ("Looking for a Needle in a Haystack: A Comprehensive Study of Hallucinations in Neural Machine Translation",
     "大海捞针:神经机器翻译错觉的综合研究", "CL", True, "https://arxiv.org/abs/2208.05309", "2208.05309",
     ["N M. Guerreiro", "E Voita", "A F.T. Martins"], ["Instituto de Telecomunicações", "University of Edinburgh"]),
    ("Learning from data in the mixed adversarial non-adversarial case: Finding the helpers and ignoring the trolls",
     "混合对抗性非对抗案例中的数据学习:趋善避恶", "CL", True, "https://arxiv.org/abs/2208.03295", "2208.03295",
     ["D Ju", "J Xu", "Y Boureau", "J Weston"], ["Meta AI"]),
]

WEIBO_003 = [
    ("Efficient Deep Learning: A Survey on Making Deep Learning Models Smaller, Faster, and Better",
     "高效深度学习综述:更小、更快、更好的深度学习模型", "LG", False, "https://weibo.com/1402400261/KkGEdldXG", None,
     ["G Menghani"], ["Google Research"]),
    ("Compacter: Efficient Low-Rank Hypercomplex Adapter Layers", "COMPACTER:高效低秩超复数适配层", "CL", False,
     "https://weibo.com/1402400261/KkGIxFHbN", None, ["R K Mahabadi", "J Henderson", "S Ruder"],
     ["EPFL University", "Idiap Research Institute", "DeepMind"]),
    ("Sleeper Agent: Scalable Hidden Trigger Backdoors for Neural Networks Trained from Scratch",
     "Sleeper Agent:从头训练神经网络的可扩展隐式触发器后门", "LG", False, "https://weibo.com/1402400261/KkGLXtqcE", None,
     ["H Souri", "M Goldblum", "L Fowl", "R Chellappa", "T Goldstein"],
     ["Johns Hopkins University", "University of Maryland"]),
    ("Invertible Attention", "可逆注意力", "CV", False, "https://weibo.com/1402400261/KkGPxa2g8", None,
     ["J Zha", "Y Zhong", "J Zhang", "L Zheng", "R Hartley"], ["Australian National University"]),
    ("Targeted Data Acquisition for Evolving Negotiation Agents", "为演进谈判智能体提供有针对性的数据采集", "CL", False,
     "https://weibo.com/1402400261/KkGSnfGbX", None, ["M Kwon", "S Karamcheti", "M Cuellar", "D Sadigh"],
     ["Stanford University"]),
    ("Smoothing the Disentangled Latent Style Space for Unsupervised Image-to-Image Translation",
     "面向无监督图像-图像变换的解缠潜风格空间平滑", "CV", True, "https://weibo.com/1402400261/KkGWj5VOa", None,
     ["Y Liu", "E Sangineto", "Y Chen", "L Bao", "H Zhang", "N Sebe", "B Lepri", "W Wang", "M D Nadai"],
     ["University of Trento", "Tencent AI Lab", "Fondazione Bruno Kessler"]),
    ("KALE Flow: A Relaxed KL Gradient Flow for Probabilities with Disjoint Support", "KALE Flow:不相交支持概率松弛KL梯度流",
     "LG", True, "https://weibo.com/1402400261/KkGYe6uNt", None, ["P Glaser", "M Arbel", "A Gretton"],
     ["University College London", "INRIA"]),
    ("Differentiable Diffusion for Dense Depth Estimation from Multi-view Images", "基于可微扩散的多视角图像密集深度估计",
     "CV", True, "https://weibo.com/1402400261/KkH0I5NuJ", None, ["N Khan", "M H. Kim", "J Tompkin"],
     ["Brown University", "KAIST"]),
    ("The Oxford Road Boundaries Dataset", "牛津道路边界数据集", "CV", True, "https://weibo.com/1402400261/KkH2d8mv0",
     None, ["T Suleymanov", "M Gadd", "D D Martini", "P Newman"], ["University of Oxford"]),
]

BLOG_004 = [
    ("Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer",
     ["Greg Yang", "Edward J. Hu", ET_AL], "超参数调优是创建 SOTA 模型的重要因素。", "提供了一个有趣的方向."),
    ("Visual Prompt Tuning", ["Menglin Jia", "Luming Tang", ET_AL], "对于现在的大型模型而言", "这是行业正在发展的方向。"),
    ("Pathways: Asynchronous Distributed Dataflow for ML", ["Paul Barham", ET_AL], "如果你认为大规模扩展的工具",
     "在过程中超过了许多人类的基线。"),
    ("PaLM: Scaling Language Modeling with Pathways", ["Aakanksha Chowdhery", ET_AL], "如果你认为大规模扩展的工具",
     "在过程中超过了许多人类的基线。"),
    ("STaR: Selt-Taught Reasoner. Bootstrapping Reasoning With Reasoning",
     ["Eric Zelikman", "Yuhuai Wu", "Noah D. Goodman"], "逻辑推理经常被认为是", "只针对问题解决方案对进行训练的同类系统。"),
    ("Do As I Can, Not As I Say (SayCan): Grounding Language in Robotic Affordances", ["Michael Ahn", ET_AL],
     "缺乏现实世界的基础", "Integrating Language Guidance into Vision-based Deep Metric Learning(arxiv 2203.08543)"),
    ("Latent Image Animator: Learning to Animate Images via Latent Space Navigation",
     ["Yaohui Wang", "Di Yang", "Francois Bremond", "Antitza Dantcheva"], "通过深度学习的生成逼真动画",
     "但具有姿势图像的姿态。"),
    ("Efficient Language Modeling with Sparse all-MLP", ["Ping Yu", ET_AL], "架构在 ML 中的作用是否会进一步缩小?",
     "然后按特征应用 FC实现的(见下图)。"),
    ("Kubric: A scalable dataset generator", ["Klaus Greff", ET_AL], "当自然标记数据非常困难",
     "从 3D NeRF 模型到具有基准结果的光流估计。"),
    ("Training Compute-Optimal Large Language Models",
     ["Jordan Hoffmann", "Sebastian Borgeaud", "Arthur Mensch", ET_AL], "尽管BERT³ 优化不足", "由此产生的模型系列被命名为 Chinchilla。"),
    ("Make-A-Scene: Scene-Based Text-to-Image Generation with Human Priors", ["Oran Gafni", ET_AL],
     "在受控图像生成领域的又一步。", "• 添加无分类器消除了对生成后过滤的需要。"),
]


def _assert_weibo(papers: tuple[ParsedPaper, ...], expected: list[tuple]) -> None:
    """Field-by-field comparison against a hand-read table."""
    assert len(papers) == len(expected)
    for position, (paper, row) in enumerate(zip(papers, expected, strict=True), start=1):
        title_en, title_zh, category, minor, url, arxiv_id, authors, affiliations = row
        assert paper.position == position
        assert paper.title_en == title_en
        assert paper.title_zh == title_zh
        assert paper.category == category
        assert paper.minor is minor
        assert paper.highlight is False
        assert paper.url == url
        assert paper.arxiv_id == arxiv_id
        assert list(paper.authors) == authors
        assert list(paper.affiliations) == affiliations
        assert paper.code_url is None
        if minor:
            assert paper.summary_zh is None and paper.abstract_en is None
        else:
            assert paper.summary_zh and not paper.summary_zh.startswith(title_zh)
            assert paper.abstract_en and paper.abstract_en[0].isupper()
            assert split_zh_en(paper.abstract_en)[0] == "", "English abstract holds no Chinese"
            assert "http" not in paper.abstract_en and "image.png" not in paper.abstract_en


def test_weibo_compact_digest_000() -> None:
    digest = parse_digest(sample_text("000"))
    assert digest.shape is DigestShape.WEIBO
    assert digest.problems == ()
    _assert_weibo(digest.papers, WEIBO_000)
    first = digest.papers[0]
    assert first.summary_zh.startswith("围绕效率、可扩展性和可用性三方面进行优化")
    assert first.summary_zh.endswith("与单独使用模型并行化相比,模型规模增加了4.5倍。")
    assert first.abstract_en.startswith("Large-scale model training has been a playing ground")
    assert first.abstract_en.endswith("access to just a single GPU.")


def test_weibo_spaced_digest_002() -> None:
    digest = parse_digest(sample_text("002"))
    assert digest.shape is DigestShape.WEIBO
    _assert_weibo(digest.papers, WEIBO_002)
    assert digest.papers[0].summary_zh.startswith("在视觉检索系统中,更新嵌入模型需要对每条数据重新计算特征")
    assert digest.papers[0].abstract_en.startswith("In visual retrieval systems, updating the embedding model")
    assert all("版权" not in (paper.summary_zh or "") for paper in digest.papers)


def test_weibo_paragraph_digest_003() -> None:
    digest = parse_digest(sample_text("003"))
    _assert_weibo(digest.papers, WEIBO_003)
    assert digest.papers[3].summary_zh == (
        "注意力已经证明是捕捉长程依赖关系的一种有效机制。然而,到目前为止,它还没有被部署在可逆网络中。这是由于为了使网络可逆,"
        "网络中的每个组件都需要是双射变换,但正常的注意力块不是。本文提出了可逆注意力,可插入到现有的可逆模型中。从数学和实验上证明,"
        "注意力模型的可逆性可通过仔细约束其Lipschitz常数来实现。用3个流行的数据集(CIFAR-10、SVHN和CelebA)验证了可逆注意力在图像"
        "重建任务中的可逆性。在密集预测任务上,可逆注意力与普通的不可逆注意力相比,取得了相似的性能。"
    )


def test_translated_digest_001_is_one_paper_per_paragraph() -> None:
    digest = parse_digest(sample_text("001"))
    assert digest.shape is DigestShape.TRANSLATED
    papers = digest.papers
    assert len(papers) == 10
    assert [bool(p.summary_zh) for p in papers] == [True, True] + [False] * 8
    assert [bool(p.abstract_en) for p in papers] == [False, False] + [True] * 8
    assert all(p.title_en is None and p.title_zh is None and p.authors == () and p.category is None for p in papers)
    assert papers[0].summary_zh.startswith("基础模型正在成为主要的深度学习技术。")
    assert papers[1].summary_zh.endswith("Embrace的速度高达2.41倍。")
    assert papers[2].abstract_en.startswith("Non-line-of-sight (NLOS) imaging aims to reconstruct")
    assert [p.code_url for p in papers] == [None, None, "https://github.com/Duanlab123/CurvNLOS", None, None,
                                            "https://github.com/leezythu/UCTR",
                                            "https://anonymous.4open.science/r/SMVAE-9B3C/", None, None, None]
    assert all("translated by" not in (p.abstract_en or p.summary_zh) for p in papers)


def test_blog_digest_004() -> None:
    digest = parse_digest(sample_text("004"))
    assert digest.shape is DigestShape.BLOG
    assert len(digest.papers) == len(BLOG_004)
    for paper, (title, authors, starts, ends) in zip(digest.papers, BLOG_004, strict=True):
        assert paper.title_en == title
        assert list(paper.authors) == authors
        assert paper.summary_zh.startswith(starts)
        assert paper.summary_zh.endswith(ends)
        assert paper.category is None and paper.abstract_en is None and paper.title_zh is None
        assert paper.arxiv_id is None, "an arXiv id mentioned in commentary belongs to another paper"
        assert paper.minor is False
    texts = " ".join(paper.summary_zh for paper in digest.papers)
    for footer in ("NVidia 的新 H100", "头图", "Pay Attention to MLPs” by", "deephub", "声望", "作者:Sergi", "引用"):
        assert footer not in texts


@pytest.mark.parametrize(
    ("header", "highlight"),
    [
        ("1、*[LG] A Highlighted Paper", True),
        ("1、[LG]* A Highlighted Paper", True),
        ("1、[LG] *A Highlighted Paper", True),
        ("1、[LG] A Highlighted Paper*", True),
        ("*1、[LG] A Highlighted Paper", True),
        ("1、[LG] A Highlighted Paper *", True),
        ("1、[LG] *A Highlighted Paper**", True),
        ("1、[LG] A Highlighted Paper", False),
        ("1、[LG] A Highlighted Paper  ", False),
    ],
)
def test_star_marks_a_highlight_wherever_it_stands(header: str, highlight: bool) -> None:
    text = f"LG - 机器学习 (*表示值得重点关注)\n\n{header}\n\nA Author, B Author\n[Some Lab]\n高亮论文。摘要。\n\nAbstract text.\nhttps://arxiv.org/abs/2101.00001v2\n"
    (paper,) = parse_digest(text).papers
    assert paper.title_en == "A Highlighted Paper"
    assert paper.highlight is highlight
    assert paper.arxiv_id == "2101.00001"


def test_crlf_bom_and_nbsp_copies_parse_the_same() -> None:
    original = sample_text("002")
    mangled = "\ufeff" + original.replace("\n", "\r\n").replace(" ", "\u00a0", 3)
    assert parse_digest(mangled).papers == parse_digest(original).papers


def test_truncated_entry_is_reported_not_invented() -> None:
    text = sample_text("003")
    cut = text[: text.index("Attention has been proved")]
    digest = parse_digest(cut)
    assert [p.title_en for p in digest.papers][-1] == "Invertible Attention"
    assert len(digest.papers) == 4
    assert any("entry 4" in problem and "truncated" in problem for problem in digest.problems)


@pytest.mark.parametrize("text", ["", "hello world", "image.png\nf01.png.jpg\n", "[Google Research]\nJ Doe, K Roe\n"])
def test_text_without_entries_is_refused_with_a_clear_message(text: str) -> None:
    with pytest.raises(DigestFormatError, match="no recognisable paper entry"):
        parse_digest(text)


@pytest.mark.parametrize(
    ("line", "authors"),
    [
        ("G Menghani", ("G Menghani",)),
        ("V Ramanujan, PKA Vasu, A Farhadi…", ("V Ramanujan", "PKA Vasu", "A Farhadi", ET_AL)),
        ("Eric Zelikman, Yuhuai Wu, and Noah D. Goodman", ("Eric Zelikman", "Yuhuai Wu", "Noah D. Goodman")),
        ("Deep Learning has revolutionized the fields of computer vision, natural language", None),
        ("高效深度学习综述", None),
        ("Attention", None),
    ],
)
def test_author_lines(line: str, authors: tuple[str, ...] | None) -> None:
    assert parse_authors(line) == authors


def test_chinese_english_split_keeps_latin_words_in_chinese() -> None:
    chinese, english = split_zh_en("在单个GPU上训练超过130亿参数的模型。 Large-scale model training has been hard.")
    assert chinese == "在单个GPU上训练超过130亿参数的模型。"
    assert english == "Large-scale model training has been hard."


@pytest.mark.parametrize(
    ("line", "authors"),
    [
        ("A Author, B Author et al.", ("A Author", "B Author", ET_AL)),
        ("A Author and B Author...", ("A Author", "B Author", ET_AL)),
        ("A Author & B Author", ("A Author", "B Author")),
        ("A Author,B Author ,  C Author", ("A Author", "B Author", "C Author")),
        ("Alexander Smith, Andrea Doe", ("Alexander Smith", "Andrea Doe")),
    ],
)
def test_author_separators_and_cut_lists(line: str, authors: tuple[str, ...]) -> None:
    assert parse_authors(line) == authors


def test_chinese_english_split_finds_the_last_chinese_character_across_lines() -> None:
    assert split_zh_en("中文。\nEnglish 中 text.\nMore English.") == ("中文。\nEnglish 中", "text.\nMore English.")
    assert split_zh_en("English only.") == ("", "English only.")


def test_blog_reference_with_a_year_still_names_the_authors() -> None:
    text = ("1、Alpha: One Thing and Beta: Two Things\nBy A Author\n这是评论。\n\n引用\n"
            "[1] “Beta: Two Things” by C Author, D Author, 2021.\n")
    papers = parse_digest(text).papers
    assert [(p.title_en, p.authors) for p in papers] == [
        ("Alpha: One Thing", ("A Author",)), ("Beta: Two Things", ("C Author", "D Author"))]
