"""Test harness for the stages: loading a stage's app in isolation, running it as a real server."""
