from setuptools import find_packages, setup

package_name = "kiwi_driver"

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
    description="The LeKiwi driver node (MuJoCo sim and Feetech backends) and the camera node.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "driver = kiwi_driver.driver_node:main",
            "camera = kiwi_driver.camera_node:main",
        ],
    },
)
