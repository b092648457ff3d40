"""The worker: face detection and expression classification on queued frames."""
