"""Use cases over a workspace, Qt-free: what the CLI and the desktop app both call.

Each function takes the workspace, the acting user and plain values (a path, a clock through the
workspace, `progress(done, total)` and `cancelled()` callbacks), does one thing a person asks for,
and returns a typed result naming what changed. Nothing here imports Qt or the CLI.
"""
