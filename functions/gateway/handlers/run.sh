#!/bin/sh
# Streaming routes on Lambda: the Lambda Web Adapter layer forwards each request to this uvicorn server
# and streams its reply (AWS_LWA_INVOKE_MODE=response_stream).
exec python -m uvicorn --factory gateway.api.app:create_app --host 127.0.0.1 --port "${PORT:-8000}" \
  --no-access-log --timeout-keep-alive 60
