"""ros2 launch kiwi_bringup nav2.launch.py model:=PATH [sim:=false] ... (see `kiwi graphs` and the README's Nav2 hand-off)"""

from kiwi_common.launch_support import generate_for


def generate_launch_description():
    return generate_for("nav2")
