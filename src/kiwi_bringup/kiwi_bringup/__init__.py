"""Launch files, configuration and the runner that starts graphs where `launch` is not installed."""
