"""Tests of spam removal and the rejoining of words a spam line split."""

from __future__ import annotations

import pytest

from pipeline.normalization.spam import main_script, remove_spam

RUN = "바다이야기슬롯"


@pytest.mark.parametrize(
    ("left", "right", "joined"),
    [
        ("to advance a stable relationshi", "p through shuttle diplomacy.", "relationship through"),
        ("evoked an earlier, more gener", "ative chapter of exchange.", "generative chapter"),
        ("working closely with pub", "lic support.", "public support."),
        ("and the council thanked the", "workers for their patience.", "the workers for"),
        ("the patient was taken to the Medical", "Center nearby.", "Medical Center nearby."),
        ("THE POLICE ISSUED A RE", "LEASE ON MONDAY.", "A RELEASE ON"),
        ("THE POLICE ISSUED AN INFORMATION", "RELEASE ON MONDAY.", "INFORMATION RELEASE"),
        ("the family said We’re", "tired of waiting.", "We’re tired"),
        ("investigators from the FMC", "following the case said so.", "FMC following"),
        ("a reporter for the ShotS", "potter network said so.", "ShotSpotter network"),
        ("officials said that more than", "3,000 people came.", "than 3,000"),
        ("“It’ s official: I’ m", "hosting the show!", "I’ m hosting"),
        ("Fox could stymie Lionsgate’ s", "plans by exercising it.", "Lionsgate’ s plans"),
        ("as the station reported via", "WSOTV on Monday.", "via WSOTV on"),
        ("and it is just a sma", "ll part of it.", "small part"),
    ],
)
def test_split_words_are_rejoined(left, right, joined):
    result = remove_spam([left, f"{RUN} {right}"])
    assert result.removed == 1 and result.rejoined == 1
    assert len(result.lines) == 1
    assert joined in result.lines[0]


def test_the_article_vocabulary_decides_names():
    lines = [
        "Prime Minister Sanae Takaichi met Lee on Tuesday.",
        "Lee later thanked Takai",
        f"{RUN} chi for the warm welcome.",
    ]
    result = remove_spam(lines)
    assert result.lines[-1] == "Lee later thanked Takaichi for the warm welcome."


def test_run_prefixed_to_a_paragraph_is_dropped_and_paragraph_kept():
    lines = ["The first paragraph ends here.", f"{RUN}President Lee spoke next."]
    result = remove_spam(lines)
    assert result.lines == ["The first paragraph ends here.", "President Lee spoke next."]
    assert result.rejoined == 0


def test_run_alone_on_a_line_is_dropped():
    lines = ["The first paragraph ends here.", RUN, "The second paragraph."]
    assert remove_spam(lines).lines == ["The first paragraph ends here.", "The second paragraph."]


@pytest.mark.parametrize(
    "line",
    [
        "習近平 (Xi Jinping) sent a letter.",
        "東京 Governor Yuriko Koike also spoke.",
        "“안녕하세요,” he said in greeting.",
        "The minister (이재명) arrived late.",
        "The menu listed 抹茶 ice cream.",
    ],
)
def test_names_and_quotes_are_kept(line):
    lines = ["An English paragraph about the meeting comes first.", line]
    result = remove_spam(lines)
    assert result.removed == 0 and result.lines == lines


def test_main_script():
    assert main_script("An English sentence with 이재명 inside.") == "latin"
    assert main_script("한국과 일본 정상이 나라에서 만났다 Lee") == "hangul"
    assert main_script("日本と韓国の首脳が奈良で会談した") == "kana"
    assert main_script("中国和日本的紧张关系") == "han"


def test_chinese_and_japanese_runs_in_english_text():
    lines = [
        "The storm closed the coastal road and the bri",
        "澳门新葡京娱乐场 dge for two days.",
        "Crews worked through the ni",
        "オンラインカジノ ght to reopen it.",
    ]
    result = remove_spam(lines)
    assert result.lines == [
        "The storm closed the coastal road and the bridge for two days.",
        "Crews worked through the night to reopen it.",
    ]
