"""OpenAI Responses API gateway: one package shipped to every Lambda function."""
