"""`kiwi convert`'s video options: Kiwi's fast default, LeRobot's settings, codec-specific presets."""

import argparse

from kiwi_recorder.cli import video_settings


def settings(**given):
    args = {"lerobot_video": False, "vcodec": None, "preset": None, "crf": None, **given}
    return video_settings(argparse.Namespace(**args))


def test_video_options():
    assert (settings().vcodec, settings().preset, settings().streaming) == ("h264", "ultrafast", True)
    lerobot = settings(lerobot_video=True)
    assert (lerobot.vcodec, lerobot.streaming) == ("libsvtav1", False)
    # Another codec drops h264's preset (presets are codec-specific); a numeric preset is a number.
    assert settings(vcodec="libsvtav1").preset is None
    assert settings(vcodec="libsvtav1", preset="10").preset == 10
    assert settings(preset="veryfast", crf=23).crf == 23
    assert settings(vcodec="libsvtav1").encoder().preset == 12  # LeRobot's default for SVT-AV1
