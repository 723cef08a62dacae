"""Streamlit-side helpers shared by the pages: cached store access, sidebar, formatting, charts."""
