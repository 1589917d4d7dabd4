from setuptools import find_packages, setup

package_name = "kiwi_viz"

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
    description="Kiwi in Rerun: cameras, a top-down map, joints, base and take-overs, live or recorded.",
    license="Apache-2.0",
    entry_points={
        "kiwi.commands": ["viz = kiwi_viz.cli:add_parser"],
        "console_scripts": ["viz = kiwi_viz.viz_node:main"],
    },
)
