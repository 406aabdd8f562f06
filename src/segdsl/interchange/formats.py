"""The two JSON rule formats, segdsl-json and react-querybuilder: their operators, the
keys their objects may hold, and how to tell which one a document is written in."""

from __future__ import annotations

from segdsl.interchange.jsonread import JNode

FORMATS = ("segdsl", "rqb")

#: What JavaScript's ``String.prototype.trim`` removes (RQB trims list items with it).
JS_SPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)

#: segdsl-json operator → (shape, argument, negated).
SEGDSL_OPERATORS: dict[str, tuple[str, str, bool]] = {
    "eq": ("compare", "=", False), "neq": ("compare", "!=", False),
    "lt": ("compare", "<", False), "lte": ("compare", "<=", False),
    "gt": ("compare", ">", False), "gte": ("compare", ">=", False),
    "in": ("list", "", False), "nin": ("list", "", True),
    "between": ("range", "", False), "notBetween": ("range", "", True),
    "isNull": ("null", "", False), "isNotNull": ("null", "", True),
    "isTrue": ("truthy", "", False),
    "contains": ("text", "contains", False), "startsWith": ("text", "starts with", False),
    "endsWith": ("text", "ends with", False),
    "has": ("tag", "has", False), "hasAny": ("tag", "has any", False), "hasAll": ("tag", "has all", False),
    "within": ("time", "within", False), "before": ("time", "before", False), "after": ("time", "after", False),
    "inSegment": ("segment", "", False), "notInSegment": ("segment", "", True),
}

#: react-querybuilder's default operators → (shape, argument, negated).
RQB_OPERATORS: dict[str, tuple[str, str, bool]] = {
    "=": ("compare", "=", False), "!=": ("compare", "!=", False),
    "<": ("compare", "<", False), "<=": ("compare", "<=", False),
    ">": ("compare", ">", False), ">=": ("compare", ">=", False),
    "contains": ("text", "contains", False), "beginsWith": ("text", "starts with", False),
    "endsWith": ("text", "ends with", False),
    "doesNotContain": ("text", "contains", True), "doesNotBeginWith": ("text", "starts with", True),
    "doesNotEndWith": ("text", "ends with", True),
    "null": ("null", "", False), "notNull": ("null", "", True),
    "in": ("list", "", False), "notIn": ("list", "", True),
    "between": ("range", "", False), "notBetween": ("range", "", True),
}

SEGMENT_KEYS = ("id", "name", "title", "description", "refresh", "type", "rules", "combinator", "not", "members")
GROUP_KEYS = {"segdsl": ("combinator", "rules", "not"),
               "rqb": ("combinator", "rules", "not", "id", "path", "disabled", "muted")}
RULE_KEYS = {"segdsl": ("field", "operator", "value", "ignoreCase", "daysSince", "valueSource"),
              "rqb": ("field", "operator", "value", "id", "path", "disabled", "muted", "valueSource", "match")}
SEGMENT_TYPES = ("dynamic", "static", "smart")
FORMAT_NAMES = {"segdsl": "segdsl-json", "rqb": "react-querybuilder"}


def detect_format(root: JNode) -> str:
    """``segdsl`` for a list, an object with segment keys, or segdsl-json operators
    (or the seed's upper-case combinators); ``rqb`` otherwise."""
    if root.kind != "object":
        return "segdsl"
    if any(k in root.value for k in ("name", "title", "description", "refresh", "type", "members")):
        return "segdsl"
    upper = False
    todo, seen = [root], 0
    while todo and seen < 10_000:
        node = todo.pop()
        seen += 1
        if node.kind == "array":
            todo.extend(node.value)
            continue
        if node.kind != "object":
            continue
        op = node.value.get("operator")
        if op is not None and op.kind == "string":
            if op.value in SEGDSL_OPERATORS and op.value not in RQB_OPERATORS:
                return "segdsl"
            if op.value in RQB_OPERATORS and op.value not in SEGDSL_OPERATORS:
                return "rqb"
        comb = node.value.get("combinator")
        upper = upper or (comb is not None and comb.kind == "string" and comb.value in ("AND", "OR"))
        if "rules" in node.value:
            todo.append(node.value["rules"])
    return "segdsl" if upper else "rqb"
