"""What libraries print past us: native code straight to the process's stderr (file descriptor 2, past
Python: encoders' banners, a message decoder's complaint about bytes it cannot read."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager


@contextmanager
def native_stderr_hidden(hidden: bool = True, shown_on_error: str | None = None):
    """Keep what native code prints to stderr out of the terminal; yields a stream on the real
    stderr (for progress bars). On an error the hidden lines are shown under the heading
    `shown_on_error`, or dropped when it is None (the error says it better)."""
    if not hidden:
        yield sys.stderr
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink, os.fdopen(os.dup(saved), "w") as terminal:
        os.dup2(sink.fileno(), 2)
        try:
            yield terminal
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            tail = sink.read()[-4000:].decode(errors="replace")
            if tail.strip() and shown_on_error is not None:
                print(f"{shown_on_error}:\n{tail}", file=sys.stderr)
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


@contextmanager
def loggers_silenced(*names: str):
    """Libraries' own log lines about an input we report ourselves (Hugging Face datasets logs an
    ERROR for a parquet file it cannot read before raising): off inside the block."""
    import logging

    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
