"""GraphQL views over ``LinearData``: attribute names are Linear schema field names.

The root object answers the queries and mutations an agent workflow uses (issue lookup, team
states, comments, state moves, link attachments) plus the adapter's reads; anything else fails
with a "does not model" GraphQL error.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from tests.support.fake_linear_data import (
    Attachment,
    Comment,
    IssueRecord,
    Label,
    LinearData,
    Project,
    Relation,
    State,
    Team,
    User,
    compare,
    connection,
    filter_objects,
    iso,
    lazy_connection,
    matcher,
    new_id,
    user_error,
)

_PRIORITY_LABELS = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}


class UserView:
    def __init__(self, data: LinearData, user: User) -> None:
        self.id = user.id
        self.name = user.name
        self.displayName = user.name.split()[0].lower()
        self.email = user.email
        self.active = True
        self.isMe = user.id == data.viewer_id
        self.url = f"https://linear.app/fake/profiles/{self.displayName}"


class TeamView:
    def __init__(self, data: LinearData, team: Team) -> None:
        self._data = data
        self.id = team.id
        self.key = team.key
        self.name = team.name
        self.displayName = team.name

    def states(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        states = [s for s in self._data.states.values() if s.team_id == self.id]
        states = _filter_states(self._data, states, args.get("filter"))
        return connection([StateView(self._data, s) for s in states], args)


class StateView:
    def __init__(self, data: LinearData, state: State) -> None:
        self._data = data
        self._team_id = state.team_id
        self.id = state.id
        self.name = state.name
        self.type = state.type
        self.position = state.position
        self.color = "#95a2b3"
        self.description = None
        self.archivedAt = None

    @property
    def team(self) -> TeamView:
        return TeamView(self._data, self._data.teams[self._team_id])


class LabelView:
    def __init__(self, label: Label) -> None:
        self.id = label.id
        self.name = label.name
        self.color = label.color
        self.description = None
        self.isGroup = False


class ProjectView:
    def __init__(self, project: Project, data: LinearData) -> None:
        self._data = data
        self.id = project.id
        self.name = project.name
        self.slugId = project.slug_id
        self.url = f"https://linear.app/fake/project/{project.slug_id}"

    def teams(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        # The fake workspace's projects belong to every team it has (usually one).
        teams = list(self._data.teams.values())
        return connection([TeamView(self._data, t) for t in teams], args)


class RelationView:
    def __init__(self, data: LinearData, relation: Relation) -> None:
        self._data = data
        self._relation = relation
        self.id = relation.id
        self.type = relation.type
        self.archivedAt = None

    # Resolved only when asked for: a page of a big board holds thousands of relations.
    @property
    def issue(self) -> IssueView:
        return IssueView(self._data, self._data.issues[self._relation.issue_id])

    @property
    def relatedIssue(self) -> IssueView:
        return IssueView(self._data, self._data.issues[self._relation.related_issue_id])

    @property
    def createdAt(self) -> str | None:
        return iso(self._relation.created_at)

    @property
    def updatedAt(self) -> str | None:
        return iso(self._relation.created_at)


class CommentView:
    def __init__(self, data: LinearData, comment: Comment) -> None:
        self._data = data
        self._comment = comment
        self.id = comment.id
        self.body = comment.body
        self.createdAt = iso(comment.created_at)
        self.updatedAt = iso(comment.updated_at)
        self.editedAt = iso(comment.edited_at)
        self.archivedAt = None
        self.url = f"https://linear.app/fake/comment/{comment.id}"

    @property
    def issue(self) -> IssueView:
        return IssueView(self._data, self._data.issues[self._comment.issue_id])

    @property
    def user(self) -> UserView:
        return UserView(self._data, self._data.users[self._comment.user_id])


class AttachmentView:
    def __init__(self, data: LinearData, attachment: Attachment) -> None:
        self._data = data
        self._issue_id = attachment.issue_id
        self.id = attachment.id
        self.url = attachment.url
        self.title = attachment.title
        self.subtitle = None
        self.sourceType = attachment.source_type
        self.metadata: dict[str, Any] = {}
        self.createdAt = iso(attachment.created_at)
        self.updatedAt = iso(attachment.created_at)

    @property
    def issue(self) -> IssueView:
        return IssueView(self._data, self._data.issues[self._issue_id])


class IssueView:
    def __init__(self, data: LinearData, issue: IssueRecord) -> None:
        self._data = data
        self._issue = issue
        self.id = issue.id
        self.identifier = issue.identifier
        self.title = issue.title
        self.description = issue.description
        self.priority = issue.priority
        self.branchName = issue.branch_name
        self.archivedAt = None

    # Computed only when asked for: pages of big boards build thousands of these.
    @property
    def number(self) -> float:
        return float(self._issue.number)

    @property
    def priorityLabel(self) -> str:
        return _PRIORITY_LABELS.get(int(self._issue.priority), "No priority")

    @property
    def url(self) -> str:
        return f"https://linear.app/fake/issue/{self._issue.identifier}"

    @property
    def createdAt(self) -> str | None:
        return iso(self._issue.created_at)

    @property
    def updatedAt(self) -> str | None:
        return iso(self._issue.updated_at)

    @property
    def state(self) -> StateView:
        return StateView(self._data, self._data.states[self._issue.state_id])

    @property
    def team(self) -> TeamView:
        return TeamView(self._data, self._data.teams[self._issue.team_id])

    @property
    def project(self) -> ProjectView | None:
        pid = self._issue.project_id
        return ProjectView(self._data.projects[pid], self._data) if pid else None

    @property
    def assignee(self) -> UserView | None:
        uid = self._issue.assignee_id
        return UserView(self._data, self._data.users[uid]) if uid else None

    def labels(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        labels = [self._data.labels[i] for i in self._issue.label_ids]
        return connection([LabelView(label) for label in labels], args)

    def inverseRelations(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        rels = self._data.relations_into(self.id)
        return connection([RelationView(self._data, r) for r in rels], args)

    def relations(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        rels = [r for r in self._data.relations.values() if r.issue_id == self.id]
        return connection([RelationView(self._data, r) for r in rels], args)

    def comments(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        if args.get("filter"):
            raise user_error("fake Linear does not model comment filters")
        found = [c for c in self._data.comments.values() if c.issue_id == self.id]
        return connection([CommentView(self._data, c) for c in found], args)

    def attachments(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        found = [a for a in self._data.attachments.values() if a.issue_id == self.id]
        return connection([AttachmentView(self._data, a) for a in found], args)


def _filter_states(data: LinearData, states: list[State], spec: Any) -> list[State]:
    return filter_objects(
        states,
        spec,
        {
            "id": lambda s, c: compare(s.id, c, "WorkflowStateFilter.id"),
            "name": lambda s, c: compare(s.name, c, "WorkflowStateFilter.name"),
            "type": lambda s, c: compare(s.type, c, "WorkflowStateFilter.type"),
            "team": lambda s, c: _match_team(data, s.team_id, c),
        },
        "WorkflowStateFilter",
    )


class Root:
    """``Query`` and ``Mutation`` fields (graphql-core uses one root value for both)."""

    def __init__(self, data: LinearData) -> None:
        self._data = data

    # -- queries ----------------------------------------------------------------------------

    @property
    def viewer(self) -> UserView:
        return UserView(self._data, self._data.users[self._data.viewer_id])

    def issue(self, info: GraphQLResolveInfo, id: str) -> IssueView:
        return IssueView(self._data, self._data.issue_or_error(id))

    def issues(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        if args.get("orderBy") is not None or args.get("sort") is not None:
            raise user_error("fake Linear does not model issue ordering")
        data = self._data
        matches = matcher(
            args.get("filter"),
            {
                "id": lambda i, c: compare(i.id, c, "IssueFilter.id"),
                "title": lambda i, c: compare(i.title, c, "IssueFilter.title"),
                "priority": lambda i, c: compare(i.priority, c, "IssueFilter.priority"),
                "number": lambda i, c: compare(float(i.number), c, "IssueFilter.number"),
                "state": lambda i, c: bool(_filter_states(data, [data.states[i.state_id]], c)),
                "team": lambda i, c: _match_team(data, i.team_id, c),
                "project": lambda i, c: _match_project(data, i.project_id, c),
                "assignee": lambda i, c: _match_assignee(data, i.assignee_id, c),
            },
            "IssueFilter",
        )
        # Paged lazily over the workspace's issues, oldest first: the adapter walks boards of
        # tens of thousands of issues through here.
        return lazy_connection(
            list(data.issues),
            data.issues.get,
            matches,
            lambda issue: IssueView(data, issue),
            args,
        )

    def projects(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        found = filter_objects(
            self._data.projects.values(),
            args.get("filter"),
            {
                "id": lambda p, c: compare(p.id, c, "ProjectFilter.id"),
                "slugId": lambda p, c: compare(p.slug_id, c, "ProjectFilter.slugId"),
            },
            "ProjectFilter",
        )
        return connection([ProjectView(p, self._data) for p in found], args)

    def team(self, info: GraphQLResolveInfo, id: str) -> TeamView:
        team = self._data.teams.get(id) or next(
            (t for t in self._data.teams.values() if t.key == id), None
        )
        if team is None:
            raise user_error("Entity not found: Team")
        return TeamView(self._data, team)

    def teams(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        return connection([TeamView(self._data, t) for t in self._data.teams.values()], args)

    def workflowStates(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        states = _filter_states(self._data, list(self._data.states.values()), args.get("filter"))
        return connection([StateView(self._data, s) for s in states], args)

    def issueLabels(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        if args.get("filter"):
            raise user_error("fake Linear does not model issue label filters")
        return connection([LabelView(label) for label in self._data.labels.values()], args)

    def comment(self, info: GraphQLResolveInfo, **args: Any) -> CommentView:
        found = self._data.comments.get(args.get("id") or "")
        if found is None:
            raise user_error("Entity not found: Comment")
        return CommentView(self._data, found)

    # -- mutations --------------------------------------------------------------------------

    def issueUpdate(
        self,
        info: GraphQLResolveInfo,
        id: str,
        input: dict[str, Any],
    ) -> dict[str, Any]:
        data = self._data
        issue = data.issue_or_error(id)
        for key, value in input.items():
            if key == "stateId":
                state = data.states.get(value)
                if state is None or state.team_id != issue.team_id:
                    raise user_error("Entity not found: WorkflowState")
                issue.state_id = state.id
            elif key == "title":
                issue.title = value
            elif key == "description":
                issue.description = value
            elif key == "priority":
                issue.priority = float(value)
            elif key == "assigneeId":
                if value is not None and value not in data.users:
                    raise user_error("Entity not found: User")
                issue.assignee_id = value
            elif key == "labelIds":
                issue.label_ids = list(dict.fromkeys(value))
            elif key == "addedLabelIds":
                issue.label_ids = list(dict.fromkeys([*issue.label_ids, *value]))
            elif key == "removedLabelIds":
                issue.label_ids = [i for i in issue.label_ids if i not in value]
            else:
                raise user_error(f"fake Linear does not model IssueUpdateInput.{key}")
        data.touch(issue)
        return self._payload(issue=IssueView(data, issue))

    def commentCreate(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        data = self._data
        unknown = set(input) - {"issueId", "body", "id"}
        if unknown:
            raise user_error(f"fake Linear does not model CommentCreateInput.{sorted(unknown)[0]}")
        if not input.get("issueId") or not input.get("body"):
            raise user_error("commentCreate needs issueId and body in this fake")
        issue = data.issue_or_error(input["issueId"])
        now = data.clock()
        comment = Comment(
            id=input.get("id") or new_id(),
            issue_id=issue.id,
            body=input["body"],
            user_id=data.viewer_id,
            created_at=now,
            updated_at=now,
        )
        data.comments[comment.id] = comment
        data.touch(issue)
        return self._payload(comment=CommentView(data, comment))

    def commentUpdate(
        self,
        info: GraphQLResolveInfo,
        id: str,
        input: dict[str, Any],
        **_: Any,
    ) -> dict[str, Any]:
        data = self._data
        comment = data.comments.get(id)
        if comment is None:
            raise user_error("Entity not found: Comment")
        unknown = set(input) - {"body"}
        if unknown:
            raise user_error(f"fake Linear does not model CommentUpdateInput.{sorted(unknown)[0]}")
        if "body" in input:
            comment.body = input["body"]
            comment.updated_at = comment.edited_at = data.clock()
        return self._payload(comment=CommentView(data, comment))

    def attachmentLinkURL(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        return self._attach(args, "url")

    def attachmentLinkGitHubPR(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        return self._attach(args, "githubPr")

    def _attach(self, args: dict[str, Any], source_type: str) -> dict[str, Any]:
        data = self._data
        issue = data.issue_or_error(args["issueId"])
        attachment = Attachment(
            id=args.get("id") or new_id(),
            issue_id=issue.id,
            url=args["url"],
            title=args.get("title") or args["url"],
            source_type=source_type,
            created_at=data.clock(),
        )
        data.attachments[attachment.id] = attachment
        return self._payload(attachment=AttachmentView(data, attachment))

    def _payload(self, **entity: Any) -> dict[str, Any]:
        return {"success": True, "lastSyncId": float(next(self._data.sync_id)), **entity}


def _match_team(data: LinearData, team_id: str, spec: Any) -> bool:
    if not isinstance(spec, dict) or set(spec) - {"id", "key"}:
        raise user_error("fake Linear models only team.id and team.key filters")
    team = data.teams[team_id]
    return all(compare(team.id if k == "id" else team.key, c, f"team.{k}") for k, c in spec.items())


def _match_project(data: LinearData, project_id: str | None, spec: Any) -> bool:
    if not isinstance(spec, dict) or set(spec) - {"id", "slugId", "null"}:
        raise user_error("fake Linear models only project.id, project.slugId and project.null")
    project = data.projects.get(project_id) if project_id else None
    for key, comparator in spec.items():
        if key == "null":
            if (project is None) != bool(comparator):
                return False
            continue
        if project is None:
            return False
        value = project.id if key == "id" else project.slug_id
        if not compare(value, comparator, f"project.{key}"):
            return False
    return True


def _match_assignee(data: LinearData, user_id: str | None, spec: Any) -> bool:
    if not isinstance(spec, dict) or set(spec) - {"id", "isMe", "null"}:
        raise user_error("fake Linear models only assignee.id, assignee.isMe and assignee.null")
    for key, comparator in spec.items():
        if key == "null":
            ok = (user_id is None) == bool(comparator)
        elif user_id is None:
            ok = False
        elif key == "isMe":
            ok = compare(user_id == data.viewer_id, comparator, "assignee.isMe")
        else:
            ok = compare(user_id, comparator, "assignee.id")
        if not ok:
            return False
    return True
