"""Provider adapters: one per upstream API, behind the ``Provider`` protocol, chosen by ``registry``."""
