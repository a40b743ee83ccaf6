"""``make bench``: latency, throughput, context-load, cold-start, memory and bundle figures for the gateway.

Outside the default test run (``--ignore=tests/bench``); it reports figures and never passes or fails.
"""
