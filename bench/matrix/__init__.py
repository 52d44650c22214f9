"""The benchmark matrix behind bench/matrix.py: our server against Nchan, memory and Redis backends,
on loopback. See bench/README.md for how to add a scenario or a server."""
