"""ros2 launch kiwi_bringup remote_policy.launch.py model:=PATH [teleop:=gamepad] ... (the robot runs robot.launch.py; see `kiwi graphs`)"""

from kiwi_common.launch_support import generate_for


def generate_launch_description():
    return generate_for("remote_policy")
