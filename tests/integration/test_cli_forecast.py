"""`python -m planning forecast` on both stores: the CSV it writes and its answers to bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from planning.cli.main import main
from planning.forecast.base import FORECAST_COLUMNS
from planning.store.engine import open_store
from tests import forecast_company as company


@pytest.fixture
def url(store_url):
    engine = open_store(store_url)
    company.load(engine)
    engine.dispose()
    return store_url


def test_a_segment_forecast_and_its_backtest_are_written_to_csv(url, tmp_path, capsys):
    out, bt = tmp_path / "fc.csv", tmp_path / "bt.csv"
    code = main(
        [
            "--db",
            url,
            "forecast",
            "--level",
            "segment",
            "--lens",
            "size",
            "--metric",
            "orders",
            "--freq",
            "M",
            "--horizon",
            "2",
            "--as-of",
            "2026-01-31",
            "--out",
            str(out),
            "--backtest-out",
            str(bt),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    frame = pd.read_csv(out)
    assert list(frame.columns) == [*FORECAST_COLUMNS, "used", "reconciliation"]
    assert set(frame["series"]) == {"Total", "Large", "Small"}
    assert list(frame["period"].unique()) == ["2026-02-01", "2026-03-01"]
    wide = frame.pivot(index="period", columns="series", values="mean")
    # Each value is written to 4 decimals, so the rounded parts may miss the total by 1e-4.
    assert (wide["Large"] + wide["Small"]).to_numpy() == pytest.approx(
        wide["Total"].to_numpy(), abs=1.5e-4
    )
    accuracy = pd.read_csv(bt)
    assert {"series", "model", "step", "wape", "mase", "bias", "coverage-80", "coverage-95"} <= set(
        accuracy.columns
    )
    assert "reconciliation:" in printed and "model fits" in printed


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--level", "total", "--lens", "size"], 2, "--lens applies to --level segment only"),
        (["--as-of", "2020-01-31"], 1, "No whole month of transactions has ended by 2020-01-31"),
        (["--out", "/no/such/folder/fc.csv"], 2, "folder /no/such/folder does not exist"),
    ],
)
def test_bad_input_says_what_is_wrong_and_writes_nothing(
    url, tmp_path, capsys, args, code, message
):
    out = tmp_path / "fc.csv"
    argv = ["--db", url, "forecast", "--horizon", "3", "--out", str(out), *args]
    assert main(argv) == code
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_horizon_that_is_not_a_positive_number_is_a_usage_error(url, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--db", url, "forecast", "--horizon", "soon", "--out", str(tmp_path / "f.csv")])
    assert exit_.value.code == 2
    assert "'soon' is not a horizon" in capsys.readouterr().err
