"""The domain: image jobs, and turning requests into jobs and jobs into served images."""
