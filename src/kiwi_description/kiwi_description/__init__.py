"""LeKiwi's description: constants, kinematics, unit conversion, URDF and MJCF."""
