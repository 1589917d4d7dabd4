"""ros2 launch kiwi_policy run.launch.py model:=act|diffusion|<path> [sim:=true] [teleop:=none] ... (see `kiwi graphs`)

The same graph as `kiwi launch policy`: the sim or the robot, the policy node, the mux in shared
mode and, optionally, a teleop source a person (or the scripted expert) takes over with.
"""

from kiwi_common.launch_support import generate_for


def generate_launch_description():
    return generate_for("policy")
