"""``python -m planning users``: manage team-mode accounts (admins only).

``users add NAME --role viewer|planner|admin`` asks for the password (or reads one line from
stdin with ``--password-stdin``; ``--sso`` makes an account that signs in through the
configured OIDC provider instead). ``users disable|enable NAME``, ``users reset NAME`` (a new
password; the account's sessions end), ``users role NAME ROLE`` and ``users list``.

The store's first account can be added without signing in, and must be an admin; after that
every change signs in as an admin (CONTINUUM_USER and CONTINUUM_PASSWORD in team mode).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from planning.cli.common import EXIT_OK, EXIT_REJECTED, UsageError, acting_user
from planning.core import ROLES


def add_parser(commands: argparse._SubParsersAction) -> None:
    users = commands.add_parser("users", help="add, disable, enable, reset or list users")
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add an account")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    how = add.add_mutually_exclusive_group()
    how.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin",
    )
    how.add_argument(
        "--sso",
        action="store_true",
        help="no password: the account signs in through single sign-on (OIDC)",
    )
    for name, text in (
        ("disable", "disable an account and end its sessions"),
        ("enable", "enable a disabled account"),
    ):
        actions.add_parser(name, help=text).add_argument("name")
    reset = actions.add_parser("reset", help="set a new password (ends the account's sessions)")
    reset.add_argument("name")
    reset.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin",
    )
    role = actions.add_parser("role", help="give an account another role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    actions.add_parser("list", help="list the accounts")
    for parser in actions.choices.values():
        parser.add_argument(
            "--user", default=None, help="the admin making the change (default: $CONTINUUM_USER)"
        )


def _new_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UsageError("--password-stdin: stdin is empty; pipe the password in.")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError(
            "give the new password with --password-stdin (stdin is not a terminal to ask at)."
        )
    first = getpass.getpass(f"New password for {args.name}: ")
    if first != getpass.getpass("Again: "):
        raise UsageError("the two passwords differ: nothing was changed.")
    return first


def run(engine, args: argparse.Namespace) -> int:
    from planning import team

    if args.action == "list":
        frame = team.list_users(engine)
        if frame.empty:
            print("No users yet: add the first admin with `users add NAME --role admin`.")
        for row in frame.itertuples():
            state = "disabled" if row.disabled else "active"
            sign_in = "single sign-on" if row.single_sign_on else "password"
            print(f"{row.username}\t{row.role}\t{state}\t{sign_in}\tv{row.version}")
        return EXIT_OK
    try:
        if args.action == "add":
            first = team.count_users(engine) == 0
            actor = None if first else acting_user(engine, args.user)
            password = None if args.sso else _new_password(args)
            team.add_user(engine, actor, args.name, args.role, password=password)
            print(f"Added {args.name} ({args.role}{', single sign-on' if args.sso else ''}).")
            return EXIT_OK
        actor = acting_user(engine, args.user)
        if args.action == "disable":
            team.disable_user(engine, actor, args.name)
            print(f"Disabled {args.name}; their sessions have ended.")
        elif args.action == "enable":
            team.enable_user(engine, actor, args.name)
            print(f"Enabled {args.name}.")
        elif args.action == "reset":
            team.reset_password(engine, actor, args.name, _new_password(args))
            print(f"New password set for {args.name}; their sessions have ended.")
        elif args.action == "role":
            team.set_role(engine, actor, args.name, args.role)
            print(f"{args.name} is now a {args.role}; their sessions have ended.")
    except UsageError:
        raise
    except (ValueError, team.UnknownUser) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    return EXIT_OK
