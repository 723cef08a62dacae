"""Allocation: response curves and their calibration, the economics of each outcome, program
levers, the budget solver, its uncertainty, scenarios and customer strategy.
"""
