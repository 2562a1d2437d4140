"""Human-readable output of ``symphony board`` (rich tables); ``--json`` bypasses all of this."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich import box
from rich.console import Console, Group
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from symphony.timefmt import format_timestamp
from symphony.trackers.local.normalize import is_dispatchable
from symphony.trackers.local.records import IssueDetail, IssueRecord
from symphony.trackers.local.settings import BoardSettings

PRIORITY_NAMES = {1: "urgent", 2: "high", 3: "normal", 4: "low"}


def _when(value: datetime | None) -> str:
    text = format_timestamp(value)
    return text[:19].replace("T", " ") if text else "-"


def _state_style(state: str, settings: BoardSettings) -> str:
    if settings.is_terminal(state):
        return "dim"
    if settings.is_active(state):
        return "bold green"
    return "cyan"


def issue_table(records: Sequence[IssueRecord], settings: BoardSettings) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("ID", no_wrap=True)
    table.add_column("State", no_wrap=True)
    table.add_column("Pri", no_wrap=True)
    table.add_column("Title", overflow="fold")
    table.add_column("Labels", overflow="fold")
    table.add_column("Blocked by", overflow="fold")
    for record in records:
        blockers = ", ".join(b.identifier or "?" for b in record.blocked_by)
        if blockers and not is_dispatchable(record, settings):
            blockers = f"[yellow]{escape(blockers)}[/]"
        else:
            blockers = escape(blockers)
        table.add_row(
            f"[bold]{escape(record.identifier)}[/]",
            f"[{_state_style(record.state, settings)}]{escape(record.state)}[/]",
            PRIORITY_NAMES.get(record.priority or 0, "-"),
            escape(record.title),
            escape(", ".join(record.labels)),
            blockers,
        )
    return table


def print_list(console: Console, records: Sequence[IssueRecord], settings: BoardSettings) -> None:
    if not records:
        console.print('No issues to show. Add one with: symphony board add "Title"')
        return
    console.print(issue_table(records, settings))


def print_detail(console: Console, detail: IssueDetail, settings: BoardSettings) -> None:
    issue = detail.issue
    console.print(Text.assemble((issue.identifier, "bold"), "  ", issue.title))
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim", no_wrap=True)
    facts.add_column(overflow="fold")
    state = f"[{_state_style(issue.state, settings)}]{escape(issue.state)}[/]"
    if settings.is_active(issue.state) and not is_dispatchable(issue, settings):
        state += " [yellow](waiting: not dispatchable)[/]"
    url = settings.url_for(identifier=issue.identifier, id=issue.id, number=issue.number)
    rows: list[tuple[str, str]] = [
        ("state", state),
        ("priority", PRIORITY_NAMES.get(issue.priority or 0, "none")),
        ("labels", escape(", ".join(issue.labels)) or "-"),
        ("blocked by", _refs(detail.issue.blocked_by)),
        ("blocks", _refs(detail.blocks)),
        ("assignee", escape(issue.assignee_id or "-")),
        ("branch", escape(issue.branch_name or "-")),
        ("url", escape(url or "-")),
        ("id", issue.id),
        ("created", f"{_when(issue.created_at)} by {escape(issue.created_by or '?')}"),
        ("updated", _when(issue.updated_at)),
    ]
    for name, value in rows:
        facts.add_row(name, value)
    console.print(Padding(facts, (1, 0, 1, 2), expand=False))
    console.print("[bold]Description[/]")
    console.print(Padding(Text(issue.description or "(none)"), (0, 0, 1, 2), expand=False))
    console.print(f"[bold]Comments[/] ({len(detail.comments)})")
    if not detail.comments:
        console.print(Padding("(none)", (0, 0, 1, 2), expand=False))
    for comment in detail.comments:
        tag = " [magenta]workpad[/]" if comment.is_workpad else ""
        header = Text.from_markup(
            f"[dim]#{comment.id} {escape(comment.author)} · {_when(comment.updated_at)}[/]{tag}"
        )
        console.print(Padding(Group(header, Text(comment.body)), (0, 0, 1, 2), expand=False))
    console.print("[bold]History[/]")
    for change in detail.history:
        start = escape(change.from_state) if change.from_state else "created in"
        console.print(
            f"  [dim]{_when(change.at)}[/]  {start} → {escape(change.to_state)}"
            f"  [dim]({escape(change.actor)})[/]"
        )


def _refs(refs: Sequence[object]) -> str:
    parts = []
    for ref in refs:
        identifier = getattr(ref, "identifier", None) or "?"
        state = getattr(ref, "state", None) or "?"
        parts.append(f"{escape(identifier)} ({escape(state)})")
    return ", ".join(parts) or "-"


def print_states(console: Console, settings: BoardSettings) -> None:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("State", no_wrap=True)
    table.add_column("Role")
    for state in settings.states:
        roles = []
        if settings.is_active(state):
            roles.append("active (agents work on it)")
        if settings.is_terminal(state):
            roles.append("terminal (workspace cleaned up)")
        if state == settings.default_state:
            roles.append("default for `add`")
        table.add_row(
            f"[{_state_style(state, settings)}]{escape(state)}[/]", escape(", ".join(roles))
        )
    console.print(table)
