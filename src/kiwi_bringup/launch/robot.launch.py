"""ros2 launch kiwi_bringup robot.launch.py [port:=/dev/ttyACM0] [robot_id:=lekiwi] [calibration_dir:=] [rate_hz:=30]"""

from kiwi_common.launch_support import generate_for


def generate_launch_description():
    return generate_for("robot")
