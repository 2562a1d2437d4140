"""The git proof of work of a workspace on an SSH worker host (docs/workers.md).

What ``proof.collect_git_proof`` reads locally, read on the host in one ``ssh`` call: the script
runs every git command there, writes each answer to a temporary directory of the host and then
prints them after a marker line, each announced with its size, so nothing in a file name or a
diff can be mistaken for the framing. Untracked files enter the diff through a throwaway index
(``git add --intent-to-add`` on a copy of the index, its objects in the temporary directory):
git itself then writes their new-file diff and counts, binary files included, and neither the
workspace's index nor its object store is touched.

Git runs with the same safety settings as locally (this repository only, no system or global
config, no hooks, pager, external diff or fsmonitor) except that filters are not blanked: on the
host git runs as the agent's user, so it runs nothing the agent could not (as the fingerprint,
``remote.fingerprint_script``). Every answer is bounded on the host (``head -c``), the script by
the host's ``timeout`` and the ``ssh`` client by a local timeout that kills its process group.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Mapping

from symphony.process import DEFAULT_KILL_GRACE_S, child_environment, terminate_group
from symphony.ssh import SSH_FAILED_EXIT, SshTarget, exports, local_ssh_script, unsets
from symphony.workspace.proof import (
    GIT_TIMEOUT_S,
    MAX_COMMITS,
    MAX_DIFF_BYTES,
    MAX_LISTING_BYTES,
    GitProof,
    ProofFile,
    diff_text,
    merge_files,
    parse_log,
    parse_numstat_z,
    parse_paths_z,
    read_bounded,
)
from symphony.workspace.remote import bounded_script, host_git_env

PROOF_MARKER = "@@symphony-proof@@"
# In the order the script prints them.
SECTIONS = ("head", "log", "numstat", "dirty", "untracked", "diff")
_NO_BASE_EXIT = 4
_COMMIT_ID = re.compile(r"\A[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")
_DIFF_OPTS = "--no-ext-diff --no-textconv --no-color --no-relative --ignore-submodules=dirty"


def proof_script(
    workspace: str,
    base: str,
    *,
    max_commits: int = MAX_COMMITS,
    max_diff_bytes: int = MAX_DIFF_BYTES,
    max_listing_bytes: int = MAX_LISTING_BYTES,
) -> str:
    """The host's side: every answer into ``$tmp``, then the marker, the sizes, the answers."""
    if not _COMMIT_ID.match(base):
        raise ValueError(f"not a commit id: {base!r}")
    listing = max_listing_bytes + 1  # one byte more than allowed says "too long"
    git_env = {
        **host_git_env(workspace),
        "GIT_PAGER": "cat",
        "GIT_EDITOR": "true",
        "GIT_ASKPASS": "true",
        "SSH_ASKPASS": "true",
        "GIT_NO_REPLACE_OBJECTS": "1",
        # Untracked names go to ``git add`` as they are, never as patterns.
        "GIT_LITERAL_PATHSPECS": "1",
    }
    sections = " ".join(SECTIONS)
    return (
        f"cd -- {shlex.quote(workspace)} || exit 3\n"
        '[ -d .git ] && [ ! -L .git ] || { echo "the workspace is not a git repository" >&2; '
        "exit 3; }\n"
        # Anything inherited that would change what git reads or runs.
        'for v in $(compgen -e); do case $v in GIT_*) unset "$v";; esac; done\n'
        + exports(git_env)
        + "tmp=$(mktemp -d) || exit 1\ntrap 'rm -rf -- \"$tmp\"' EXIT\n"
        + f"base={base}\n"
        + 'git cat-file -e "$base^{commit}" 2>/dev/null || '
        f'{{ echo "base commit $base is not in the repository" >&2; exit {_NO_BASE_EXIT}; }}\n'
        "set -o pipefail\n"
        'fail() { echo "git $1 failed" >&2; exit 5; }\n'
        'git rev-parse --verify "HEAD^{commit}" >"$tmp/head" || fail rev-parse\n'
        f"git log --no-color --format=%H%x1f%s%x1e --max-count={max_commits + 1} "
        '"$base..HEAD" -- >"$tmp/log" || fail log\n'
        f"git diff {_DIFF_OPTS} --no-renames --name-only -z HEAD -- "
        f'| head -c {listing} >"$tmp/dirty" || fail diff\n'
        "git ls-files --others --exclude-standard -z --full-name "
        f'| head -c {listing} >"$tmp/untracked" || fail ls-files\n'
        # The throwaway index: the real one copied, the untracked files added as intents.
        'export GIT_INDEX_FILE="$tmp/index" GIT_OBJECT_DIRECTORY="$tmp/objects"\n'
        'export GIT_ALTERNATE_OBJECT_DIRECTORIES="$PWD/.git/objects"\n'
        'mkdir "$tmp/objects" || exit 1\n'
        'if [ -f .git/index ]; then cp -- .git/index "$tmp/index" || exit 1; fi\n'
        'if [ -s "$tmp/untracked" ]; then\n'
        '  git add --intent-to-add --pathspec-from-file="$tmp/untracked" --pathspec-file-nul '
        ">/dev/null || fail add\n"
        "fi\n"
        f'git diff {_DIFF_OPTS} -M --numstat -z "$base" -- '
        f'| head -c {listing} >"$tmp/numstat" || fail diff\n'
        # The diff may be cut: head closing the pipe early is no failure of git's.
        f'git diff {_DIFF_OPTS} -M --src-prefix=a/ --dst-prefix=b/ "$base" -- '
        f'| head -c {max_diff_bytes + 1} >"$tmp/diff"\n'
        f"echo {PROOF_MARKER}\n"
        f'for part in {sections}; do printf "%s %s\\n" "$part" "$(wc -c <"$tmp/$part")"; done\n'
        f'for part in {sections}; do cat -- "$tmp/$part"; done\n'
    )


