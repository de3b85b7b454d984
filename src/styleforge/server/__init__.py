"""`styleforge serve`: a web page and HTTP API around the same `Stylizer` as the CLI."""
