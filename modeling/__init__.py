"""The model lab: training the expression classifier (`affectwatch train`), measuring it (`affectwatch evaluate`),
joining trained networks into one and taking them apart (`affectwatch combine`, `affectwatch split`), with the
data sets, augmentation, distillation, widening, losses, metrics and charts they use.

Installed with the `modeling` extra. It builds and reads the networks the worker loads (worker.models) and
prepares faces as the worker does (worker.preprocess, worker.facecrop); the worker never imports it.
`research/` holds one-off research scripts and `bench/` the lab's benchmarks; neither is installed."""
