"""Episode recorder and the bag -> LeRobotDataset v3 converter (issue 4)."""
