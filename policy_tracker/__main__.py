"""`python -m policy_tracker` runs the ptrack command line."""

from policy_tracker.launch import main

main()
