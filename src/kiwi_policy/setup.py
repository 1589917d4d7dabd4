from glob import glob

from setuptools import find_packages, setup

package_name = "kiwi_policy"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/launch", glob("launch/*")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="Kiwi developers",
    maintainer_email="kiwi@example.com",
    description="The policy node: LeRobot checkpoints, asynchronous chunked inference, timer-driven commands.",
    license="Apache-2.0",
    entry_points={
        "kiwi.commands": [
            "train = kiwi_policy.cli:add_parser",
        ],
        "console_scripts": [
            "policy = kiwi_policy.policy_node:main",
        ],
    },
)
