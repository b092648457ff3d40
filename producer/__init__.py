"""The producer: one thread per enabled camera captures, samples and JPEG-encodes frames; a sender
thread enqueues them in short batches on the RQ frame queue, dropping (and counting) what the workers
cannot keep up with. See docs/producer.md. Nothing here imports torch.
"""
