"""The web process: a Starlette app that validates requests, queues jobs in the store and answers polls."""
