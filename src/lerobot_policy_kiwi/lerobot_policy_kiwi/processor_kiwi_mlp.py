"""LeRobot's default pipelines (normalize in, unnormalize out), found by LeRobot's naming convention."""

from lerobot.processor import make_default_pre_post_processors

from .configuration_kiwi_mlp import KiwiMlpConfig


def make_kiwi_mlp_pre_post_processors(config: KiwiMlpConfig, dataset_stats=None):
    return make_default_pre_post_processors(config, dataset_stats, normalizer_device=config.device)
