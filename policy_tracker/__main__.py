"""`python -m policy_tracker` runs the ptrack command line."""

from policy_tracker.cli import app

app(prog_name="ptrack")
