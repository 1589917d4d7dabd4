"""Graph specs, launch files and the `kiwi` runner."""
