"""Fan-out: push one item to thousands of accounts, withdraw it from all of them, fast and
without losing or doubling a post. PostgreSQL rows are the truth; Redis only carries work."""
