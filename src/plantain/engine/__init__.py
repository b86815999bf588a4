"""The scheduler: per-pipeline queues by priority, device batches, backpressure, cancel, deadlines."""
