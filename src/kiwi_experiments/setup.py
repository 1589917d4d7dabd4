from setuptools import find_packages, setup

package_name = "kiwi_experiments"

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
    description="The kiwi command and the imitation-learning experiment (kiwi demo).",
    license="Apache-2.0",
    entry_points={
        "kiwi.commands": [
            "demo = kiwi_experiments.cli:add_demo_parser",
            "study = kiwi_experiments.cli:add_study_parser",
        ],
        "console_scripts": [
            "kiwi = kiwi_experiments.cli:main",
        ],
    },
)
