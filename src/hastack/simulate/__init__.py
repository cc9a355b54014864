"""What-if: Pacemaker's own scheduler (crm_simulate) run on the rendered CIBs under failures.

model (the cluster as simulated) -> cases (what to break) -> run (crm_simulate per case, in
parallel) -> outcome (transition graph and resulting state) -> invariants (the guide's
rules, OpenStack-aware) -> report; explain gives the constraint chain behind a resource.
"""
