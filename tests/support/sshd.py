"""Real OpenSSH worker hosts for tests: one ``/usr/sbin/sshd -D -e`` per host on 127.0.0.1.

Each host has its own generated host key, port and ``HOME`` (``SetEnv HOME=…`` in its
sshd_config, so ``~/workspaces`` differs per host although both are this machine). One client key
and one ``ssh_config`` (``Host worker-a`` → 127.0.0.1, its port, the key, a known_hosts file with
the host key, ``StrictHostKeyChecking yes``) serve every host; tests pass the file through
``SYMPHONY_SSH_CONFIG``.

A host can be killed (its listener and every per-connection sshd and what runs under them, like
a machine that died: connections are reset) or frozen (SIGSTOP: connections stay open and
silent, only SSH keep-alive notices), and brought back for the next test.

sshd must run as root here (``PermitRootLogin prohibit-password``, ``UsePAM no``,
``StrictModes no``); without root or without ``/usr/sbin/sshd`` the tests that need it skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.waiting import wait_until_sync

SSHD = Path("/usr/sbin/sshd")
START_TIMEOUT_S = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            return sock.recv(4).startswith(b"SSH")
    except OSError:
        return False


def _children() -> dict[int, list[int]]:
    table: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(text[text.rindex(")") + 2 :].split()[1])
        table.setdefault(parent, []).append(int(entry.name))
    return table


def descendants(pid: int) -> list[int]:
    table = _children()
    found: list[int] = []
    todo = list(table.get(pid, ()))
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(table.get(current, ()))
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@dataclass
class SshHost:
    """One worker host: ``name`` is its ``Host`` alias in the shared ssh_config."""

    name: str
    directory: Path
    port: int
    home: Path
    process: subprocess.Popen[bytes] | None = None
    frozen: list[int] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.directory / "sshd_config"

    def start(self) -> None:
        log = (self.directory / "sshd.log").open("ab")
        self.process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        wait_until_sync(
            lambda: _accepts(self.port), f"sshd {self.name} up", timeout=START_TIMEOUT_S
        )

    def sshd_pids(self) -> list[int]:
        """The listener and every sshd process under it (one or two per connection)."""
        if self.process is None or self.process.poll() is not None:
            return []
        return [self.process.pid] + [
            p for p in descendants(self.process.pid) if _comm(p).startswith("sshd")
        ]

    def kill(self) -> None:
        """The host dies: its sshd processes and everything running under them."""
        if self.process is None:
            return
        self.resume()
        victims = [self.process.pid, *descendants(self.process.pid)]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def freeze(self) -> None:
        """The host hangs: its sshd processes stop, connections stay open and silent."""
        self.frozen = self.sshd_pids()
        for pid in self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.frozen = []

    def ensure_up(self) -> None:
        self.resume()
        if self.process is None or self.process.poll() is not None:
            self.start()

    def reset_home(self) -> None:
        """A clean home for the next test (profile kept)."""
        for entry in self.home.iterdir():
            if entry.name in (".bash_profile", "bin"):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def write_profile(self, text: str) -> None:
        """``~/.bash_profile`` of the host (read by the remote ``bash -lc``)."""
        (self.home / ".bash_profile").write_text(text)


@dataclass
class SshCluster:
    hosts: dict[str, SshHost]
    ssh_config: Path

    def __getitem__(self, name: str) -> SshHost:
        return self.hosts[name]

    def ensure_up(self) -> None:
        for host in self.hosts.values():
            host.ensure_up()
            host.reset_home()
            host.write_profile("")

    def stop(self) -> None:
        for host in self.hosts.values():
            if host.process is not None:
                host.resume()
                host.process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    host.process.wait(timeout=5)
                if host.process.poll() is None:
                    host.kill()


def _keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return path.with_suffix(".pub").read_text().strip()


def available() -> str | None:
    """Why real sshd hosts cannot run here, or None."""
    if not SSHD.exists():
        return f"{SSHD} is not installed (scripts/setup installs openssh-server)"
    if os.geteuid() != 0:
        return "sshd test hosts need root"
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        return "the ssh client is not installed"
    return None


def start_cluster(base: Path, names: tuple[str, ...] = ("worker-a", "worker-b")) -> SshCluster:
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    base.mkdir(parents=True, exist_ok=True)
    client_public = _keygen(base / "client_key")
    authorized = base / "authorized_keys"
    authorized.write_text(client_public + "\n")
    authorized.chmod(0o600)
    known: list[str] = []
    client: list[str] = []
    hosts: dict[str, SshHost] = {}
    for name in names:
        directory = base / name
        directory.mkdir()
        home = base / f"home-{name}"
        home.mkdir()
        port = _free_port()
        host_public = _keygen(directory / "host_key")
        known.append(f"{name} {' '.join(host_public.split()[:2])}")
        (directory / "sshd_config").write_text(
            f"Port {port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {directory / 'host_key'}\n"
            f"PidFile {directory / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {authorized}\n"
            "PermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "StrictModes no\n"
            "PrintMotd no\n"
            "MaxStartups 100\n"
            "MaxSessions 100\n"
            "LogLevel ERROR\n"
            f"SetEnv HOME={home}\n"
        )
        client.append(
            f"Host {name}\n"
            "  HostName 127.0.0.1\n"
            f"  Port {port}\n"
            "  User root\n"
            f"  IdentityFile {base / 'client_key'}\n"
            "  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {base / 'known_hosts'}\n"
            f"  HostKeyAlias {name}\n"
            "  StrictHostKeyChecking yes\n"
            "  BatchMode yes\n"
            "  LogLevel ERROR\n"
        )
        hosts[name] = SshHost(name=name, directory=directory, port=port, home=home)
    (base / "known_hosts").write_text("\n".join(known) + "\n")
    ssh_config = base / "ssh_config"
    ssh_config.write_text("\n".join(client))
    cluster = SshCluster(hosts, ssh_config)
    try:
        for host in hosts.values():
            host.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="session")
def ssh_cluster_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshCluster]:
    reason = available()
    if reason is not None:
        pytest.skip(reason)
    cluster = start_cluster(tmp_path_factory.mktemp("sshd"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def ssh_cluster(
    ssh_cluster_session: SshCluster, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SshCluster]:
    """Both hosts up with clean homes; ``SYMPHONY_SSH_CONFIG`` points at their ssh_config."""
    ssh_cluster_session.ensure_up()
    monkeypatch.setenv("SYMPHONY_SSH_CONFIG", str(ssh_cluster_session.ssh_config))
    yield ssh_cluster_session
    for host in ssh_cluster_session.hosts.values():
        host.resume()
