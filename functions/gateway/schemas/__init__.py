"""Wire models: OpenAI's names and shapes for requests, responses, items, stream events and errors."""
