"""ros2 launch kiwi_bringup teleop.launch.py [teleop:=keyboard|expert] [sim:=true] ... (see `kiwi graphs`)"""

from kiwi_common.launch_support import generate_for


def generate_launch_description():
    return generate_for("teleop")
