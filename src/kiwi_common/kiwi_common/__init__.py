"""What several Kiwi packages share: node interface tables, graph specs and their launch
conversion, the topic <-> LeRobot feature mapping and units, image <-> message conversion, stamps,
diagnostics and tick timing, and the Feetech bus wrapper (with its protocol emulator for tests)."""
