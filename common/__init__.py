"""Code shared by the web and worker processes: job store, media layout, edit lists, audio engine."""
