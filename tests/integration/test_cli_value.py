"""``python -m planning clv`` on both stores: the CDNOW sample end to end, and bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from planning.cli.main import main


@pytest.fixture
def cdnow_store(store_url, cdnow_path):
    code = main(
        [
            "--db",
            store_url,
            "import",
            "transactions",
            str(cdnow_path),
            "--map",
            "customer_id=1,date=3,amount=5,quantity=4",
        ]
    )
    assert code == 0
    return store_url


def test_clv_writes_one_row_per_customer_and_the_published_cdnow_model(
    cdnow_store, tmp_path, capsys
):
    out, model = tmp_path / "clv.csv", tmp_path / "params.json"
    code = main(
        [
            "--db",
            cdnow_store,
            "clv",
            "--as-of",
            "1997-09-30",
            "--horizon",
            "39W",
            "--out",
            str(out),
            "--model-out",
            str(model),
        ]
    )
    assert code == 0, capsys.readouterr().err
    frame = pd.read_csv(out)
    assert list(frame.columns[:9]) == [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary",
        "p_alive",
        "expected_transactions",
        "expected_spend",
        "clv",
    ]
    assert len(frame) == 2357 and frame["customer_id"].is_unique
    params = json.loads(model.read_text())
    assert params["bgnbd"]["params"]["r"] == pytest.approx(0.243, rel=0.01)  # FHL 2005a
    assert params["bgnbd"]["log_likelihood"] == pytest.approx(-9582.4, abs=0.1)
    assert params["gamma_gamma"]["params"]["p"] == pytest.approx(6.25, rel=0.02)  # FHL 2005b
    assert "2,357 customers scored as of 1997-09-30 over 39 weeks" in capsys.readouterr().out


@pytest.mark.parametrize("horizon", ["39", "0W", "12Y", "W"])
def test_a_horizon_that_is_not_weeks_or_months_is_a_usage_error(
    cdnow_store, tmp_path, capsys, horizon
):
    out = tmp_path / "clv.csv"
    code = main(["--db", cdnow_store, "clv", "--horizon", horizon, "--out", str(out)])
    assert code == 2
    assert f"--horizon {horizon!r} is not a horizon" in capsys.readouterr().err
    assert not out.exists()


def test_an_as_of_date_before_the_data_is_rejected_and_writes_nothing(
    cdnow_store, tmp_path, capsys
):
    out = tmp_path / "clv.csv"
    code = main(["--db", cdnow_store, "clv", "--as-of", "1996-12-31", "--out", str(out)])
    assert code == 1
    assert "No purchases on or before 1996-12-31" in capsys.readouterr().err
    assert not out.exists()


def test_an_empty_store_says_so(store_url, tmp_path, capsys):
    code = main(["--db", store_url, "clv", "--out", str(tmp_path / "clv.csv")])
    assert code == 1
    assert "holds no transactions yet" in capsys.readouterr().err
