"""Proof of work: what changed in a workspace since its base commit, read with git.

The agent can write everything in its workspace, ``.git`` included, so the repository's own
config, hooks and attributes are hostile input. Every git call here:

- names the repository explicitly (``GIT_DIR=<ws>/.git``, ``GIT_WORK_TREE=<ws>``), so a planted
  ``core.worktree`` or ``.git`` file cannot point git at files outside the workspace;
- ignores system and global config, and overrides on the command line every repository setting
  that makes git run a program: hooks, fsmonitor, pager, external diff and textconv drivers,
  clean/smudge/process filters (each filter name the repository defines is blanked), signature
  checking in ``log``;
- never prompts, never takes optional locks (so it does not rewrite the index), and runs with a
  timeout in its own process group, which is killed whole when the time is up.

Failures never raise: the result says ``git: false`` or carries an ``error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from symphony.process import DEFAULT_KILL_GRACE_S, child_environment, terminate_group

GIT_TIMEOUT_S = 30.0
MAX_COMMITS = 200
MAX_DIFF_BYTES = 2 * 1024 * 1024
# Listings (numstat, untracked paths) larger than this are treated as a failure, not truncated:
# a partial file list would misstate the work.
MAX_LISTING_BYTES = 16 * 1024 * 1024
# Like git: a NUL byte in the first 8000 bytes makes a file binary.
BINARY_SNIFF_BYTES = 8000

_FILTER_KEYS = ("clean", "smudge", "process")
# Only a full object name is accepted as a base: anything else could be read as an option.
_COMMIT_ID = re.compile(r"\A[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")


@dataclass(frozen=True, slots=True)
class ProofCommit:
    sha: str
    subject: str

    def to_json(self) -> dict[str, Any]:
        return {"sha": self.sha, "subject": self.subject}


@dataclass(frozen=True, slots=True)
class ProofFile:
    """One path that differs from the base. Counts are None for binary files."""

    path: str
    added: int | None
    removed: int | None
    uncommitted: bool = False
    binary: bool = False
    old_path: str | None = None  # set when git saw a rename
    untracked: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "added": self.added,
            "removed": self.removed,
            "uncommitted": self.uncommitted,
            "binary": self.binary,
        }
        if self.old_path is not None:
            out["old_path"] = self.old_path
        if self.untracked:
            out["untracked"] = True
        return out


@dataclass(frozen=True, slots=True)
class GitProof:
    """What a workspace holds compared with its base; ``git`` False when it could not be read."""

    git: bool
    reason: str | None = None
    base: str | None = None
    head: str | None = None
    commits: tuple[ProofCommit, ...] = ()
    commits_truncated: bool = False
    files: tuple[ProofFile, ...] = ()
    diff: str = ""
    diff_truncated: bool = False
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The API form (``proof`` in ``GET /api/v1/<identifier>``); the diff is served apart."""
        return {
            "git": self.git,
            "reason": self.reason,
            "base": self.base,
            "head": self.head,
            "commits": [c.to_json() for c in self.commits],
            "commits_truncated": self.commits_truncated,
            "files": [f.to_json() for f in self.files],
            "diff_truncated": self.diff_truncated,
            "error": self.error,
        }


class GitCallError(Exception):
    """A git call that failed, timed out or printed too much; ``exit_code`` when it exited."""

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --- pure parsing ---------------------------------------------------------------------------


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def diff_text(raw: bytes, *, truncated: bool, max_diff_bytes: int) -> str:
    """The diff a proof shows: ``raw`` as text, with the note that it was cut when it was."""
    diff = _text(raw)
    if truncated:
        diff += f"\n[diff truncated at {max_diff_bytes} bytes]\n"
    return diff


