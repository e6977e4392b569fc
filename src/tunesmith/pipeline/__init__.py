"""The verbs: prepare, train, sample, export, demo. The CLI and web front ends call these."""
