"""Infrastructure both ChatSphere services share: no domain code lives here.

Logging (``logging``), request middleware (``middleware``), the error base and its handlers
(``errors``), metrics and tracing (``observability``), garbage-collector tuning (``gc_tuning``),
the settings every service has (``settings``) and the HTTP server with its limits (``server``).
"""

__version__ = "0.1.0"
