"""The background-jobs queue: a port, its SQS adapter and the message contract."""
