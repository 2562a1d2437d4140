"""A unified diff as the dashboard's Review view shows it: per file, syntax highlighted.

Git's diff is split into files and hunks here; Pygments highlights each side of a file (the old
lines with their context, the new lines with theirs) with the lexer its name calls for, so a line
is coloured with the context around it, not on its own. The result is data, not HTML: every line
is a list of ``[css_class, text]`` tokens that the browser inserts as text, so nothing in a diff
can become markup (docs/review.md, "The Review view").
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.lexers.special import TextLexer
from pygments.token import STANDARD_TYPES, _TokenType
from pygments.util import ClassNotFound

LineKind = Literal["hunk", "add", "del", "ctx", "note"]

# Bounds that keep one response and the page showing it small: a longer file is cut (and says
# so), and past the total the remaining files are listed with their counts but no lines.
MAX_FILE_LINES = 2_000
MAX_TOTAL_LINES = 10_000
# Pygments gets slow on pathological lines (minified code); past this a side is plain text.
MAX_HIGHLIGHT_CHARS = 400_000

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
_GIT_HEADER = re.compile(r"^diff --git (\"?a/.*?\"?) (\"?b/.*\"?)$")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


@dataclass
class DiffLine:
    kind: LineKind
    text: str
    old: int | None = None
    new: int | None = None
    tokens: list[list[str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        tokens = self.tokens or [["", self.text]]
        return {"kind": self.kind, "old": self.old, "new": self.new, "tokens": tokens}


@dataclass
class DiffFile:
    path: str
    old_path: str | None = None
    status: Literal["added", "deleted", "modified", "renamed"] = "modified"
    binary: bool = False
    added: int = 0
    removed: int = 0
    language: str | None = None
    truncated: bool = False
    lines: list[DiffLine] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "old_path": self.old_path,
            "status": self.status,
            "binary": self.binary,
            "added": self.added,
            "removed": self.removed,
            "language": self.language,
            "truncated": self.truncated,
            "lines": [line.to_dict() for line in self.lines],
        }


def render_diff(diff: str) -> dict[str, Any]:
    """``{"files": [...], "truncated": bool}`` for ``GET /api/v1/review/<identifier>/diff``."""
    files = parse_diff(diff)
    budget = MAX_TOTAL_LINES
    truncated = False
    for item in files:
        if budget <= 0:
            truncated = truncated or bool(item.lines)
            item.truncated = item.truncated or bool(item.lines)
            item.lines = []
            continue
        keep = min(MAX_FILE_LINES, budget)
        if len(item.lines) > keep:
            item.lines = item.lines[:keep]
            item.truncated = True
            truncated = True
        budget -= len(item.lines)
        highlight(item)
    return {"files": [item.to_dict() for item in files], "truncated": truncated}


def parse_diff(diff: str) -> list[DiffFile]:
    """The files of a unified diff (git's, or plain ``---``/``+++`` ones), in order."""
    files: list[DiffFile] = []
    current: DiffFile | None = None
    old_left = new_left = 0
    old_no = new_no = 0
    lines = diff.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if current is not None and (old_left > 0 or new_left > 0):
            # Inside a hunk: the counts say what is content, even a line that looks like a header.
            marker, text = line[:1], line[1:]
            if marker == "\\":
                current.lines.append(DiffLine("note", line))
                continue
            if marker == "+":
                current.lines.append(DiffLine("add", text, new=new_no))
                current.added += 1
                new_no += 1
                new_left -= 1
            elif marker == "-":
                current.lines.append(DiffLine("del", text, old=old_no))
                current.removed += 1
                old_no += 1
                old_left -= 1
            else:
                current.lines.append(DiffLine("ctx", text, old=old_no, new=new_no))
                old_no += 1
                new_no += 1
                old_left -= 1
                new_left -= 1
            continue
        git = _GIT_HEADER.match(line)
        if git:
            current = DiffFile(path=_strip_prefix(_unquote(git.group(2))))
            files.append(current)
            continue
        if line.startswith("--- ") and index < len(lines) and lines[index].startswith("+++ "):
            old_name, new_name = _name(line[4:]), _name(lines[index][4:])
            index += 1
            if current is None or current.lines:
                current = DiffFile(path=new_name or old_name or "?")
                files.append(current)
            if new_name is None:
                current.status = "deleted"
                current.path = old_name or current.path
            elif old_name is None:
                current.status = "added"
                current.path = new_name
            else:
                current.path = new_name
            continue
        if current is None:
            continue
        if line.startswith("\\ ") and current.lines:
            # "\ No newline at end of file" follows the hunk's last line.
            current.lines.append(DiffLine("note", line))
            continue
        hunk = _HUNK.match(line)
        if hunk:
            old_no, new_no = int(hunk.group(1)), int(hunk.group(3))
            old_left = int(hunk.group(2)) if hunk.group(2) is not None else 1
            new_left = int(hunk.group(4)) if hunk.group(4) is not None else 1
            current.lines.append(DiffLine("hunk", line))
        elif line.startswith("new file mode"):
            current.status = "added"
        elif line.startswith("deleted file mode"):
            current.status = "deleted"
        elif line.startswith("rename from "):
            current.old_path = _unquote(line.removeprefix("rename from "))
            current.status = "renamed"
        elif line.startswith("rename to "):
            current.path = _unquote(line.removeprefix("rename to "))
            current.status = "renamed"
        elif line.startswith("Binary files ") or line == "GIT binary patch":
            current.binary = True
    return files


def _name(header: str) -> str | None:
    """The path of a ``---``/``+++`` header; None for ``/dev/null``."""
    name = _unquote(header.split("\t", 1)[0].rstrip())
    return None if name == "/dev/null" else _strip_prefix(name)


def _strip_prefix(path: str) -> str:
    return path[2:] if path[:2] in ("a/", "b/") else path


def _unquote(name: str) -> str:
    """Git quotes a path with unusual bytes C-style (``"caf\\303\\251.txt"``)."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    out = bytearray()
    body = name[1:-1]
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            following = body[i + 1]
            if following in "01234567" and re.match(r"[0-7]{3}", body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            if following in _ESCAPES:
                out.append(_ESCAPES[following])
                i += 2
                continue
        out.extend(char.encode())
        i += 1
    return out.decode("utf-8", "replace")


def lexer_for(path: str) -> Lexer:
    try:
        return get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


def highlight(item: DiffFile) -> None:
    """Fill each content line's ``tokens``: the old side and the new side are lexed apart."""
    if item.binary:
        return
    lexer = lexer_for(item.path)
    item.language = None if isinstance(lexer, TextLexer) else lexer.name
    old_side = [line for line in item.lines if line.kind in ("del", "ctx")]
    new_side = [line for line in item.lines if line.kind in ("add", "ctx")]
    for side in (old_side, new_side):
        for line, tokens in zip(side, _lexed(lexer, [line.text for line in side]), strict=True):
            if line.kind != "ctx" or side is new_side:
                line.tokens = tokens


def _lexed(lexer: Lexer, texts: Sequence[str]) -> list[list[list[str]]]:
    source = "\n".join(texts)
    if isinstance(lexer, TextLexer) or len(source) > MAX_HIGHLIGHT_CHARS:
        return [[["", text]] if text else [] for text in texts]
    out: list[list[list[str]]] = [[]]
    for css, value in _tokens(lexer, source):
        parts = value.split("\n")
        for number, part in enumerate(parts):
            if number:
                out.append([])
            if not part:
                continue
            row = out[-1]
            if row and row[-1][0] == css:
                row[-1][1] += part
            else:
                row.append([css, part])
    # A lexer may end the text with a newline of its own; the lines are what the diff had.
    return (out + [[] for _ in texts])[: len(texts)]


def _tokens(lexer: Lexer, source: str) -> Iterator[tuple[str, str]]:
    for kind, value in lexer.get_tokens(source):
        yield _css_class(kind), value


def _css_class(kind: _TokenType) -> str:
    """Pygments' short class for a token type (``k``, ``s2``...), from the nearest named one."""
    while kind not in STANDARD_TYPES and kind.parent is not None:
        kind = kind.parent
    return STANDARD_TYPES.get(kind, "")
