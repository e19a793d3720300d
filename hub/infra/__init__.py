"""Infrastructure: settings, database and schema, the process runtime, ids, credentials at rest,
the event loop and GC tuning."""
