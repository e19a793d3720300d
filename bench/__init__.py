"""Benchmarks of the hub (push and withdrawal end to end, the sandbox alone) and their results."""
