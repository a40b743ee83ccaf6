"""Persistence of responses, their items and API keys (DynamoDB), behind small protocols."""
