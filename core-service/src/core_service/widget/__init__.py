"""The embeddable chat widget (``/widget.js``) and the hosted chat page (``/embed``)."""