def parse_numstat_z(output: bytes) -> list[ProofFile]:
    """``git diff --numstat -z`` output as records; renames carry ``old_path``.

    Each record is ``added<TAB>removed<TAB>path<NUL>``; a rename leaves the path empty and two
    fields follow, ``old<NUL>new<NUL>``. Binary files show ``-`` counts.
    """
    files: list[ProofFile] = []
    parts = output.split(b"\0")
    if parts and not parts[-1]:
        parts.pop()  # the final record's terminator
    i = 0
    while i < len(parts):
        head = parts[i]
        i += 1
        if not head:
            continue
        fields = head.split(b"\t", 2)
        if len(fields) != 3:
            raise ValueError(f"unexpected numstat record {head[:80]!r}")
        added_raw, removed_raw, path_raw = fields
        old_path: str | None = None
        if not path_raw:  # rename: the two paths follow as their own NUL-ended fields
            if i + 1 >= len(parts):
                raise ValueError("truncated numstat rename record")
            old_path, path_raw = _text(parts[i]), parts[i + 1]
            i += 2
        binary = added_raw == b"-" and removed_raw == b"-"
        files.append(
            ProofFile(
                path=_text(path_raw),
                added=None if binary else int(added_raw),
                removed=None if binary else int(removed_raw),
                binary=binary,
                old_path=old_path,
            )
        )
    return files


def parse_paths_z(output: bytes) -> list[str]:
    """NUL-separated paths (``--name-only -z``, ``ls-files -z``)."""
    return [_text(p) for p in output.split(b"\0") if p]


def parse_log(output: bytes) -> list[ProofCommit]:
    """``git log --format=%H%x1f%s%x1e`` output as commits, in the order given."""
    commits: list[ProofCommit] = []
    for record in output.split(b"\x1e"):
        record = record.strip(b"\n")
        if not record:
            continue
        sha, _, subject = record.partition(b"\x1f")
        commits.append(ProofCommit(sha=_text(sha), subject=_text(subject)))
    return commits


def parse_filter_names(output: bytes) -> list[str]:
    """Filter driver names from ``git config -z --name-only --get-regexp ^filter\\.``."""
    names: set[str] = set()
    for key in output.split(b"\0"):
        name = _text(key.strip())
        if not name.startswith("filter."):
            continue
        driver, _, _ = name[len("filter.") :].rpartition(".")
        if driver:
            names.add(driver)
    return sorted(names)


def count_text(data: bytes) -> tuple[int | None, bool]:
    """Lines in a new file, or ``(None, True)`` when it looks binary."""
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return None, True
    if not data:
        return 0, False
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1), False


def new_file_diff(path: str, data: bytes, *, mode: str = "100644") -> str:
    """A unified diff that adds ``path`` with ``data`` (what git prints for a new file)."""
    header = f"diff --git a/{path} b/{path}\nnew file mode {mode}\n"
    lines, binary = count_text(data)
    if binary:
        return header + f"Binary files /dev/null and b/{path} differ\n"
    if not lines:
        return header
    body = _text(data)
    out = [
        header,
        "--- /dev/null\n",
        f"+++ b/{path}\n",
        f"@@ -0,0 +1{'' if lines == 1 else f',{lines}'} @@\n",
    ]
    for line in body.splitlines(keepends=True):
        out.append("+" + line)
    if not body.endswith("\n"):
        out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def merge_files(
    committed_and_tracked: Sequence[ProofFile],
    dirty: set[str],
    untracked: Sequence[ProofFile],
) -> list[ProofFile]:
    """Base→working-tree records, flagged ``uncommitted`` where the work tree differs from HEAD."""
    merged: list[ProofFile] = []
    for f in committed_and_tracked:
        is_dirty = f.path in dirty or (f.old_path is not None and f.old_path in dirty)
        merged.append(
            ProofFile(
                f.path,
                f.added,
                f.removed,
                uncommitted=is_dirty,
                binary=f.binary,
                old_path=f.old_path,
            )
        )
    seen = {f.path for f in merged}
    merged.extend(f for f in untracked if f.path not in seen)
    return sorted(merged, key=lambda f: f.path)


# --- git calls ------------------------------------------------------------------------------


