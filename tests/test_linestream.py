"""Line framing of a child's pipes: chunk boundaries, over-long lines, early lines."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from symphony.linestream import STDERR, STDOUT, Line, LineFramer, LinePipes, Oversized, read_pump
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


# --- the shared read pump ------------------------------------------------------------------------


def _open_fds() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


def _pump_pipes(loop: asyncio.AbstractEventLoop, count: int) -> list[tuple[LinePipes, int]]:
    """``count`` LinePipes whose stdout is a fresh pipe read by the loop's pump; with the write
    end of each (stderr is an already-ended pipe)."""
    pump = read_pump(loop)
    assert pump is not None
    made = []
    for _ in range(count):
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        os.close(err_write)
        pipes = LinePipes(1024, loop)
        pipes.read_by(pump, {STDOUT: out_read, STDERR: err_read})
        made.append((pipes, out_write))
    return made


async def test_pumped_pipes_deliver_every_line_in_order_batched_or_not_and_close() -> None:
    loop = asyncio.get_running_loop()
    read_pump(loop)  # its own epoll descriptor stays
    before = _open_fds()
    made = _pump_pipes(loop, 12)
    seen: list[list[Line]] = [[] for _ in made]
    for (pipes, _), lines in zip(made, seen, strict=True):
        pipes.attach(STDOUT, lines.append)
    for n in range(60):
        for i, (pipes, write_end) in enumerate(made):
            if n % 20 == 0:  # switch modes mid-stream: nothing lost, nothing reordered
                pipes.read_in_batches(n % 40 == 0 or i % 2 == 0)
            os.write(write_end, b"%d:%d\n" % (i, n))
        await asyncio.sleep(0)  # let the loop read some, not all, between writes
    for _, write_end in made:
        os.close(write_end)
    await asyncio.wait_for(asyncio.gather(*(p.closed(STDOUT) for p, _ in made)), 10)
    for i, lines in enumerate(seen):
        assert lines == [b"%d:%d" % (i, n) for n in range(60)]
    assert _open_fds() == before  # the pump closed every read end at its end of stream


async def test_a_failing_line_handler_does_not_stop_the_other_pipes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    (bad, bad_end), (good, good_end) = _pump_pipes(loop, 2)

    def explode(line: Line) -> None:
        raise RuntimeError("a bug in one session's handler")

    seen: list[Line] = []
    bad.attach(STDOUT, explode)
    good.attach(STDOUT, seen.append)
    for pipes in (bad, good):
        pipes.read_in_batches(True)
    for n in range(3):
        os.write(bad_end, b"bad\n")
        os.write(good_end, b"good %d\n" % n)
        await asyncio.sleep(0)
    os.close(bad_end)
    os.close(good_end)
    await asyncio.wait_for(asyncio.gather(bad.closed(STDOUT), good.closed(STDOUT)), 10)
    assert seen == [b"good 0", b"good 1", b"good 2"]
    assert "pipe line handling failed" in caplog.text  # handled by the pump, not the loop


async def test_a_streaming_child_is_read_whole_through_the_pump(tmp_path: Path) -> None:
    # Far more than one read (and than the pipe holds): each round takes a chunk, the pipe
    # stays ready, the next round takes more.
    process, pipes = await spawn_login_shell_lines(
        "for i in $(seq 1 6000); do printf '%05d %0100d\\n' $i 0; done",
        cwd="/",
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        limit=4096,
    )
    pipes.read_in_batches(True)
    seen: list[Line] = []
    pipes.attach(STDOUT, seen.append)
    pipes.attach(STDERR, seen.append)
    assert await asyncio.wait_for(process.wait(), 30) == 0
    await asyncio.wait_for(pipes.closed(STDOUT), 10)
    assert len(seen) == 6000
    assert [line[:5] for line in seen] == [b"%05d" % i for i in range(1, 6001)]
