"""The users and audit commands, and how commands sign in on a team-mode store."""

from __future__ import annotations

import csv
import io

import pytest

from planning.cli.common import ENV_PASSWORD, ENV_USER
from planning.cli.main import main
from planning.store.engine import open_store, table_counts
from planning.team import auth

SALES = "customer_id,date,amount\nA,2025-01-05,10\n"


def _stdin(monkeypatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_the_first_admin_is_added_without_signing_in_then_lists(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    _stdin(monkeypatch, "a long password\n")
    assert main(["--db", url, "users", "add", "boss", "--role", "admin", "--password-stdin"]) == 0
    assert "Added boss (admin)" in capsys.readouterr().out
    assert main(["--db", url, "users", "list"]) == 0
    assert "boss\tadmin\tactive\tpassword\tv1" in capsys.readouterr().out


def test_team_mode_commands_sign_in_and_act_with_the_accounts_role(
    store_url, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv(auth.ENV_AUTH, "required")  # team mode on SQLite too
    engine = open_store(store_url)
    if auth.count_users(engine) == 0:
        auth.add_user(engine, None, "ci-admin", "admin", password="correct horse battery staple")
        monkeypatch.setenv(ENV_USER, "ci-admin")
        monkeypatch.setenv(ENV_PASSWORD, "correct horse battery staple")
    sales = tmp_path / "sales.csv"
    sales.write_text(SALES)

    _stdin(monkeypatch, "viewer password\n")
    assert (
        main(["--db", store_url, "users", "add", "vic", "--role", "viewer", "--password-stdin"])
        == 0
    )
    before = table_counts(engine)
    monkeypatch.setenv(ENV_USER, "vic")
    monkeypatch.setenv(ENV_PASSWORD, "viewer password")
    assert main(["--db", store_url, "import", "transactions", str(sales)]) == 4
    err = capsys.readouterr().err
    assert "vic is signed in as a viewer: importing data needs the admin role" in err
    assert main(["--db", store_url, "users", "disable", "ci-admin"]) == 4
    assert table_counts(engine) == before

    monkeypatch.setenv(ENV_PASSWORD, "not it at all")
    assert main(["--db", store_url, "import", "transactions", str(sales)]) == 4
    assert "Wrong user name or password." in capsys.readouterr().err
    monkeypatch.delenv(ENV_PASSWORD)
    assert main(["--db", store_url, "import", "transactions", str(sales)]) == 2
    assert (
        "this store is in team mode: sign in by setting CONTINUUM_USER" in capsys.readouterr().err
    )
    assert table_counts(engine) == before

    monkeypatch.setenv(ENV_USER, "ci-admin")
    monkeypatch.setenv(ENV_PASSWORD, "correct horse battery staple")
    assert main(["--db", store_url, "import", "transactions", str(sales)]) == 0
    out = tmp_path / "audit.csv"
    assert main(["--db", store_url, "audit", "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["action"] for r in rows][:2] == ["import", "user add"]
    assert rows[0]["actor"] == "ci-admin" and "sales.csv" in rows[0]["target"]
    engine.dispose()


def test_user_commands_say_what_is_wrong(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    _stdin(monkeypatch, "short\n")
    assert main(["--db", url, "users", "add", "boss", "--role", "admin", "--password-stdin"]) == 1
    assert "at least 10 characters" in capsys.readouterr().err
    _stdin(monkeypatch, "")
    assert main(["--db", url, "users", "add", "boss", "--role", "admin", "--password-stdin"]) == 2
    assert "stdin is empty" in capsys.readouterr().err
    assert main(["--db", url, "users", "disable", "nobody"]) == 1
    assert "There is no user named 'nobody'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["--db", url, "users", "add", "x", "--role", "emperor"])
    assert usage.value.code == 2
