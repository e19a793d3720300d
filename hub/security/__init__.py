"""Who is calling (auth), who may do what (permissions), the tamper-evident audit chain, and
where the hub may send requests (outbound policy)."""
