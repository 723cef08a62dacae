"""Customer value: the purchase and spend models (BG/NBD, Gamma-Gamma, CLV) and the
customer scores built from the store with them.
"""
