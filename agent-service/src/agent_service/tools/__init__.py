"""Tools the ``react`` agent may call."""
