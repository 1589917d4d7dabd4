"""Teleoperation sources and the human/policy command mux (issue 4)."""
