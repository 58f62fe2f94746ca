"""Small digests of two kinds of papers (robot grasping, language-model reasoning), mixed in one digest's order."""

from __future__ import annotations

HEADER = "LG - 机器学习 CV - 计算机视觉 CL - 计算与语言 AS - 音频与语音 RO - 机器人 (*表示值得重点关注)\n\n"

GRASPING = [
    ("RO", "Dexterous Grasping of Deformable Objects with Tactile Feedback", "Mei Lin, Karl Ott",
     "灵巧机械手抓取可变形物体，利用触觉反馈。", "A robot hand learns dexterous grasping of deformable objects "
     "from tactile feedback and grasp pose sampling."),
    ("RO", "Learning Grasp Poses for Cluttered Bins", "Karl Ott, Ana Ruiz",
     "杂乱料箱中的机械手抓取位姿学习。", "We learn grasp poses for robot picking in cluttered bins with a "
     "gripper and depth camera."),
    ("RO", "Tactile Sensing for Robust Robotic Grasping", "Ana Ruiz, Mei Lin",
     "触觉传感让机械手抓取更稳健。", "Tactile sensing makes robotic grasping robust to slip of the gripper."),
    ("RO", "Sim-to-Real Transfer of Grasping Policies", "Tom Berg, Karl Ott",
     "抓取策略从仿真迁移到真实机械手。", "Grasping policies trained in simulation transfer to a real robot "
     "gripper with domain randomisation."),
    ("RO", "Grasp Affordances from Human Videos", "Lia Chen, Ana Ruiz",
     "从人类视频学习抓取可供性。", "Robot grasp affordances are learned from human videos of hands grasping "
     "tools."),
    ("RO", "Multi-Finger Grasp Synthesis with Diffusion", "Mei Lin, Tom Berg",
     "多指机械手抓取合成。", "Multi-finger robot grasp synthesis for dexterous hands via a tactile-aware "
     "sampler."),
]
REASONING = [
    ("CL", "Chain of Thought Prompting Improves Arithmetic Reasoning", "Zoe Park, Ian Moss",
     "思维链提示提升大语言模型算术推理。", "Chain of thought prompting makes large language models better at "
     "arithmetic reasoning benchmarks."),
    ("CL", "Self-Consistency for Language Model Reasoning", "Ian Moss, Eva Stone",
     "自洽性解码提升语言模型推理。", "Sampling several reasoning paths from a language model and voting "
     "improves answers."),
    ("CL", "Verifying Reasoning Steps of Large Language Models", "Eva Stone, Zoe Park",
     "验证大语言模型的推理步骤。", "A verifier scores each reasoning step of large language models on math "
     "word problems."),
    ("CL", "Tool Use Makes Language Models Better Reasoners", "Raj Das, Ian Moss",
     "工具调用让语言模型更会推理。", "Language models that call a calculator tool reason better on "
     "arithmetic questions."),
    ("CL", "Reasoning Benchmarks Are Contaminated", "Zoe Park, Raj Das",
     "推理基准被训练数据污染。", "Large language model reasoning benchmarks leak into pretraining data."),
    ("CL", "Distilling Reasoning into Small Language Models", "Eva Stone, Raj Das",
     "把推理能力蒸馏到小语言模型。", "Chain of thought reasoning of large language models is distilled "
     "into small models."),
]


def digest_text(papers: list[tuple[str, str, str, str, str]], *, first_arxiv: int) -> str:
    """A digest in the samples' shape: numbered entries with tag, title, authors, lab, Chinese and English text."""
    entries = []
    for number, (tag, title, authors, summary, abstract) in enumerate(papers, start=1):
        arxiv = f"2611.{first_arxiv + number:05d}"
        entries.append(f"{number}、[{tag}] {title}\n\n{authors}\n[Lab {number}]\n{summary}\n\n{abstract}\n"
                       f"https://arxiv.org/abs/{arxiv}\n")
    return HEADER + "\n".join(entries)


def older_digest() -> str:
    """Three papers of each kind: the ones a chat stars."""
    return digest_text(GRASPING[:3] + REASONING[:3], first_arxiv=100)


def newer_digest() -> str:
    """Three of each kind, the reasoning ones first in today's order: what ranking has to turn round."""
    return digest_text(REASONING[3:] + GRASPING[3:], first_arxiv=200)


def grasping_bibtex() -> str:
    """A small BibTeX library of grasping papers, as Zotero exports it; the first carries its arXiv id."""
    entries = []
    for number, (_tag, title, authors, _summary, abstract) in enumerate(GRASPING[:3], start=1):
        people = " and ".join(f"{name.split()[-1]}, {name.split()[0]}" for name in authors.split(", "))
        eprint = "\n  eprint = {2611.00101},\n  archivePrefix = {arXiv}," if number == 1 else ""
        entries.append(f"@article{{grasp{number},\n  title = {{{{{title}}}}},\n  author = {{{people}}},\n"
                       f"  abstract = {{{abstract}}},{eprint}\n  year = {{2026}}\n}}\n")
    entries.append("@misc{untitled,\n  author = {Nobody, A.},\n  year = {2026}\n}\n")
    return "% Exported from Zotero\n\n" + "\n".join(entries)
