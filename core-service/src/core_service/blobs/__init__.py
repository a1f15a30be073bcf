"""Original files of documents, kept behind a small put/get/delete interface."""
