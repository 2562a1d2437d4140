"""Splitting and highlighting a unified diff for the Review view (``observability.diff_view``)."""

from __future__ import annotations

from typing import Any

import pytest

from symphony.observability import diff_view
from symphony.observability.diff_view import parse_diff, render_diff
from tests.observability.board_support import DIFF


def text_of(line: dict[str, Any]) -> str:
    return "".join(text for _css, text in line["tokens"])


def test_files_hunks_and_line_numbers() -> None:
    files = render_diff(DIFF)["files"]
    python = files[0]
    kinds = [(line["kind"], line["old"], line["new"]) for line in python["lines"]]
    assert kinds == [
        ("hunk", None, None),
        ("ctx", 1, 1),
        ("del", 2, None),
        ("add", None, 2),
        ("add", None, 3),
        ("ctx", 3, 4),
    ]
    # The tokens put together are the line as it was, for every kind of line.
    assert [text_of(line) for line in python["lines"]][1:4] == [
        "def greet(name):",
        '    return "hi " + name',
        '    """Say hello."""',
    ]


def test_each_side_is_lexed_with_its_context() -> None:
    diff = '--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\n text = """\n-old line\n+new line\n """\n'
    lines = render_diff(diff)["files"][0]["lines"]
    # Inside a triple-quoted string on both sides, so neither is lexed as names.
    assert lines[2]["tokens"][0][0].startswith("s")
    assert lines[3]["tokens"][0][0].startswith("s")


def test_a_file_without_a_known_language_is_plain_text() -> None:
    file = render_diff("--- a/README\n+++ b/README\n@@ -1 +1 @@\n-a\n+b\n")["files"][0]
    assert file["language"] is None
    assert [line["tokens"] for line in file["lines"][1:]] == [[["", "a"]], [["", "b"]]]


def test_git_headers_new_deleted_renamed_binary() -> None:
    diff = "\n".join(
        [
            "diff --git a/gone.txt b/gone.txt",
            "deleted file mode 100644",
            "--- a/gone.txt",
            "+++ /dev/null",
            "@@ -1 +0,0 @@",
            "-bye",
            "diff --git a/old name.md b/new name.md",
            "similarity index 100%",
            "rename from old name.md",
            "rename to new name.md",
            'diff --git "a/caf\\303\\251.png" "b/caf\\303\\251.png"',
            "new file mode 100644",
            'Binary files /dev/null and "b/caf\\303\\251.png" differ',
        ]
    )
    gone, renamed, binary = parse_diff(diff)
    assert (gone.path, gone.status, gone.removed) == ("gone.txt", "deleted", 1)
    assert (renamed.path, renamed.old_path, renamed.status) == (
        "new name.md",
        "old name.md",
        "renamed",
    )
    assert (binary.path, binary.status, binary.binary) == ("café.png", "added", True)
    assert render_diff(diff)["files"][2]["lines"] == []


def test_content_that_looks_like_a_header_stays_content() -> None:
    diff = "--- a/n.txt\n+++ b/n.txt\n@@ -1,2 +1,2 @@\n---- a rule\n+++ b/n.txt\n ok\n"
    (only,) = parse_diff(diff)
    assert [(line.kind, line.text) for line in only.lines[1:]] == [
        ("del", "--- a rule"),
        ("add", "++ b/n.txt"),
        ("ctx", "ok"),
    ]


def test_no_newline_marker_is_a_note() -> None:
    diff = "--- a/n\n+++ b/n\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n"
    kinds = [line.kind for line in parse_diff(diff)[0].lines]
    assert kinds == ["hunk", "del", "note", "add"]


def test_big_diffs_are_cut_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diff_view, "MAX_FILE_LINES", 3)
    monkeypatch.setattr(diff_view, "MAX_TOTAL_LINES", 5)
    body = "".join(f"+line {n}\n" for n in range(10))
    one = f"--- /dev/null\n+++ b/a.txt\n@@ -0,0 +1,10 @@\n{body}"
    rendered = render_diff(one + one.replace("a.txt", "b.txt") + one.replace("a.txt", "c.txt"))
    assert rendered["truncated"] is True
    sizes = [(f["path"], len(f["lines"]), f["truncated"], f["added"]) for f in rendered["files"]]
    # Counts stay whole: the header says how big the change is even when the lines are cut.
    assert sizes == [("a.txt", 3, True, 10), ("b.txt", 2, True, 10), ("c.txt", 0, True, 10)]


def test_an_empty_diff_has_no_files() -> None:
    assert render_diff("") == {"files": [], "truncated": False}
