"""HTTP layer: the FastAPI app, routes, auth, SSE encoding and error rendering."""
