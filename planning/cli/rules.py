"""``python -m planning rules``: keep user-defined segment rules in the store.

A rules file is JSON: a list of rules in priority order, each a name and its conditions
(see planning.segments.rules)::

    [{"name": "Strategic", "conditions": [{"field": "size", "op": "in",
                                            "value": ["Large", "Key account"]},
                                           {"field": "contribution", "op": ">=", "value": 10000}]},
     {"name": "Unprofitable", "conditions": [{"field": "contribution", "op": "<", "value": 0}]}]

``rules save FILE`` replaces a rule set with the file's rules (all or nothing: a file with one
bad rule changes nothing), ``rules list`` names the sets, ``rules show`` prints one set as
JSON, ``rules delete`` removes one. ``segments --lens rules --rule-set NAME`` then uses it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from planning.cli.common import EXIT_OK, EXIT_REJECTED, UsageError, acting_user
from planning.core import DEFAULT_RULE_SET

if TYPE_CHECKING:
    from planning import segments


def add_parser(commands: argparse._SubParsersAction) -> None:
    rules = commands.add_parser("rules", help="save, list, show or delete segment rule sets")
    actions = rules.add_subparsers(dest="action", required=True, metavar="ACTION")
    save = actions.add_parser("save", help="replace a rule set with the rules of a JSON file")
    save.add_argument("file", type=Path)
    actions.add_parser("list", help="name the stored rule sets")
    show = actions.add_parser("show", help="print a rule set as JSON")
    delete = actions.add_parser("delete", help="delete a rule set")
    for action in (save, show, delete):
        action.add_argument(
            "--set",
            dest="rule_set",
            default=DEFAULT_RULE_SET,
            help="the rule set (default 'default')",
        )


def read_rules(text: str) -> list[segments.SegmentRule]:
    """Rules from the JSON of a rules file; ValueError naming the rule and what is wrong."""
    from planning import segments

    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the file is not JSON: {exc}") from exc
    if not isinstance(items, list):
        raise ValueError("the file must hold a JSON list of rules")
    rules = []
    for k, item in enumerate(items, start=1):
        if not isinstance(item, dict) or "name" not in item:
            raise ValueError(f'rule {k} needs a "name" and a list of "conditions"')
        rules.append(
            segments.SegmentRule.from_json(
                str(item["name"]), json.dumps(item.get("conditions", []))
            )
        )
    return rules


def run(engine, args: argparse.Namespace) -> int:
    from planning import segments

    if args.action == "list":
        names = segments.rule_sets(engine)
        print("\n".join(names) if names else "No rule sets stored yet: use `rules save FILE`.")
        return EXIT_OK
    if args.action == "save":
        if not args.file.is_file():
            raise UsageError(f"file not found: {args.file}")
        try:
            rules = read_rules(args.file.read_text(encoding="utf-8"))
            segments.save_rules(engine, rules, rule_set=args.rule_set, actor=acting_user(engine))
        except ValueError as exc:
            print(
                f"error: {args.file}: {str(exc).rstrip('.')}. Nothing was saved.", file=sys.stderr
            )
            return EXIT_REJECTED
        print(
            f"Saved {len(rules)} rule(s) as rule set {args.rule_set!r}: "
            + ", ".join(r.name for r in rules)
        )
        return EXIT_OK
    if args.rule_set not in segments.rule_sets(engine):
        print(f"error: there is no rule set {args.rule_set!r}.", file=sys.stderr)
        return EXIT_REJECTED
    if args.action == "show":
        stored = segments.load_rules(engine, args.rule_set)
        print(
            json.dumps(
                [{"name": r.name, "conditions": json.loads(r.to_json())} for r in stored], indent=2
            )
        )
        return EXIT_OK
    removed = segments.delete_rule_set(engine, args.rule_set, actor=acting_user(engine))
    print(f"Deleted rule set {args.rule_set!r} ({removed} rule(s)).")
    return EXIT_OK
