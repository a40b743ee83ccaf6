"""Payloads too large for a 400 KB DynamoDB item, kept byte-identical in S3."""
