"""The store: engine and schema, all-or-nothing writes, the audit log, bulk writes, and
the SQL that aggregates transactions where they live (facts, cubes, monthly KPIs).
"""
