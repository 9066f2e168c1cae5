"""Running compiled networks: the numpy reference executor, the compiled Net, weights, timing and training."""
