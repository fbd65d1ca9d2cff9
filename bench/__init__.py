"""opendream's benchmarks: the service's cost against baselines measured in the same run.

`python -m bench <suite> [--quick] [--out bench/results]`; see bench/README.md."""
