"""What the bot quotes of a passage: the list items a question's identifier names."""

from __future__ import annotations

from frontdesk.bot.respond import focus_on_identifiers

CODES_ZH = (
    "E04 – 电池温度超出范围。 请等电池恢复到室温后再骑行或充电。\n"
    "E05 – 电池电压过低。 请将电池充满；如果充电后马上又出现 E05，请联系我们。\n"
    "E06 – 力矩传感器故障。 开机时请勿踩踏板。"
)
CODES_EN = (
    "E05 – Battery voltage too low. Charge it fully.\n"
    "E06 – Torque sensor fault. Don't press the pedals while switching on.\n"
    "E07 – No connection to the motor. Book a workshop check."
)


def test_a_question_naming_a_code_gets_that_line_of_the_list() -> None:
    assert focus_on_identifiers(CODES_ZH, "错误代码E05是什么意思", "zh") == CODES_ZH.split("\n")[1]
    assert focus_on_identifiers(CODES_EN, "what does e06 mean?", "en") == CODES_EN.split("\n")[1]
    # two codes named: both lines, in the passage's order
    both = focus_on_identifiers(CODES_EN, "E07 and then E05", "en")
    assert both.split("\n") == [CODES_EN.split("\n")[0], CODES_EN.split("\n")[2]]


def test_the_whole_passage_otherwise() -> None:
    assert focus_on_identifiers(CODES_EN, "what do the error codes mean?", "en") == CODES_EN
    assert focus_on_identifiers(CODES_EN, "what does E42 mean?", "en") == CODES_EN  # not listed
    paragraph = "Bikes ship within 3 working days; order NW-20431 arrives 2 to 4 days later."
    assert focus_on_identifiers(paragraph, "where is NW-20431?", "en") == paragraph
    every = "Code E05 on the display.\nE05 again after charging: contact us."
    assert focus_on_identifiers(every, "E05?", "en") == every
