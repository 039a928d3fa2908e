"""ElasticHash benchmarks: the same queries against every system on the same node, one run."""
