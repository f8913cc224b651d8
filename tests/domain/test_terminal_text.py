"""`terminal_safe` and `terminal_styled`: every payload of the hostile corpus, the `\\r` and tab
rules, SGR colours kept as styles, long hostile inputs, and Hypothesis properties over any
text: nothing that drives a terminal comes out, and safe text comes out unchanged."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtui.domain.approvals import ApprovalKind
from runtui.domain.events import ApprovalRequested, ViolationData
from runtui.domain.terminal_text import (
    NEWLINE_MARK,
    PLAIN,
    Sgr,
    safe_fields,
    terminal_safe,
    terminal_styled,
)
from runtui.domain.violations import PolicyViolationType, ViolationSeverity
from tests.hostile import FORBIDDEN, HOSTILE, PAYLOADS, SHORT, assert_terminal_safe

#: What each payload of the corpus reads as, once made safe (multi-line).
SHOWN = {
    "clear screen": "beforeafter",
    "window title, OSC 0 + BEL": "beforeafter",
    "window title, OSC 2 + ST": "beforeafter",
    "clipboard, OSC 52": "beforeafter",
    "hyperlink, OSC 8": "pwned",
    "cursor move": "beforeafter",
    "private mode (alternate screen on)": "beforeafter",
    "8-bit CSI": "beforeafter",
    "8-bit OSC + 8-bit ST": "beforeafter",
    "DCS": "beforeafter",
    "APC": "beforeafter",
    "charset (nF)": "beforeafter",
    "reset (RIS)": "beforeafter",
    "BEL": "before␇after",
    "backspace": "pwned␈␈␈␈␈safe!",
    "NUL": "before␀after",
    "DEL": "before␡after",
    "C1 NEL": "before\ufffdafter",
    "RLO (bidi override)": "beforetxt.exeafter",
    "RLI (bidi isolate)": "beforetxt.exeafter",
    "carriage return rewrite": "100% pwned",
    "tab": "col     pwned",
    "SGR colours": "pwned",
    "unterminated CSI": "pwned",
    "unterminated OSC": "pwned",
    "long CSI": "pwned",
    "markup": "[bold red]pwned[/] [link=https://evil.example/]x[/link]",
}

#: Characters that make up escape sequences and controls, mixed into generated text.
PIECES = [
    *"\x1b\x9b\x9d\x90\x9c[]P\\_^X;:?0123459m(\x07\x08\x00\x7f\x85\r\n\t ab",
    *"\u202e\u2066\u200f\ud800é漢",
]
hostile_text = st.text(alphabet=st.sampled_from(PIECES) | st.characters(), max_size=200)


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_each_payload_is_neutralised_and_its_text_kept(name: str) -> None:
    assert set(SHOWN) == set(PAYLOADS)
    shown = terminal_safe(PAYLOADS[name])
    assert_terminal_safe(shown, name)
    assert shown == SHOWN[name]
    assert terminal_safe(PAYLOADS[name], one_line=True) == SHOWN[name]


def test_the_whole_corpus_at_once() -> None:
    shown = terminal_safe(HOSTILE)
    assert_terminal_safe(shown)
    assert "pwned" in shown
    assert "beforeafter" in shown


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("abcdef\rXY", "XYcdef"),  # what follows a \r overwrites from column 0
        ("progress 10%\rprogress 100%", "progress 100%"),
        ("done\r", "done"),  # a \r at the end rewrites nothing
        ("one\r\ntwo\r\n", "one\ntwo\n"),  # \r\n is a newline
        ("a\tb\tc", "a       b       c"),
        ("abcdefghij\r\tX", "abcdefghXj"),  # a tab moves the cursor, erases nothing
        ("\x1b", "␛"),  # an ESC that starts nothing is shown
        ("\x1b\x07", "␛␇"),
        ("x\x1b]0;t\x1by", "x"),  # an OSC cut by an ESC: ESC y is a sequence too
        ("x\x1b]0;title\nnext", "x\nnext"),  # an unfinished OSC ends with its line
        ("\x9c", "\ufffd"),  # a lone 8-bit ST
        ("\ud800", "\ufffd"),  # a lone surrogate cannot even be encoded
        ("a\u061cb\u200ec\u200fd", "abcd"),
        ("", ""),
    ],
)
def test_rules(raw: str, shown: str) -> None:
    assert terminal_safe(raw) == shown


def test_one_line_joins_lines_with_a_mark_each_rewritten_on_its_own() -> None:
    assert terminal_safe("first\nxx\r1\r\nlast", one_line=True) == (
        f"first{NEWLINE_MARK}1x{NEWLINE_MARK}last"
    )
    assert terminal_safe("a\tb\nc\td", one_line=True) == f"a       b{NEWLINE_MARK}c       d"


def test_safe_text_is_returned_as_it_is() -> None:
    text = "plain text, ünïcödé, 漢字, emoji 🙂, and [brackets]"
    assert terminal_safe(text) is text
    assert terminal_safe("two\nlines") == "two\nlines"
    assert terminal_styled(text) == [(text, PLAIN)]


def test_sgr_colours_become_styles_and_nothing_else_survives() -> None:
    runs = terminal_styled(
        "a\x1b[1;31mred\x1b[22;39m \x1b[38;5;200mpink\x1b[48;2;1;2;3mon\x1b[0m"
        "\x1b[94;4mblue\x1b[m\x1b[?25l\x1b[2Jend"
    )
    assert runs == [
        ("a", PLAIN),
        ("red", Sgr(fg=1, bold=True)),
        (" ", PLAIN),
        ("pink", Sgr(fg=200)),
        ("on", Sgr(fg=200, bg=(1, 2, 3))),
        ("blue", Sgr(fg=12, underline=True)),
        ("end", PLAIN),
    ]


def test_sgr_styles_follow_a_rewrite_and_odd_parameters_are_ignored() -> None:
    assert terminal_styled("\x1b[31mabc\r\x1b[32mX") == [("X", Sgr(fg=2)), ("bc", Sgr(fg=1))]
    huge = "9" * 5000  # int() refuses numbers this long
    assert terminal_styled(f"\x1b[{huge}m\x1b[38;5;999mx\x1b[38;2;1mx") == [("xx", PLAIN)]
    assert terminal_styled("a\nb", one_line=True) == [
        ("a", PLAIN),
        (NEWLINE_MARK, PLAIN),
        ("b", PLAIN),
    ]


@pytest.mark.parametrize(
    "raw",
    [
        "\x1b[" + "1;" * 1_000_000 + "m",  # one CSI with a million parameters
        "\x1b[" + "1" * 1_000_000,  # ... never ended
        "\x1b]0;" + "t" * 1_000_000,  # an OSC never ended
        "\x1b" * 300_000,
        "\x9b" * 300_000,
        "ab\r" * 300_000,  # a line rewritten 300k times
        "\x1b(" * 300_000,
        "\t" * 100_000,
        "\u202e" * 300_000,
    ],
)
def test_long_hostile_inputs_are_handled_in_one_pass(raw: str) -> None:
    """Linear work: each of these finishes well within the test timeout (a backtracking or
    quadratic scan would not), and what comes out is safe."""
    assert_terminal_safe(terminal_safe(raw))
    assert_terminal_safe("".join(text for text, _ in terminal_styled(raw)))


@given(hostile_text)
def test_nothing_that_drives_a_terminal_comes_out(text: str) -> None:
    shown = terminal_safe(text)
    assert FORBIDDEN.search(shown) is None
    assert "\r" not in shown
    assert "\t" not in shown
    line = terminal_safe(text, one_line=True)
    assert FORBIDDEN.search(line) is None
    assert "\n" not in line
    assert line == shown.replace("\n", NEWLINE_MARK)
    for ch in shown:  # no lone surrogate either: every string can be encoded
        assert not "\ud800" <= ch <= "\udfff"


@given(hostile_text)
def test_it_is_idempotent_and_the_styled_runs_read_the_same(text: str) -> None:
    shown = terminal_safe(text)
    assert terminal_safe(shown) == shown
    assert terminal_safe(shown, one_line=True) == terminal_safe(text, one_line=True)
    assert "".join(t for t, _ in terminal_styled(text)) == shown
    assert "".join(t for t, _ in terminal_styled(text, one_line=True)) == terminal_safe(
        text, one_line=True
    )


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_printable_ascii_is_left_alone(text: str) -> None:
    assert terminal_safe(text) == text
    assert terminal_safe(text, one_line=True) == text


def test_the_printable_shortcut_never_lets_a_special_character_through() -> None:
    """`str.isprintable` goes before the regex: every code point either pattern catches must be
    one it refuses (all of Unicode, checked one by one)."""
    from runtui.domain.terminal_text import _SPECIAL, _SPECIAL_BUT_NEWLINE

    caught = [
        chr(c)
        for c in range(0x110000)
        if _SPECIAL.match(chr(c)) or _SPECIAL_BUT_NEWLINE.match(chr(c))
    ]
    assert len(caught) > 60  # C0, DEL, C1, the bidi controls, the surrogates
    assert [c for c in caught if c.isprintable()] == []
    assert [c for c in caught if terminal_safe("x" + c, one_line=True) == "x" + c] == []


@given(
    st.text(),
    st.lists(st.text(max_size=8), max_size=3),
    st.dictionaries(st.text(max_size=5), st.floats(allow_nan=False), max_size=2),
)
def test_the_json_shortcut_of_safe_fields_agrees_with_the_walk(
    text: str, names: list[str], usage: dict[str, float]
) -> None:
    """A record whose JSON is plain ASCII is returned as it is; any other is walked: either
    way the answer is the walk's, and the same object exactly when nothing needed cleaning."""
    from runtui.domain.events import AttemptStatusChanged
    from runtui.domain.tasks import AttemptStatus
    from runtui.domain.terminal_text import _clean

    for body in (
        ApprovalRequested(
            approval_id="ap", approval_kind=ApprovalKind.TASK, prompt=text, unblocks=names
        ),
        AttemptStatusChanged(
            task_id=text, attempt=0, status=AttemptStatus.FAILED, error=text, usage=usage
        ),
    ):
        walked = _clean(body)
        shown = safe_fields(body)
        assert shown == walked
        assert (shown is body) == (walked is body)


