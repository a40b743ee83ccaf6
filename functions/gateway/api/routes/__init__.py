"""Endpoints only: parse, call one service method, render."""
