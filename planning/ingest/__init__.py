"""Getting data in: file readers and column mapping, value parsing, natural keys, upload
checks, the all-or-nothing import, undo of a batch, and the demo company generator.
"""
