"""The node that owns the robot: `driver` (sim or Feetech backend)."""
