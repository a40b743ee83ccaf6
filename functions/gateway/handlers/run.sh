#!/bin/sh
# Streaming routes on Lambda: the Lambda Web Adapter layer forwards each request to this uvicorn server
# and streams its reply (AWS_LWA_INVOKE_MODE=response_stream). API Gateway's REST API never upgrades a connection
# to a WebSocket (WebSocket mode is make run's, for now), so uvicorn loads no WebSocket library (--ws none).
exec python -m uvicorn --factory gateway.api.app:create_app --host 127.0.0.1 --port "${PORT:-8000}" \
  --no-access-log --timeout-keep-alive 60 --ws none
