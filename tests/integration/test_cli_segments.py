"""``python -m planning segments`` on both stores: the files it writes, and bad input refused."""

from __future__ import annotations

import pandas as pd
import pytest
from little_company import load

from planning.cli.main import main
from planning.store.engine import open_store


@pytest.fixture
def little(store_url) -> str:
    engine = open_store(store_url)
    load(engine)
    engine.dispose()
    return store_url


def test_segments_by_size_with_the_segment_pnl(little, tmp_path, capsys):
    out, pnl = tmp_path / "seg.csv", tmp_path / "pnl.csv"
    code = main(
        [
            "--db",
            little,
            "segments",
            "--as-of",
            "2024-03-31",
            "--lens",
            "attribute",
            "--attribute",
            "size",
            "--out",
            str(out),
            "--pnl-out",
            str(pnl),
        ]
    )

    assert code == 0
    assert "4 customers as of 2024-03-31 by size: Small 3, Large 1" in capsys.readouterr().out
    assert pd.read_csv(out).values.tolist() == [
        ["A", "Large"],
        ["B", "Small"],
        ["C", "Small"],
        ["D", "Small"],
    ]
    table = pd.read_csv(pnl).set_index("segment")
    assert table.index.tolist() == ["Small", "Large", "Total"]
    # Default assumptions (8% cost of capital): A 3,500 x 60/365 x 8% = 46.03 financing.
    assert table.loc["Large", ["revenue", "cost_to_serve", "financing_cost"]].tolist() == [
        3500.0,
        414.0,
        46.03,
    ]
    assert table.loc["Total", "customers"] == 4
    assert table.loc["Total", "revenue"] == table.loc[["Small", "Large"], "revenue"].sum()


def test_rfm_lens_writes_the_score(little, tmp_path):
    out = tmp_path / "rfm.csv"
    assert main(["--db", little, "segments", "--lens", "rfm", "--out", str(out)]) == 0
    frame = pd.read_csv(out, keep_default_na=False)
    assert list(frame.columns) == ["customer_id", "segment", "score"]
    assert frame.set_index("customer_id").loc["D", "segment"] == "No purchases"


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["--as-of", "2024-02-30", "--lens", "value"], 2, "'2024-02-30' is not a date"),
        (["--lens", "colour"], 2, "invalid choice: 'colour'"),
        (["--lens", "attribute", "--attribute", "age"], 2, "invalid choice: 'age'"),
        (["--lens", "value", "--window-months", "0"], 2, "--window-months must be 1 or more"),
        (
            ["--lens", "value", "--as-of", "2020-01-01"],
            1,
            "as of 2020-01-01 is before the first transaction (2024-01-10)",
        ),
        (["--lens", "rules", "--rule-set", "none"], 1, "There is no rule set 'none'"),
    ],
    ids=[
        "bad-date",
        "unknown-lens",
        "unknown-attribute",
        "no-window",
        "before-the-data",
        "missing-rule-set",
    ],
)
def test_bad_input_exits_non_zero_with_a_clear_message(little, tmp_path, capsys, args, code, words):
    out = tmp_path / "seg.csv"
    try:
        result = main(["--db", little, "segments", *args, "--out", str(out)])
    except SystemExit as exc:  # argparse rejects before the command runs
        result = exc.code
    assert result == code
    assert words in capsys.readouterr().err
    assert not out.exists()


def test_an_output_folder_that_does_not_exist_is_a_usage_error(little, tmp_path, capsys):
    code = main(
        ["--db", little, "segments", "--lens", "value", "--out", str(tmp_path / "nope" / "seg.csv")]
    )
    assert code == 2
    assert f"folder {tmp_path / 'nope'} does not exist" in capsys.readouterr().err


def test_an_empty_store_is_rejected(store_url, tmp_path, capsys):
    code = main(
        ["--db", store_url, "segments", "--lens", "value", "--out", str(tmp_path / "seg.csv")]
    )
    assert code == 1
    assert "holds no transactions yet" in capsys.readouterr().err


RULES = """[{"name": "Large accounts", "conditions": [{"field": "size", "op": "in",
                                                  "value": ["Large"]}]},
           {"name": "Unprofitable", "conditions": [{"field": "contribution", "op": "<",
                                                    "value": 0}]}]"""


def test_rules_saved_from_a_file_drive_the_rules_lens(little, tmp_path, capsys):
    rules = tmp_path / "rules.json"
    rules.write_text(RULES)
    assert main(["--db", little, "rules", "save", str(rules), "--set", "review"]) == 0
    assert (
        "Saved 2 rule(s) as rule set 'review': Large accounts, Unprofitable"
        in capsys.readouterr().out
    )
    assert main(["--db", little, "rules", "list"]) == 0
    assert capsys.readouterr().out.split() == ["review"]

    out = tmp_path / "seg.csv"
    assert (
        main(
            [
                "--db",
                little,
                "segments",
                "--as-of",
                "2024-03-31",
                "--lens",
                "rules",
                "--rule-set",
                "review",
                "--window-months",
                "6",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert dict(pd.read_csv(out).values.tolist()) == {
        "A": "Large accounts",
        "B": "Other",
        "C": "Unprofitable",
        "D": "Other",
    }

    assert main(["--db", little, "rules", "delete", "--set", "review"]) == 0
    assert "Deleted rule set 'review' (2 rule(s))" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content, words",
    [
        ("not json", "is not JSON"),
        ('{"name": "x"}', "must hold a JSON list of rules"),
        ('[{"conditions": []}]', 'rule 1 needs a "name"'),
        (
            '[{"name": "x", "conditions": [{"field": "colour", "op": "==", "value": "red"}]}]',
            "Segment rule 'x' is invalid: Unknown rule field 'colour'",
        ),
        ('[{"name": "x"}, {"name": "x"}]', "Two rules share a name"),
    ],
    ids=["not-json", "not-a-list", "no-name", "unknown-field", "same-name"],
)
def test_a_bad_rules_file_saves_nothing(little, tmp_path, capsys, content, words):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(RULES)
    bad.write_text(content)
    assert main(["--db", little, "rules", "save", str(good)]) == 0
    capsys.readouterr()

    assert main(["--db", little, "rules", "save", str(bad)]) == 1
    err = capsys.readouterr().err
    assert words in err and "Nothing was saved." in err
    assert main(["--db", little, "rules", "show"]) == 0
    assert '"Large accounts"' in capsys.readouterr().out  # the stored set is unchanged


def test_rules_of_a_set_that_does_not_exist(little, capsys):
    assert main(["--db", little, "rules", "show", "--set", "nope"]) == 1
    assert "there is no rule set 'nope'" in capsys.readouterr().err
