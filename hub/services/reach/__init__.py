"""Reach collection: the platforms' figures per post and per account, into hub/models/reach.py.

``schedule`` (the reconciler's sweep) starts a collection once per ``YUNCHU_REACH_INTERVAL_S``;
``plan`` splits the accounts into jobs on the maintenance queue; ``collector`` runs one job
(``plan_batch`` reads what is known, the platform's reach client asks, ``store`` writes).
"""
