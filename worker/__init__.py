"""The worker: face detection and expression classification on queued frames. Training and measuring the model
happen in the model lab (modeling/), which the worker never imports."""
