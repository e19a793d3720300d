"""A worker stops without waiting out RQ's pubsub thread.

RQ listens for its commands in a thread that waits up to 60 s for a message, and at teardown
unsubscribes, then stops the thread. redis 8.2's ``PubSubWorkerThread.stop()`` waits for the
thread to end: when the thread has read the unsubscribe reply before ``stop()`` cleared its
flag, it is back in a 60 s wait, and so is the worker's teardown (under load, drains in the
tests took a minute now and then; a SIGTERM'd worker would too). Below 8.2, ``stop()`` only
clears the flag. pyproject.toml keeps redis below 8.2 for that; this test says why, on the
installed client, with the race forced."""

from __future__ import annotations

import threading
import time

import redis

RQ_SLEEP_S = 60  # what RQ passes to run_in_thread


def test_stopping_a_pubsub_thread_after_its_unsubscribe_does_not_wait(redis_url: str):
    connection = redis.Redis.from_url(redis_url)
    pubsub = connection.pubsub()
    pubsub.subscribe(**{"rq:pubsub:test-worker": lambda message: None})
    thread = pubsub.run_in_thread(sleep_time=RQ_SLEEP_S, daemon=True)
    time.sleep(0.2)  # the thread waits in get_message
    pubsub.unsubscribe()  # RQ's teardown, first step ...
    time.sleep(0.5)  # ... the thread reads the reply and waits again (the race, forced)
    stopper = threading.Thread(target=thread.stop, daemon=True)
    started = time.monotonic()
    stopper.start()
    stopper.join(timeout=10)
    try:
        assert not stopper.is_alive(), "PubSubWorkerThread.stop() waits out RQ's 60 s"
        assert time.monotonic() - started < 10
    finally:
        connection.close()
