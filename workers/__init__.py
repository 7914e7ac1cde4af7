"""The worker process: claims jobs from the store and runs their handlers (``python -m workers``)."""