def parse_proof_output(
    out: bytes,
    base: str,
    *,
    max_commits: int = MAX_COMMITS,
    max_diff_bytes: int = MAX_DIFF_BYTES,
    max_listing_bytes: int = MAX_LISTING_BYTES,
) -> GitProof:
    """The proof from what ``proof_script`` printed (a login profile may print before it)."""
    marker = PROOF_MARKER.encode() + b"\n"
    start = out.rfind(marker)
    if start < 0:
        return GitProof(git=True, base=base, error="the host printed no proof")
    rest = out[start + len(marker) :]
    sizes: dict[str, int] = {}
    for name in SECTIONS:
        line, _, rest = rest.partition(b"\n")
        label, _, size = line.decode("ascii", "replace").partition(" ")
        if label != name or not size.strip().isdigit():
            return GitProof(git=True, base=base, error=f"the host's proof lacks {name!r}")
        sizes[name] = int(size)
    parts: dict[str, bytes] = {}
    for name in SECTIONS:
        parts[name], rest = rest[: sizes[name]], rest[sizes[name] :]
        if len(parts[name]) != sizes[name]:
            return GitProof(git=True, base=base, error="the host's proof was cut short")
    for name in ("numstat", "dirty", "untracked"):
        if len(parts[name]) > max_listing_bytes:
            return GitProof(
                git=True, base=base, error=f"git printed more than {max_listing_bytes} bytes"
            )
    head = parts["head"].decode("utf-8", "replace").strip()
    newest_first = parse_log(parts["log"])
    untracked = set(parse_paths_z(parts["untracked"]))
    dirty = set(parse_paths_z(parts["dirty"])) | untracked
    files = [
        ProofFile(
            f.path,
            f.added,
            f.removed,
            uncommitted=f.uncommitted,
            binary=f.binary,
            old_path=f.old_path,
            untracked=f.path in untracked,
        )
        for f in merge_files(parse_numstat_z(parts["numstat"]), dirty, ())
    ]
    diff_bytes = parts["diff"]
    truncated = len(diff_bytes) > max_diff_bytes
    diff = diff_text(
        diff_bytes[:max_diff_bytes], truncated=truncated, max_diff_bytes=max_diff_bytes
    )
    return GitProof(
        git=True,
        base=base,
        head=head,
        commits=tuple(reversed(newest_first[:max_commits])),
        commits_truncated=len(newest_first) > max_commits,
        files=tuple(files),
        diff=diff,
        diff_truncated=truncated,
    )


async def collect_remote_git_proof(
    target: SshTarget,
    workspace: str,
    base: str | None,
    *,
    ssh_config: str | None = None,
    strip_env: frozenset[str] = frozenset(),
    base_env: Mapping[str, str] | None = None,
    timeout_s: float = GIT_TIMEOUT_S * 2,
    kill_grace_s: float = DEFAULT_KILL_GRACE_S,
    max_diff_bytes: int = MAX_DIFF_BYTES,
) -> GitProof:
    """``collect_git_proof`` for a workspace on ``target``. Never raises (except on
    cancellation): an unreachable host or a failing git gives a proof with ``error``."""
    if base is None:
        return GitProof(git=False, reason="no base commit was recorded for this workspace")
    if not _COMMIT_ID.match(base):
        return GitProof(git=False, reason=f"base {base!r} is not a commit id", base=base)
    script = proof_script(workspace, base, max_diff_bytes=max_diff_bytes)
    remote = unsets(strip_env) + bounded_script(script, int(timeout_s * 1000))
    local = local_ssh_script(target, remote, config=ssh_config)
    # Past what the host may print: three listings, the log and the diff, each bounded there.
    limit = 3 * (MAX_LISTING_BYTES + 1) + max_diff_bytes + 1 + 1024 * 1024
    try:
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            local,
            cwd="/",
            env=child_environment(strip_env, base=base_env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return GitProof(git=True, base=base, error=f"cannot run ssh: {exc}")
    try:
        out, truncated, err = await asyncio.wait_for(read_bounded(process, limit), timeout_s)
    except TimeoutError:
        await terminate_group(process, grace_s=kill_grace_s)
        return GitProof(
            git=True,
            base=base,
            error=f"worker host {target.raw} did not answer within {timeout_s:g} s",
        )
    except BaseException:
        await terminate_group(process, grace_s=kill_grace_s)
        raise
    if truncated:
        await terminate_group(process, grace_s=kill_grace_s)
        return GitProof(git=True, base=base, error=f"the host printed more than {limit} bytes")
    detail = err.decode("utf-8", "replace").strip()[-300:]
    code = process.returncode
    if code == SSH_FAILED_EXIT:
        return GitProof(
            git=True,
            base=base,
            error=f"worker host {target.raw} is unreachable over SSH: {detail}",
        )
    if code == 3:
        return GitProof(git=False, reason="the workspace is not a git repository", base=base)
    if code == _NO_BASE_EXIT:
        return GitProof(git=False, reason=f"base commit {base} is not in the repository", base=base)
    if code != 0:
        return GitProof(git=True, base=base, error=f"git on {target.raw} exited {code}: {detail}")
    return parse_proof_output(out, base, max_diff_bytes=max_diff_bytes)
