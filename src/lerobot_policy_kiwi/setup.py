from setuptools import find_packages, setup

package_name = "lerobot_policy_kiwi"

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
    description="LeRobot policy plugin: an MLP over state features, one chunk or a K-mode mixture (--policy.type=kiwi_mlp).",
    license="Apache-2.0",
)
