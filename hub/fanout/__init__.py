"""Fan-out: push one item to thousands of accounts, withdraw it from all of them, fast and
without losing or doubling a post. PostgreSQL rows are the truth; Redis only carries work.

Follow one delivery from the click to its recorded outcome, in five files:

1. ``push``: the push click (``POST /api/v1/items/<id>/push``, a thin handler in
   ``hub/web/api/fanout.py``) writes one ``deliveries`` row per account, ``queued``, in one
   transaction; the handler then enqueues batch jobs of one platform each (``queueing``).
2. ``executor``: a worker's job (``jobs.run_batch``) admits the batch: claims the rows with a
   lease (``sending``), loads accounts and renders the post, then makes each delivery's calls
   (lookup if an earlier answer was lost, rate budget, ``adapter.publish``).
3. ``policy``: what each answer means, as an ``Outcome`` (state, attempt step, error kind,
   lookup mark, retry time), decided without I/O.
4. ``batch``: outcomes are buffered and flushed every second or 50 outcomes; meanwhile the
   batch's ``fence`` keeps a withdrawn item's deliveries from being sent.
5. ``claims``: ``record`` writes the outcomes, each an UPDATE conditional on the lease,
   plus the attempt history.

The words are typed in ``vocabulary`` (``Action``, ``DeliveryState``, ``ErrorKind``, ``Step``,
``Lookup``); "withdraw wins" is one rule in ``fence``, whose docstring lists the layers that
enforce it. Around the path: ``heartbeat`` (alive key, lease renewal), ``reconciler`` and
``liveness`` (re-drive what a dead worker held), ``withdraw`` (the withdrawal transaction),
``status`` (polling posts in platform review), ``ratelimit``, ``render``, ``fitness`` and
``targets`` (who a push reaches).
"""
