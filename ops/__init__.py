"""The operator side: settings, the embedded database, and the ``fiscaflow`` CLI."""
