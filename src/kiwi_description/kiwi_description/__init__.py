"""LeKiwi, the robot: constants, kinematics, URDF (with an rviz view) and MJCF."""