def git_environment(workspace: Path, base_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every git call: this repository only, no config beyond its own."""
    source = dict(os.environ if base_env is None else base_env)
    # Any inherited GIT_* (GIT_DIR, GIT_EXTERNAL_DIFF, GIT_CONFIG_COUNT...) would change what runs.
    strip = [name for name in source if name.startswith("GIT_")]
    return child_environment(
        strip,
        base=source,
        extra={
            "GIT_DIR": os.fspath(workspace / ".git"),
            "GIT_WORK_TREE": os.fspath(workspace),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_OPTIONAL_LOCKS": "0",
            "GIT_PAGER": "cat",
            "GIT_EDITOR": "true",
            "GIT_ASKPASS": "true",
            "SSH_ASKPASS": "true",
            "GIT_NO_REPLACE_OBJECTS": "1",
            "LC_ALL": "C",
        },
    )


def safe_config(filter_names: Sequence[str] = ()) -> dict[str, str]:
    """Config overrides that stop git running programs, as ``GIT_CONFIG_*`` variables.

    They count as command-line config, which beats the repository's own. Variables rather than
    ``-c key=value``: a filter name may itself contain ``=``, which ``-c`` would split wrongly.
    """
    pairs = [
        ("core.hooksPath", os.devnull),
        ("core.fsmonitor", "false"),
        ("core.pager", "cat"),
        ("core.editor", "true"),
        ("core.askPass", "true"),
        ("core.sshCommand", "false"),
        ("core.untrackedCache", "false"),
        ("diff.external", ""),
        ("log.showSignature", "false"),
        ("color.ui", "false"),
        ("credential.helper", ""),
        ("protocol.allow", "never"),
        # Submodules are separate repositories with their own config; never look inside them.
        ("diff.submodule", "short"),
        ("submodule.recurse", "false"),
        ("status.submoduleSummary", "false"),
    ]
    for name in filter_names:
        pairs.extend((f"filter.{name}.{key}", "") for key in _FILTER_KEYS)
        pairs.append((f"filter.{name}.required", "false"))
    env = {"GIT_CONFIG_COUNT": str(len(pairs))}
    for index, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


@dataclass(slots=True)
class GitRunner:
    """Runs git in one workspace with the safety settings; each call bounded in time."""

    workspace: Path
    timeout_s: float = GIT_TIMEOUT_S
    kill_grace_s: float = DEFAULT_KILL_GRACE_S
    base_env: Mapping[str, str] | None = None
    git: str = "git"
    filter_names: list[str] = field(default_factory=list)

    async def run(
        self, *args: str, max_bytes: int = MAX_LISTING_BYTES, allow_truncation: bool = False
    ) -> tuple[bytes, bool]:
        """stdout of ``git args`` and whether it was cut at ``max_bytes``; raises GitCallError."""
        argv = [self.git, "--no-pager", *args]
        env = git_environment(self.workspace, self.base_env)
        env.update(safe_config(self.filter_names))
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=os.fspath(self.workspace),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise GitCallError(f"cannot run git: {exc}") from exc
        try:
            out, truncated, err = await asyncio.wait_for(
                read_bounded(process, max_bytes), timeout=self.timeout_s
            )
        except TimeoutError:
            await terminate_group(process, grace_s=self.kill_grace_s)
            raise GitCallError(f"git {args[0]} timed out after {self.timeout_s:g} s") from None
        except BaseException:
            await terminate_group(process, grace_s=self.kill_grace_s)
            raise
        if truncated:
            await terminate_group(process, grace_s=self.kill_grace_s)
            if not allow_truncation:
                raise GitCallError(f"git {args[0]} printed more than {max_bytes} bytes")
            return out, True
        code = process.returncode
        if code != 0:
            detail = _text(err).strip()[-300:]
            raise GitCallError(f"git {args[0]} exited with {code}: {detail}", code)
        return out, False


async def read_bounded(
    process: asyncio.subprocess.Process, max_bytes: int
) -> tuple[bytes, bool, bytes]:
    assert process.stdout is not None and process.stderr is not None
    err_task = asyncio.ensure_future(process.stderr.read(64 * 1024))
    chunks: list[bytes] = []
    size = 0
    truncated = False
    try:
        while True:
            chunk = await process.stdout.read(64 * 1024)
            if not chunk:
                break
            if size + len(chunk) > max_bytes:
                chunks.append(chunk[: max_bytes - size])
                truncated = True
                break
            chunks.append(chunk)
            size += len(chunk)
        if truncated:
            err_task.cancel()
            return b"".join(chunks), True, b""
        err = await err_task
        await process.wait()
        return b"".join(chunks), False, err
    finally:
        if not err_task.done():
            err_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await err_task


def is_real_git_dir(workspace: Path) -> bool:
    # A .git file or symlink could name a repository outside the workspace.
    try:
        return stat.S_ISDIR(os.lstat(workspace / ".git").st_mode)
    except OSError:
        return False


async def prepared_runner(
    workspace: Path,
    *,
    timeout_s: float = GIT_TIMEOUT_S,
    base_env: Mapping[str, str] | None = None,
    git: str = "git",
    kill_grace_s: float = DEFAULT_KILL_GRACE_S,
) -> GitRunner:
    """A ``GitRunner`` for ``workspace`` with its filters blanked; raises ``GitCallError``."""
    runner = GitRunner(
        workspace, timeout_s=timeout_s, kill_grace_s=kill_grace_s, base_env=base_env, git=git
    )
    # Reading config runs nothing; its filter names are then blanked for every later call.
    try:
        out, _ = await runner.run("config", "-z", "--name-only", "--get-regexp", r"^filter\.")
    except GitCallError as exc:
        if exc.exit_code != 1:  # 1 means: no filter configured
            raise
        out = b""
    runner.filter_names = parse_filter_names(out)
    return runner


async def read_head(
    workspace: Path,
    *,
    timeout_s: float = GIT_TIMEOUT_S,
    base_env: Mapping[str, str] | None = None,
    git: str = "git",
    kill_grace_s: float = DEFAULT_KILL_GRACE_S,
) -> str | None:
    """The workspace's HEAD commit, or None when it is no git repository or has no commit."""
    return await _read_one_line(
        workspace,
        ("rev-parse", "--verify", "--quiet", "HEAD^{commit}"),
        timeout_s=timeout_s,
        base_env=base_env,
        git=git,
        kill_grace_s=kill_grace_s,
    )


async def read_branch(
    workspace: Path,
    *,
    timeout_s: float = GIT_TIMEOUT_S,
    base_env: Mapping[str, str] | None = None,
    git: str = "git",
    kill_grace_s: float = DEFAULT_KILL_GRACE_S,
) -> str | None:
    """The workspace's current branch, or None (no git repository, a detached HEAD)."""
    return await _read_one_line(
        workspace,
        ("symbolic-ref", "--quiet", "--short", "HEAD"),
        timeout_s=timeout_s,
        base_env=base_env,
        git=git,
        kill_grace_s=kill_grace_s,
    )


async def _read_one_line(
    workspace: Path,
    args: tuple[str, ...],
    *,
    timeout_s: float,
    base_env: Mapping[str, str] | None,
    git: str,
    kill_grace_s: float,
) -> str | None:
    """``git args``' answer stripped, or None: no git repository, git failed, or no answer."""
    if not is_real_git_dir(workspace):
        return None
    try:
        runner = await prepared_runner(
            workspace, timeout_s=timeout_s, base_env=base_env, git=git, kill_grace_s=kill_grace_s
        )
        out, _ = await runner.run(*args)
    except GitCallError:
        return None
    return _text(out).strip() or None


async def collect_git_proof(
    workspace: Path,
    base: str | None,
    *,
    timeout_s: float = GIT_TIMEOUT_S,
    max_diff_bytes: int = MAX_DIFF_BYTES,
    max_commits: int = MAX_COMMITS,
    base_env: Mapping[str, str] | None = None,
    git: str = "git",
) -> GitProof:
    """Commits since ``base`` and every path whose working-tree content differs from it.

    Never raises (except on cancellation): an unreadable repository gives ``git=False`` with a
    reason, a failing git call a result with ``error``.
    """
    workspace = Path(workspace)
    if not is_real_git_dir(workspace):
        return GitProof(git=False, reason="the workspace is not a git repository", base=base)
    if base is None:
        return GitProof(git=False, reason="no base commit was recorded for this workspace")
    if not _COMMIT_ID.match(base):
        return GitProof(git=False, reason=f"base {base!r} is not a commit id", base=base)
    try:
        return await _collect(
            workspace, base, timeout_s, max_diff_bytes, max_commits, base_env, git
        )
    except GitCallError as exc:
        return GitProof(git=True, base=base, error=str(exc))
    except (OSError, ValueError) as exc:
        return GitProof(git=True, base=base, error=f"cannot read the workspace: {exc}")


async def _collect(
    workspace: Path,
    base: str,
    timeout_s: float,
    max_diff_bytes: int,
    max_commits: int,
    base_env: Mapping[str, str] | None,
    git: str,
) -> GitProof:
    runner = await prepared_runner(workspace, timeout_s=timeout_s, base_env=base_env, git=git)
    try:
        await runner.run("cat-file", "-e", f"{base}^{{commit}}")
    except GitCallError as exc:
        if exc.exit_code is None:
            raise
        return GitProof(git=False, reason=f"base commit {base} is not in the repository", base=base)
    head_out, _ = await runner.run("rev-parse", "--verify", "HEAD^{commit}")
    head = _text(head_out).strip()
    log_out, _ = await runner.run(
        "log",
        "--no-color",
        "--format=%H%x1f%s%x1e",
        f"--max-count={max_commits + 1}",
        f"{base}..{head}",
        "--",
    )
    newest_first = parse_log(log_out)
    commits_truncated = len(newest_first) > max_commits
    commits = tuple(reversed(newest_first[:max_commits]))

    diff_opts = [
        "--no-ext-diff",
        "--no-textconv",
        "--no-color",
        "--no-relative",
        "--ignore-submodules=dirty",
    ]
    numstat, _ = await runner.run("diff", *diff_opts, "-M", "--numstat", "-z", base, "--")
    dirty_out, _ = await runner.run(
        "diff", *diff_opts, "--no-renames", "--name-only", "-z", "HEAD", "--"
    )
    untracked_out, _ = await runner.run(
        "ls-files", "--others", "--exclude-standard", "-z", "--full-name"
    )
    untracked_paths = parse_paths_z(untracked_out)
    untracked = await asyncio.to_thread(_read_untracked_all, workspace, untracked_paths)
    untracked_files = [
        ProofFile(
            u.path,
            u.lines,
            None if u.binary else 0,
            uncommitted=True,
            binary=u.binary,
            untracked=True,
        )
        for u in untracked
    ]
    files = merge_files(parse_numstat_z(numstat), set(parse_paths_z(dirty_out)), untracked_files)

    diff_out, truncated = await runner.run(
        "diff",
        *diff_opts,
        "-M",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        base,
        "--",
        max_bytes=max_diff_bytes,
        allow_truncation=True,
    )
    parts = [diff_out]
    size = len(diff_out)
    for u in untracked:
        if truncated:
            break
        piece = new_file_diff(u.path, u.head, mode=u.mode).encode("utf-8", errors="replace")
        if size + len(piece) > max_diff_bytes or not u.complete:
            parts.append(piece[: max_diff_bytes - size])
            truncated = True
            break
        parts.append(piece)
        size += len(piece)
    diff = diff_text(b"".join(parts), truncated=truncated, max_diff_bytes=max_diff_bytes)
    return GitProof(
        git=True,
        base=base,
        head=head,
        commits=commits,
        commits_truncated=commits_truncated,
        files=tuple(files),
        diff=diff,
        diff_truncated=truncated,
    )


@dataclass(frozen=True, slots=True)
class _Untracked:
    path: str
    head: bytes  # at most MAX_DIFF_BYTES: enough for the diff, which is capped anyway
    mode: str
    lines: int | None
    binary: bool
    complete: bool = True  # False when ``head`` is only the start of the file


def _read_untracked_all(workspace: Path, paths: Sequence[str]) -> list[_Untracked]:
    found = []
    for relative in paths:
        try:
            found.append(_read_untracked(workspace, relative))
        except FileNotFoundError:
            continue  # gone since git listed it
    return found


def _read_untracked(workspace: Path, relative: str) -> _Untracked:
    """One untracked entry; symlinks are read, never followed; big files counted in chunks."""
    path = workspace / relative
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        target = os.fsencode(path.readlink())
        return _Untracked(relative, target, "120000", 1, False)
    if not stat.S_ISREG(info.st_mode):
        return _Untracked(relative, b"", "100644", None, True)
    mode = "100755" if info.st_mode & 0o111 else "100644"
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        head = handle.read(MAX_DIFF_BYTES)
        lines, binary = count_text(head)
        if binary or lines is None:
            return _Untracked(relative, head, mode, None, True)
        last = head[-1:]
        newlines = head.count(b"\n")
        complete = True
        while chunk := handle.read(1024 * 1024):
            complete = False
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    total = newlines + (1 if last and last != b"\n" else 0)
    return _Untracked(relative, head, mode, total, False, complete)
