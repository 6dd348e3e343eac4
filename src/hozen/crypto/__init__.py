"""Django-free cryptographic core: envelope encryption (``envelope``) and key-encryption keys (``kek``)."""
