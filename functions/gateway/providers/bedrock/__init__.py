"""Amazon Bedrock through the Converse API: ``provider.py`` (the ``Provider``), ``request.py`` with ``messages.py``,
``tools.py``, ``media.py`` and ``models.py`` (Responses request → ConverseStream request), ``stream.py`` (events →
neutral events), ``reasoning.py`` (Claude's reasoning state), ``errors.py`` (Bedrock failures → gateway errors)."""
