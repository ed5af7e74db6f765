"""Benchmarks: workload definitions, the one-case child process and the harness behind `wf bench`."""
