"""The command line (``python -m planning``): one module per command group."""
