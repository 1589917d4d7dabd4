"""ros2 launch kiwi_bringup dagger.launch.py model:=PATH [takeover:=gate|never] ... (see `kiwi graphs`)"""

from kiwi_common.launch_support import generate_for


def generate_launch_description():
    return generate_for("dagger")
