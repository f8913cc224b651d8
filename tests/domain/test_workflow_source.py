"""What a run keeps of the text it was started from (`runtui.domain.workflow_source`), and the
TOML a stored workflow is rendered as when that text is not known."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtui.domain.toml_render import render
from runtui.domain.workflow_source import (
    MAX_SOURCE_BYTES,
    SourceFormat,
    kept,
    rendered,
)
from runtui.flow import Flow
from runtui.workflows import load_workflow, parse_workflow, workflow_from_data

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))


def test_a_source_under_the_cap_is_kept_whole() -> None:
    source = kept(SourceFormat.TOML, "name = 'é'\n", "wf.toml")
    assert (source.text, source.size, source.truncated) == ("name = 'é'\n", 12, False)
    assert source.original


def test_a_source_over_the_cap_is_cut_between_characters_and_says_how_big_it_was() -> None:
    text = "#" * (MAX_SOURCE_BYTES - 1) + "é" + "tail"  # é straddles the cap
    source = kept(SourceFormat.PYTHON, text)
    assert source.truncated
    assert source.size == len(text.encode())
    assert source.text == "#" * (MAX_SOURCE_BYTES - 1)  # the split character is dropped


def test_a_parsed_file_carries_its_text_and_where_it_came_from(tmp_path: Path) -> None:
    path = tmp_path / "wf.toml"
    path.write_text('# comment kept\nname = "w"\n[[tasks]]\nid = "a"\nkind = "noop"\n')
    workflow = load_workflow(path)
    assert workflow.source is not None
    assert workflow.source.format is SourceFormat.TOML
    assert workflow.source.text.startswith("# comment kept\n")
    assert workflow.source.origin == str(path)
    # where a workflow came from is not part of what it is
    assert workflow == workflow_from_data(tomllib.loads(path.read_text()))


def test_a_flow_carries_the_module_that_built_it() -> None:
    flow = Flow("from-python")
    flow.noop("only")
    source = flow.build().source
    assert source is not None
    assert source.format is SourceFormat.PYTHON
    assert __name__ in source.origin
    assert source.origin.endswith(".py)")
    assert "def test_a_flow_carries_the_module_that_built_it" in source.text


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_rendered_as_toml_reads_back_as_the_same_workflow(path: Path) -> None:
    workflow = load_workflow(path)
    source = rendered(workflow.model_dump(mode="json"), "x.toml")
    assert source.format is SourceFormat.RENDERED
    assert not source.original
    assert source.origin == "x.toml"
    assert parse_workflow(source.text) == workflow
    assert "= null" not in source.text  # defaults are left out, not written as nulls


def test_strings_that_need_escaping_survive_a_render() -> None:
    data = {
        "name": 'quote " back \\ tab \t bell \x07 esc \x1b[2J',
        "script": 'line one\nline "two"\n\\n not a newline\n"""',
        "quoted": "it's '''\nquotes \"\"\" and a bell \x07\r\nend\"",
        "path": 'C:\\dir "x"',
        "odd key": {"x.y": [1, 2.5, True, "s"]},
        "tasks": [{"id": "a", "env": {"K": "v"}, "list": [{"n": 1}]}],
        "skipped": None,
    }
    text = render(data)
    again = tomllib.loads(text)
    assert again == {k: v for k, v in data.items() if v is not None}
    assert "script = '''\nline one\n" in text  # a script reads as written, line by line
    assert """path = 'C:\\dir "x"'""" in text


def test_a_stored_workflow_that_no_longer_validates_is_rendered_as_it_is() -> None:
    spec = {"name": "old", "tasks": [{"id": "a", "kind": "retired-kind"}]}
    source = rendered(spec)
    assert tomllib.loads(source.text) == spec


def test_no_stored_workflow_renders_as_nothing() -> None:
    assert rendered({}).text == ""


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.text(max_size=30) | st.lists(st.text(max_size=5), max_size=3),
        max_size=4,
    )
)
def test_any_strings_render_to_toml_that_reads_back_the_same(table: dict[str, object]) -> None:
    data = {"top": "x", "table": table, "tasks": [table or {"k": "v"}]}
    assert tomllib.loads(render(data)) == data
