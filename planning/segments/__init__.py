"""Segments: attribute and behaviour lenses, segment rules, lifecycle stages, and the
single-customer view.
"""
