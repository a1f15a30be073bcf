"""Web sources: a URL, a sitemap or a crawled site kept in sync as a bot's documents."""
