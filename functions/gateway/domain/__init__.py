"""The engine: context building, event building, status rules and the use cases that tie them together."""
