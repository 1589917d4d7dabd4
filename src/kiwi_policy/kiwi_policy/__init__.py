"""The policy node and the training wrapper (issue 5)."""
