"""The app's outer surface: Streamlit's server settings, pinned releases, and no raw HTML
built from anything but constants in pages/, ui/ and app.py."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest
from streamlit import config as st_config

from planning.ingest import uploads

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / ".streamlit" / "config.toml"
UI_FILES = sorted(
    [REPO_ROOT / "app.py", *(REPO_ROOT / "pages").glob("*.py"), *(REPO_ROOT / "ui").glob("*.py")]
)
# Calls that put HTML on the page as it is: st.html and components.html / components.v1.html.
_RAW_HTML_CALLS = {"html"}


def _config() -> dict:
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))


def test_xsrf_protection_is_on():
    server = _config()["server"]
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True  # Streamlit turns XSRF off when CORS is off


def test_the_embedded_app_binds_to_localhost_headless_without_usage_statistics():
    settings = _config()
    assert settings["server"]["address"] == "localhost"
    assert settings["server"]["headless"] is True
    assert settings["browser"]["gatherUsageStats"] is False


def test_error_details_and_developer_menus_stay_out_of_the_browser():
    client = _config()["client"]
    assert client["showErrorDetails"] in ("type", "none")
    assert client["toolbarMode"] == "viewer"
    assert _config()["server"]["enableStaticServing"] is False


def test_tables_offer_no_download_that_skips_formula_neutralising():
    assert _config()["client"]["disableDataExport"] is True


def test_streamlits_upload_cap_is_the_data_pages_limit():
    assert _config()["server"]["maxUploadSize"] == uploads.MAX_UPLOAD_MB


def test_every_config_key_is_one_streamlit_knows():
    # A misspelt key is ignored by Streamlit, which would silently drop a protection.
    known = set(st_config._config_options_template)
    for section, values in _config().items():
        for key in values:
            assert f"{section}.{key}" in known, f"{section}.{key} is not a Streamlit option"


@pytest.mark.parametrize("requirements", ["requirements.txt", "requirements-dev.txt"])
def test_every_dependency_is_pinned_to_one_release(requirements):
    lines = (REPO_ROOT / requirements).read_text(encoding="utf-8").splitlines()
    for line in lines:
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r "):
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?==[0-9][0-9A-Za-z.]*", line), line


def test_streamlit_and_pip_audit_are_pinned():
    runtime = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8")
    dev = (REPO_ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    assert re.search(r"^streamlit==\d+\.\d+\.\d+$", runtime, re.M)
    assert re.search(r"^pip-audit==\d+\.\d+\.\d+$", dev, re.M)


def test_make_test_runs_the_dependency_audit():
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^test:.*\baudit\b", makefile, re.M)
    recipe = re.search(r"^audit:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "no audit target"
    assert "pip-audit" in recipe.group(1) and "requirements.txt" in recipe.group(1)
    assert "--vulnerability-service pypi" in recipe.group(1)


def _is_constant(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.JoinedStr):
        return all(isinstance(v, ast.Constant) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _is_constant(node.left) and _is_constant(node.right)
    return False


def raw_html_with_data(source: str, name: str = "<snippet>") -> list[str]:
    """Places where HTML reaches the page unescaped from anything but a constant."""
    found = []
    tree = ast.parse(source, filename=name)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        unsafe = [k for k in node.keywords if k.arg == "unsafe_allow_html"]
        opened = any(
            not (isinstance(k.value, ast.Constant) and k.value.value is False) for k in unsafe
        )
        raw = isinstance(node.func, ast.Attribute) and node.func.attr in _RAW_HTML_CALLS
        if not (opened or raw):
            continue  # a flag hidden in **options is caught by the count of mentions below
        content = [
            *node.args,
            *(
                k.value
                for k in node.keywords
                if k.arg not in ("unsafe_allow_html", "width", "height")
            ),
        ]
        if not all(_is_constant(arg) for arg in content):
            found.append(f"{name}:{node.lineno}: {ast.unparse(node)[:120]}")
    mentions = len(re.findall(r"unsafe_allow_html", source))
    keywords = sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword) and node.arg == "unsafe_allow_html"
    )
    if mentions != keywords:
        found.append(
            f"{name}: unsafe_allow_html appears outside a plain keyword argument "
            f"({mentions} mentions, {keywords} keywords)"
        )
    return found


@pytest.mark.parametrize(
    "snippet, flagged",
    [
        ('st.markdown(f"<b>{customer}</b>", unsafe_allow_html=True)', True),
        ('st.markdown("<b>" + name + "</b>", unsafe_allow_html=True)', True),
        ("st.caption(scenario.name, unsafe_allow_html=1)", True),
        ('st.html(f"<p>{segment}</p>")', True),
        ("components.html(rule_text, height=80)", True),
        ('opts = {"unsafe_allow_html": True}\nst.markdown(name, **opts)', True),
        ("st.markdown(\"<hr style='margin:0'>\", unsafe_allow_html=True)", False),
        ('st.markdown(f"**{customer}**")', False),
        ("st.markdown(name, unsafe_allow_html=False)", False),
        ("st.html(\"<div class='gap'></div>\")", False),
    ],
    ids=[
        "f-string",
        "concatenation",
        "truthy-flag",
        "st-html",
        "components-html",
        "hidden-in-kwargs",
        "constant-html",
        "plain-markdown",
        "explicitly-off",
        "constant-st-html",
    ],
)
def test_the_raw_html_check_tells_user_text_from_constants(snippet, flagged):
    assert bool(raw_html_with_data(snippet)) is flagged


def test_no_page_or_ui_helper_renders_non_constant_html():
    assert UI_FILES, "no UI files found"
    found = [
        hit
        for path in UI_FILES
        for hit in raw_html_with_data(
            path.read_text(encoding="utf-8"), str(path.relative_to(REPO_ROOT))
        )
    ]
    assert not found, "HTML built from data reaches the page unescaped:\n" + "\n".join(found)
