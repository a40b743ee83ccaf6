"""``make run``: the app under uvicorn with an embedded moto server standing in for AWS. Not shipped logic."""
