from glob import glob

from setuptools import find_packages, setup

package_name = "kiwi_bringup"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/launch", glob("launch/*")),
        ("share/" + package_name + "/config", glob("config/*")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="Kiwi developers",
    maintainer_email="kiwi@example.com",
    description="Launch files, configuration and the graph runner.",
    license="Apache-2.0",
    entry_points={
        "kiwi.commands": [
            "launch = kiwi_bringup.cli:add_commands",
        ],
        "console_scripts": [],
    },
)
