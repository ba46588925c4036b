"""What workflows may ask of the activities: one bodiless, typed declaration per activity.

The activity classes in `activities/` touch the database and the providers, so a workflow cannot
import them; it calls these declarations instead, by reference, and mypy checks the arguments and
the result. `tests/workflows/test_steps.py` proves that each declaration has the name and the
signature of an activity the worker registers.
"""
