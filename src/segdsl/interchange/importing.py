"""segdsl-json and react-querybuilder objects → AST: segments, groups and rules, each
node remembered with the JSON node it came from."""

from __future__ import annotations

from segdsl.syntax import ast
from segdsl.interchange.formats import (
    FORMAT_NAMES,
    GROUP_KEYS,
    RQB_OPERATORS,
    RULE_KEYS,
    SEGDSL_OPERATORS,
    SEGMENT_KEYS,
    SEGMENT_TYPES,
)
from segdsl.interchange.jsonread import JNode
from segdsl.interchange.names import identifier_for, json_field_name, quoted, snake_case
from segdsl.interchange.values import ValueReader, describe_json, json_path
from segdsl.ir import CADENCES
from segdsl.syntax.keywords import NAME, is_name
from segdsl.syntax.parser import MAX_DEPTH
from segdsl.schema.model import Field
from segdsl.check.suggest import closest, did_you_mean, one_of

_SKIP = object()  # a disabled react-querybuilder rule: not part of the query


class ImportReader(ValueReader):
    """JSON values → AST nodes, remembering which JSON node each AST node came from."""

    # ------------------------------------------------------------------ segments

    def document(self, root: JNode, stem: str, name: str | None) -> list[ast.SegmentDef]:
        if name is not None and not is_name(name):
            self.err("E0513", f"{quoted(name)} is not a segment identifier", None, "",
                     help="an identifier is letters, digits and `_`, not starting with a digit, and not a keyword")
            return []
        if self.fmt == "rqb":
            if not self.expect(root, "object", "", "a react-querybuilder query object"):
                return []
            ident = name or identifier_for(stem) or "imported"
            where = self.group(root, "")
            if where is None or where is _SKIP:
                if where is _SKIP:
                    self.err("E0511", "the whole query is disabled, so it has no rule", root, "")
                return []
            seg = ast.SegmentDef("dynamic", ident, None, (ast.Where(where, self.nowhere),), self.nowhere, self.nowhere)
            return [self.mark(seg, root, "")]
        if root.kind == "array":
            if not root.value:
                self.err("E0504", "the list holds no segments", root, "")
            if name is not None and len(root.value) != 1:
                self.err("E0513", f"a name was given for one segment, but the list holds {len(root.value)}",
                         root, "", help="give each segment an \"id\" in the JSON instead")
            out = [self.segment(item, f"[{i}]", name) for i, item in enumerate(root.value)]
            return [s for s in out if s is not None]
        seg = self.segment(root, "", name, stem)
        return [seg] if seg is not None else []

    def segment(self, j: JNode, jpath: str, override: str | None, stem: str | None = None) -> ast.SegmentDef | None:
        if not self.expect(j, "object", jpath, "a segment object"):
            return None
        self.keys(j, jpath, SEGMENT_KEYS, "a segment")
        v = j.value
        errors = len(self.diags)
        kind = "dynamic"
        if "type" in v:
            text = self.string(v["type"], json_path(jpath, "type"), "the segment type")
            if text is not None and text.lower() in SEGMENT_TYPES:
                kind = text.lower()
            elif text is not None:
                self.err("E0504", f"unknown segment type {quoted(text)}", v["type"], json_path(jpath, "type"),
                         help=did_you_mean(text, SEGMENT_TYPES, quote='"') or f"use one of {one_of(SEGMENT_TYPES, quote=chr(34))}")
        human = self.string(v["name"], json_path(jpath, "name"), "the segment name") if "name" in v else None
        title = self.string(v["title"], json_path(jpath, "title"), "the segment title") if "title" in v else None
        ident = None
        name_j = v.get("id") or v.get("name") or j
        if override is not None:
            ident = override
        elif "id" in v:
            ident = self.string(v["id"], json_path(jpath, "id"), "the segment identifier")
            if ident is not None and not is_name(ident):
                self.err("E0513", f"{quoted(ident)} is not a segment identifier", v["id"], json_path(jpath, "id"),
                         help=f"try {quoted(identifier_for(ident) or 'segment_1')}; an identifier is letters, "
                              "digits and `_`, not starting with a digit, and not a keyword")
                ident = None
        elif human is not None:
            ident = identifier_for(human)
            if ident is None:
                self.err("E0513", f"cannot make a segment identifier from the name {quoted(human)}", v["name"],
                         json_path(jpath, "name"), help='give one explicitly with "id"')
        elif stem is not None:
            ident = identifier_for(stem) or "imported"
        elif "name" not in v:
            self.err("E0504", 'a segment in a list needs a "name" or an "id"', j, jpath)
        if title is None and human is not None and (override is not None or "id" in v or human != ident):
            title = human
        clauses: list[ast.Clause] = []
        if "description" in v:
            text = self.string(v["description"], json_path(jpath, "description"), "the description")
            if text is not None:
                lit = self.mark(ast.StringLit(text, self.nowhere), v["description"], json_path(jpath, "description"))
                clause = ast.Description(lit, self.nowhere)
                clauses.append(self.mark(clause, v["description"], json_path(jpath, "description")))
        if "refresh" in v:
            text = self.string(v["refresh"], json_path(jpath, "refresh"), "the refresh cadence")
            if text is not None and text.lower() in CADENCES:
                clauses.append(self.mark(ast.Refresh(text.lower(), self.nowhere, self.nowhere), v["refresh"],
                                         json_path(jpath, "refresh")))
            elif text is not None:
                self.err("E0504", f"unknown refresh cadence {quoted(text)}", v["refresh"], json_path(jpath, "refresh"),
                         help=did_you_mean(text, CADENCES, quote='"')
                         or f"use one of {one_of(CADENCES, quote=chr(34))}")
        if kind == "static":
            for key in ("rules", "combinator", "not"):
                if key in v:
                    self.err("E0504", f'a static segment lists its "members"; it has no "{key}"', v[key],
                             json_path(jpath, key), help='drop "type": "static" to make it a rule-based segment')
            if "members" not in v:
                self.err("E0504", 'a static segment needs "members", a list of member keys', j, jpath)
            else:
                members = self.members(v["members"], json_path(jpath, "members"))
                if members is not None:
                    clauses.append(self.mark(ast.Members(members, self.nowhere), v["members"], json_path(jpath, "members")))
        else:
            if "members" in v:
                self.err("E0504", f'only a static segment has "members"; this one is {kind}', v["members"],
                         json_path(jpath, "members"), help='add "type": "static", or remove "members"')
            if "rules" not in v:
                self.err("E0504", f'a {kind} segment needs "rules"', j, jpath)
            else:
                where = self.group(j, jpath, top=True)
                if where is _SKIP:  # pragma: no cover - segdsl-json has no disabled rules
                    where = None
                if where is not None:
                    clauses.append(self.mark(ast.Where(where, self.nowhere), v["rules"], json_path(jpath, "rules")))
        if ident is None or len(self.diags) > errors:
            return None
        title_lit = ast.StringLit(title, self.nowhere) if title is not None else None
        if title_lit is not None:
            self.mark(title_lit, v.get("title") or v["name"], json_path(jpath, "title" if "title" in v else "name"))
        seg = ast.SegmentDef(kind, ident, title_lit, tuple(clauses), self.nowhere, self.nowhere,
                             kind_explicit=kind != "dynamic")
        self.name_origin[id(seg)] = (name_j, json_path(jpath, "id" if "id" in v else "name"))
        return self.mark(seg, j, jpath)

    def members(self, j: JNode, jpath: str) -> ast.ListLit | None:
        if not self.expect(j, "array", jpath, "a list of member keys"):
            return None
        key = self.schema.key
        items = [self.scalar(item, f"{jpath}[{i}]", key) for i, item in enumerate(j.value)]
        if any(i is None for i in items):
            return None
        return self.mark(ast.ListLit(tuple(items), self.nowhere), j, jpath)

    # ------------------------------------------------------------------ groups

    def group(self, j: JNode, jpath: str, top: bool = False):
        v = j.value
        if not top:
            self.keys(j, jpath, GROUP_KEYS[self.fmt], "a rule group")
        if self.disabled(j, jpath):
            return _SKIP
        rules_path = json_path(jpath, "rules")
        if "rules" not in v:
            return self.err("E0504", 'a group needs "rules"', j, jpath)
        rules_j = v["rules"]
        if not self.expect(rules_j, "array", rules_path, "a list of rules"):
            return None
        negate = False
        not_j = v.get("not")
        if not_j is not None and not_j.kind != "null":
            negate = self.expect(not_j, "bool", json_path(jpath, "not"), "true or false") and not_j.value
        if self.fmt == "rqb" and any(c.kind == "string" for c in rules_j.value):
            inner = self.independent(j, jpath)
        else:
            inner = self.together(j, jpath)
        if inner is None or inner is _SKIP:
            return inner
        if negate:
            inner = self.mark(self.nest(ast.Not(inner, self.nowhere)), j, jpath)
        if self.depth.get(id(inner), 0) > MAX_DEPTH:
            return self.err("E0503", f"groups nest more than {MAX_DEPTH} levels deep", j, jpath, label="too deep",
                            help="flatten the groups: a group inside a group of the same combinator adds nothing")
        return inner

    def disabled(self, j: JNode, jpath: str) -> bool:
        """react-querybuilder leaves disabled (and muted) rules and groups out of the query."""
        if self.fmt != "rqb":
            return False
        off = False
        for key in ("disabled", "muted"):
            if key in j.value and self.expect(j.value[key], "bool", json_path(jpath, key), "true or false"):
                off = off or j.value[key].value
        return off

    def together(self, j: JNode, jpath: str):
        """The rules of a group joined by its one combinator."""
        v = j.value
        rules_path = json_path(jpath, "rules")
        children = v["rules"].value
        combinator = self.combinator(v["combinator"], json_path(jpath, "combinator")) if "combinator" in v else None
        items = []
        failed = False
        for i, child in enumerate(children):
            e = self.item(child, f"{rules_path}[{i}]")
            if e is None:
                failed = True
            elif e is not _SKIP:
                items.append(e)
        if failed:
            return None
        if len(items) >= 2 and combinator is None:
            if "combinator" not in v:
                self.err("E0504", 'a group of several rules needs a "combinator"', j, jpath,
                         help='add "combinator": "AND" (all must hold) or "OR" (any may)')
            return None
        if not items:
            if children and self.fmt == "rqb":
                return _SKIP  # every rule in it is disabled
            return self.err("E0511", "an empty group has no rule", v["rules"], rules_path,
                            help="add at least one rule; segdsl has no rule that matches everyone")
        if len(items) == 1:
            return items[0]
        return self.mark(self.nest(ast.BoolOp(combinator, tuple(items), self.nowhere)), j, jpath)

    def nest(self, node):
        children = node.items if isinstance(node, ast.BoolOp) else (node.item,)
        self.depth[id(node)] = 1 + max(self.depth.get(id(c), 0) for c in children)
        return node

    def combinator(self, j: JNode, jpath: str) -> str | None:
        text = self.string(j, jpath, '"AND" or "OR"')
        if text is None:
            return None
        if text.lower() in ("and", "or"):
            return text.lower()
        spelled = ("and", "or") if self.fmt == "rqb" else ("AND", "OR")
        return self.err("E0512", f"unknown combinator {quoted(text)}", j, jpath, label="not a combinator",
                        help=("segdsl has no exclusive or; write it with and/or/not" if text.lower() == "xor"
                              else f"use {one_of(spelled, quote=chr(34))}"))

    def independent(self, j: JNode, jpath: str):
        """react-querybuilder's independent combinators: ``[rule, "and", rule, "or", rule]``.
        As in the SQL react-querybuilder writes for them, `and` binds tighter than `or`."""
        rules_j = j.value["rules"]
        rules_path = json_path(jpath, "rules")
        if "combinator" in j.value:
            return self.err("E0504", 'a group with combinators between its rules has no "combinator" of its own',
                            j.value["combinator"], json_path(jpath, "combinator"))
        if len(rules_j.value) % 2 == 0:
            return self.err("E0504", "the list of rules ends with a combinator", rules_j, rules_path,
                            help="rules and combinators alternate: [rule, \"and\", rule]")
        terms: list[list] = [[]]
        failed = False
        for i, child in enumerate(rules_j.value):
            cp = f"{rules_path}[{i}]"
            if i % 2 == 1:
                if child.kind != "string":
                    self.err("E0504", f"expected a combinator between rules, found {describe_json(child)}", child, cp)
                    failed = True
                    continue
                word = self.combinator(child, cp)
                if word is None:
                    failed = True
                elif word == "or":
                    terms.append([])
                continue
            if child.kind == "string":
                self.err("E0504", "expected a rule or a group, found a combinator", child, cp)
                failed = True
                continue
            e = self.item(child, cp)
            if e is None:
                failed = True
            elif e is not _SKIP:
                terms[-1].append(e)
        if failed:
            return None
        ands = [t[0] if len(t) == 1 else self.mark(self.nest(ast.BoolOp("and", tuple(t), self.nowhere)), j, jpath)
                for t in terms if t]
        if not ands:
            return _SKIP
        if len(ands) == 1:
            return ands[0]
        return self.mark(self.nest(ast.BoolOp("or", tuple(ands), self.nowhere)), j, jpath)

    def item(self, j: JNode, jpath: str):
        if j.kind != "object":
            return self.err("E0504", f"expected a rule or a group, found {describe_json(j)}", j, jpath,
                            help='a rule is {"field": ..., "operator": ..., "value": ...}')
        if "rules" in j.value:
            return self.group(j, jpath)
        return self.rule(j, jpath)

    # ------------------------------------------------------------------ rules

    def rule(self, j: JNode, jpath: str):
        v = j.value
        fmt = self.fmt
        self.keys(j, jpath, RULE_KEYS[fmt], "a rule")
        operators = SEGDSL_OPERATORS if fmt == "segdsl" else RQB_OPERATORS
        errors = len(self.diags)
        if self.disabled(j, jpath):
            return _SKIP
        # "valueSource": "field" (react-querybuilder's spelling, in both formats): the
        # value names another field, compared with this one.
        value_source = "value"
        if "valueSource" in v:
            value_source = self.string(v["valueSource"], json_path(jpath, "valueSource"), '"value" or "field"')
            if value_source is None:
                return None
            if value_source not in ("value", "field"):
                return self.err("E0504", f'unknown "valueSource" {quoted(value_source)}', v["valueSource"],
                                json_path(jpath, "valueSource"), help='use "value" or "field"')
        if fmt == "rqb":
            if "match" in v:
                return self.err("E0514", "react-querybuilder match modes (subqueries over arrays) cannot be "
                                "expressed in segdsl", v["match"], json_path(jpath, "match"))
        if "operator" not in v:
            return self.err("E0504", 'a rule needs an "operator"', j, jpath)
        op = self.string(v["operator"], json_path(jpath, "operator"), "an operator name")
        if op is None:
            return None
        if op not in operators:
            other = RQB_OPERATORS if fmt == "segdsl" else SEGDSL_OPERATORS
            hint = did_you_mean(op, operators, quote='"')
            if op in other:
                same = [name for name, spec in operators.items() if spec == other[op]]
                hint = f'{quoted(op)} is a {FORMAT_NAMES["rqb" if fmt == "segdsl" else "segdsl"]} operator; ' + (
                    f"in {FORMAT_NAMES[fmt]} write {quoted(same[0])}" if same
                    else f"{FORMAT_NAMES[fmt]} has no such operator; pass --format to read the other format")
            return self.err("E0507", f"unknown operator {quoted(op)}", v["operator"], json_path(jpath, "operator"),
                            label="not an operator",
                            help=hint
                            or f"the {FORMAT_NAMES[fmt]} operators are {one_of(operators, quote=chr(34), limit=30)}")
        shape, arg, negated = operators[op]
        value_path = json_path(jpath, "value")
        value = v.get("value")
        if shape == "segment":
            return self.segment_ref(j, jpath, op, negated)
        if "field" not in v:
            return self.err("E0504", 'a rule needs a "field"', j, jpath)
        field = self.field(v["field"], json_path(jpath, "field"))
        days = False
        if "daysSince" in v and self.expect(v["daysSince"], "bool", json_path(jpath, "daysSince"), "true or false"):
            days = v["daysSince"].value
        ignore_case = False
        if "ignoreCase" in v and self.expect(v["ignoreCase"], "bool", json_path(jpath, "ignoreCase"), "true or false"):
            ignore_case = v["ignoreCase"].value
            if shape != "text":
                self.err("E0504", f'"ignoreCase" applies to the text operators, not to {quoted(op)}',
                         v["ignoreCase"], json_path(jpath, "ignoreCase"))
        if field is None or len(self.diags) > errors:
            return None
        operand = self.mark(ast.FieldRef(field.name, self.nowhere), v["field"], json_path(jpath, "field"))
        if days:
            operand = self.mark(ast.DaysSince(operand, self.nowhere), v["field"], json_path(jpath, "field"))
        target = None if days else field
        needs_value = shape not in ("null", "truthy")
        if needs_value and value is None:
            return self.err("E0504", f'operator {quoted(op)} needs a "value"', j, jpath)
        if not needs_value and fmt == "segdsl" and value is not None and value.kind != "null":
            return self.err("E0504", f'operator {quoted(op)} takes no "value"', value, value_path)
        if value_source == "field":
            if shape != "compare":
                return self.err("E0514", f"a field on the right of {quoted(op)} cannot be expressed in segdsl",
                                v["valueSource"], json_path(jpath, "valueSource"),
                                help="segdsl compares two fields with = != < <= > >= only")
            other = self.field(value, value_path)
            if other is None:
                return None
            right = self.mark(ast.FieldRef(other.name, self.nowhere), value, value_path)
            node = ast.CompareOperands(operand, arg, right, self.nowhere)
        else:
            node = self.predicate(shape, arg, negated, operand, target, value, value_path, ignore_case)
        if node is None:
            return None
        self.mark(node, j, jpath)
        if negated and shape == "text":
            node = self.mark(self.nest(ast.Not(node, self.nowhere)), j, jpath)
        return node

    def predicate(self, shape, arg, negated, operand, target, value, vpath, ignore_case):
        sp = self.nowhere
        if shape == "compare":
            lit = self.scalar(value, vpath, target)
            return None if lit is None else ast.Compare(operand, arg, lit, sp)
        if shape == "list":
            items = self.list_value(value, vpath, target)
            return None if items is None else ast.InList(operand, items, negated, sp)
        if shape == "range":
            pair = self.pair(value, vpath, target)
            return None if pair is None else ast.Between(operand, pair[0], pair[1], negated, sp)
        if shape == "null":
            return ast.IsNull(operand, negated, sp)
        if shape == "truthy":
            return ast.Truthy(operand, sp)
        if shape == "text":
            text = self.string(value, vpath, "a text value")
            if text is None:
                return None
            return ast.TextMatch(operand, arg, self.mark(ast.StringLit(text, sp), value, vpath), ignore_case, sp)
        if shape == "tag":
            if arg == "has":
                tag = self.string(value, vpath, "one tag (a string)")
                lit = None if tag is None else self.mark(ast.StringLit(tag, sp), value, vpath)
            else:
                lit = self.tag_list(value, vpath)
            return None if lit is None else ast.TagMatch(operand, arg, lit, sp)
        duration = self.duration(value, vpath)
        return None if duration is None else ast.TimeWindow(operand, arg, duration, sp)

    def segment_ref(self, j: JNode, jpath: str, op: str, negated: bool):
        v = j.value
        if "field" in v:
            return self.err("E0504", f'{quoted(op)} takes no "field"; its "value" names the segment', v["field"],
                            json_path(jpath, "field"))
        if "value" not in v:
            return self.err("E0504", f'{quoted(op)} needs a "value": the segment\'s identifier', j, jpath)
        vpath = json_path(jpath, "value")
        text = self.string(v["value"], vpath, "a segment identifier")
        if text is None:
            return None
        ident = text if is_name(text) else identifier_for(text)
        if ident is None:
            return self.err("E0513", f"{quoted(text)} does not name a segment", v["value"], vpath)
        node = self.mark(ast.SegmentRef(ident, self.nowhere, self.nowhere), v["value"], vpath)
        return self.mark(self.nest(ast.Not(node, self.nowhere)), j, jpath) if negated else node

    def field(self, j: JNode, jpath: str) -> Field | None:
        name = self.string(j, jpath, "a field name")
        if name is None:
            return None
        fields = self.schema.fields
        for candidate in (name, snake_case(name), snake_case(name, digits=False)):
            if candidate in fields:
                return fields[candidate]
        snake = snake_case(name)
        guess = closest(snake, fields)
        best = None
        if guess:
            shown = json_field_name(guess[0]) if name != snake else guess[0]
            best = f"did you mean `{shown}`" + (f" (`{guess[0]}`)?" if shown != guess[0] else "?")
        read_as = f" (read as `{snake}`)" if snake != name and NAME.fullmatch(snake) else ""
        return self.err("E0508", f"unknown field {quoted(name)}{read_as}", j, jpath,
                        label=f"not a field of `{self.schema.entity}`",
                        help=best or f"the fields are {one_of(json_field_name(f) for f in fields)}")
