"""Running compiled networks: the numpy reference executor, weights, (later) training."""
