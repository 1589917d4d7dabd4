from setuptools import find_packages, setup

package_name = "kiwi_recorder"

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
    description="Episode recorder (rosbag2 MCAP) and the bag to LeRobotDataset v3 converter.",
    license="Apache-2.0",
    entry_points={
        "kiwi.commands": [
            "convert = kiwi_recorder.cli:add_parser",
        ],
        "console_scripts": [
            "recorder = kiwi_recorder.recorder_node:main",
        ],
    },
)
