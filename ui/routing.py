"""Make every page run inside app.py, even when Streamlit would run the page file on its own.

Streamlit treats an app with a ``pages/`` folder as a legacy (v1) multipage app until some
session calls ``st.navigation``. Until then it runs a requested page file directly, without
the entry point: the first visitor after a server start who opens a deep link such as
``/data`` would get no sidebar, no wide layout and a navigation listing "app, data,
overview". ``AppTest`` resets that state before every run, so there every page switch would
look like that. Each page therefore calls :func:`run_through_app` first: when the page was
started directly, it runs app.py in its place (app.py's ``st.navigation`` switches Streamlit
to the app's own navigation and runs this page inside the shell) and then stops, so the page
is drawn once. Nothing is rerun, so a button click in that run is not lost. If pages/ is
ever renamed, this is a no-op.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

APP = Path(__file__).resolve().parent.parent / "app.py"


def run_through_app() -> None:
    """Run app.py instead when Streamlit started this page without it (see module notes)."""
    if not PagesManager.uses_pages_directory:
        return
    runpy.run_path(str(APP), run_name="__main__")
    st.stop()
