"""The operating plan: the recompute graph, the planner that wires every layer, plan
versions, budget cells, variance against actuals and the watch service.
"""