def test_safe_fields_cleans_every_string_of_a_record_and_keeps_clean_ones() -> None:
    body = ApprovalRequested(
        approval_id="ap1",
        approval_kind=ApprovalKind.TASK,
        task_id="gate" + SHORT,
        prompt="ok?\nreally",
        unblocks=["a", SHORT],
    )
    shown = safe_fields(body)
    assert type(shown) is ApprovalRequested
    assert shown.approval_id == "ap1"
    assert shown.approval_kind is body.approval_kind
    assert shown.task_id == "gatepwned␇[b]md[/b]"
    assert shown.prompt == f"ok?{NEWLINE_MARK}really"
    assert shown.unblocks == ["a", "pwned␇[b]md[/b]"]
    assert_terminal_safe(msgspec.json.encode(shown).decode())
    clean = ApprovalRequested(approval_id="ap2", approval_kind=ApprovalKind.PLAN, prompt="fine")
    assert safe_fields(clean) is clean
    nested = ViolationData(
        policy_id="p",
        policy_name="budget\x1b[2J",
        violation_type=PolicyViolationType.TOKEN_LIMIT,
        severity=ViolationSeverity.HIGH,
        step_index=0,
        at=0.0,
        reason="over",
    )
    assert safe_fields({"v": [nested], "k\x07": ("t\x1b[H",)}) == {
        "v": [msgspec.structs.replace(nested, policy_name="budget")],
        "k␇": ("t",),
    }
