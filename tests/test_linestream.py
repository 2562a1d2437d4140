"""Line framing of a child's pipes: chunk boundaries, over-long lines, early lines."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from symphony.linestream import STDERR, STDOUT, Line, LineFramer, Oversized
from symphony.process import spawn_login_shell_lines


def frame(chunks: list[bytes], limit: int) -> list[Line]:
    framer = LineFramer(limit)
    lines: list[Line] = []
    for chunk in chunks:
        lines.extend(framer.feed(chunk))
    last = framer.finish()
    if last is not None:
        lines.append(last)
    return lines


def test_lines_split_across_chunks_are_joined() -> None:
    assert frame([b'{"a":', b"1}\n{", b'"b":2}\n', b"tail"], 100) == [
        b'{"a":1}',
        b'{"b":2}',
        b"tail",
    ]


def test_an_over_long_line_is_dropped_with_its_size_and_the_next_one_survives() -> None:
    lines = frame([b"x" * 30, b"y" * 30, b"z" * 5 + b"\nok\n"], 50)
    assert lines == [Oversized(65), b"ok"]


def test_an_over_long_line_inside_one_chunk() -> None:
    assert frame([b"short\n" + b"w" * 80 + b"\nafter\n"], 50) == [b"short", Oversized(80), b"after"]


def test_an_unterminated_over_long_last_line_is_reported() -> None:
    assert frame([b"v" * 70], 50) == [Oversized(70)]


@given(
    st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=12),
    st.lists(st.integers(min_value=1, max_value=17), min_size=1, max_size=8),
)
def test_any_chunking_gives_the_same_lines(lines: list[bytes], cuts: list[int]) -> None:
    data = b"".join(line + b"\n" for line in lines)
    chunks, at, i = [], 0, 0
    while at < len(data):
        size = cuts[i % len(cuts)]
        chunks.append(data[at : at + size])
        at, i = at + size, i + 1
    expected = [line if len(line) <= 20 else Oversized(len(line)) for line in lines]
    assert frame(chunks, 20) == expected


async def test_lines_written_before_attach_are_delivered_in_order(tmp_path: Path) -> None:
    process, pipes = await spawn_login_shell_lines(
        "printf 'one\\ntwo\\n'; printf 'err\\n' >&2; printf 'three'",
        cwd="/",
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},  # no login profile
        limit=1024,
    )
    assert await asyncio.wait_for(process.wait(), 10) == 0
    await asyncio.wait_for(asyncio.gather(pipes.closed(STDOUT), pipes.closed(STDERR)), 10)
    out: list[Line] = []
    err: list[Line] = []
    pipes.attach(STDOUT, out.append)
    pipes.attach(STDERR, err.append)
    assert out == [b"one", b"two", b"three"]
    assert err == [b"err"]
