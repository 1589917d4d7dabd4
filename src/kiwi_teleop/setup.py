from setuptools import find_packages, setup

package_name = "kiwi_teleop"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="Kiwi developers",
    maintainer_email="kiwi@example.com",
    description="Teleoperation sources (keyboard, gamepad, leader arm, scripted expert) and the command mux.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "expert = kiwi_teleop.expert_node:main",
            "gamepad = kiwi_teleop.gamepad_node:main",
            "joy = kiwi_teleop.joy_node:main",
            "keyboard = kiwi_teleop.keyboard_node:main",
            "leader = kiwi_teleop.leader_node:main",
            "mux = kiwi_teleop.mux_node:main",
        ],
    },
)
