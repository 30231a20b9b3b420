"""Fictional rosters (officials, enterprises, contacts) built through the real repositories,
shared by the tests and the benchmarks, so that neither imports the other's code."""
