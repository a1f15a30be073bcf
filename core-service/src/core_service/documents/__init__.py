"""Documents: upload, text extraction, chunking and their ingestion jobs."""
