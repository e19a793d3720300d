"""The negative-list categories (负面清单) a term belongs to, and what a hit does by default.

The codes follow the 14 kinds of content the provincial rules for government new media forbid;
``serious_typo`` (严重错别字) is used for near-miss spellings of canonical names and titles.
"""

from __future__ import annotations

CATEGORIES: dict[str, str] = {
    "constitution": "违反宪法确定的基本原则",
    "state_security": "危害国家安全、泄露国家秘密",
    "national_interest": "损害国家荣誉和利益",
    "ethnic_hatred": "煽动民族仇恨、民族歧视",
    "religion_cult": "破坏国家宗教政策，宣扬邪教和封建迷信",
    "rumour": "散布谣言，扰乱社会秩序",
    "obscenity_violence": "散布淫秽、色情、赌博、暴力、凶杀、恐怖内容",
    "defamation": "侮辱或者诽谤他人",
    "illegal_gathering": "煽动非法集会、结社、游行、示威",
    "personal_opinion": "发表个人观点、情绪化言论",
    "commercial": "商业广告、营销推广",
    "privacy": "泄露个人隐私、工作秘密",
    "unverified": "未经核实或未经授权发布的信息",
    "other_prohibited": "法律、行政法规禁止的其他内容",
    "serious_typo": "严重错别字",
}

TYPO_CATEGORY = "serious_typo"

# What a term does when its entry names no action: matters of judgement warn, the rest block.
DEFAULT_ACTIONS: dict[str, str] = {
    code: ("warn" if code in {"personal_opinion", "commercial", "unverified", TYPO_CATEGORY}
           else "block")
    for code in CATEGORIES
}
