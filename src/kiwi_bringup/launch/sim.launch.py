"""ros2 launch kiwi_bringup sim.launch.py [seed:=0] [obstacle:=false] [rate_hz:=30] [sim_speed:=1.0]"""

from kiwi_common.launch_support import generate_for


def generate_launch_description():
    return generate_for("sim")
