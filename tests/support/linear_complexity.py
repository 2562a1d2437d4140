"""Linear's query complexity, scored by its published rules, so tests can hold documents to it.

Linear refuses a document whose complexity exceeds 10,000 points before running it, and caps
every connection's ``first``/``last`` at 250 (https://linear.app/developers/rate-limiting,
https://linear.app/developers/pagination). The published rules:

* each property (a scalar or enum field) is 0.1 point;
* each object is 1 point;
* a connection multiplies the points of what is selected under it by its ``first`` (or ``last``)
  argument, 50 when neither is given;
* the total is rounded up.

Where the rules leave room, this reading errs high: everything selected under a connection is
multiplied, ``pageInfo`` included, and the connection object itself adds its 1 point. A document
that passes here should therefore pass on Linear. Points are kept in tenths (integers) so the
rounding is exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
)
from graphql.type import GraphQLInterfaceType, GraphQLObjectType

COMPLEXITY_LIMIT = 10_000
MAX_PAGE_SIZE = 250
DEFAULT_PAGE_SIZE = 50
_PROPERTY = 1  # tenths of a point
_OBJECT = 10
_PAGE_ARGUMENTS = ("first", "last")


class ComplexityError(ValueError):
    """A document Linear would refuse on its size alone."""


@dataclass(frozen=True, slots=True)
class Score:
    points: int  # rounded up, as Linear reports it
    largest_page: int  # the largest first/last argument the document asks for


def score(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> Score:
    """Complexity of the operation to be run; raises ``ComplexityError`` for a bad page size."""
    walker = _Walker(schema, document, variables or {})
    operation = _operation(document, operation_name)
    root = (
        schema.mutation_type
        if operation.operation.value == "mutation"
        else schema.subscription_type
        if operation.operation.value == "subscription"
        else schema.query_type
    )
    if root is None:
        raise ComplexityError(f"the schema has no {operation.operation.value} type")
    tenths = walker.selection_set(operation.selection_set, root)
    return Score(points=-(-tenths // 10), largest_page=walker.largest_page)


class _Walker:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any]
    ) -> None:
        self._schema = schema
        self._variables = variables
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.largest_page = 0

    def selection_set(self, selections: SelectionSetNode | None, parent: Any) -> int:
        if selections is None:
            return 0
        total = 0
        for selection in selections.selections or ():
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                target = (
                    self._schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition is not None
                    else parent
                )
                total += self.selection_set(selection.selection_set, target)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self._fragments[selection.name.value]
                target = self._schema.get_type(fragment.type_condition.name.value)
                total += self.selection_set(fragment.selection_set, target)
        return total

    def _field(self, node: FieldNode, parent: Any) -> int:
        name = node.name.value
        if name.startswith("__"):
            return _PROPERTY
        definition = _field_definition(parent, name)
        if definition is None:
            return _PROPERTY  # validation reports unknown fields; nothing to score
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return _PROPERTY
        children = self.selection_set(node.selection_set, named)
        if not any(arg in definition.args for arg in _PAGE_ARGUMENTS):
            return _OBJECT + children
        size = self._page_size(node)
        return _OBJECT + size * children

    def _page_size(self, node: FieldNode) -> int:
        size: int | None = None
        for argument in node.arguments or ():
            if argument.name.value not in _PAGE_ARGUMENTS:
                continue
            value = self._value(argument.value)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                raise ComplexityError(f"{argument.name.value} must be an integer, got {value!r}")
            if value < 0 or value > MAX_PAGE_SIZE:
                raise ComplexityError(
                    f"{node.name.value}({argument.name.value}: {value}) is outside 0..."
                    f"{MAX_PAGE_SIZE}, the most Linear returns in one page"
                )
            size = value if size is None else max(size, value)
        size = DEFAULT_PAGE_SIZE if size is None else size
        self.largest_page = max(self.largest_page, size)
        return size

    def _value(self, value: Any) -> Any:
        if isinstance(value, VariableNode):
            return self._variables.get(value.name.value)
        if isinstance(value, IntValueNode):
            return int(value.value)
        return getattr(value, "value", None)


def _field_definition(parent: Any, name: str) -> GraphQLField | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    return None


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for operation in operations:
        if name is None or (operation.name is not None and operation.name.value == name):
            return operation
    raise ComplexityError(f"no operation named {name!r}" if name else "no operation")
