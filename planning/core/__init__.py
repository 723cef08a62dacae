"""The vocabulary every layer shares: column names, roles and permissions, documented
defaults, the calendar, and the safe CSV/XLSX writers.
"""
