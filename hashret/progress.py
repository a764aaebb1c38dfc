"""Progress bars for long work, on stderr."""

from __future__ import annotations

import logging
import sys

# A bar redraws itself in place on a terminal; written into a log file or a pipe, every
# redraw is another chunk of text, so there it redraws at most this often (seconds).
LOG_REDRAW_SECONDS = 30.0


def progress_bar(iterable=None, **kwargs):
    """A ``tqdm`` bar that stays readable when stderr is not a terminal. Unless told
    (``disable``), it shows when hashret's log shows information (the CLI without
    ``quiet``)."""
    from tqdm.auto import tqdm
    kwargs.setdefault("disable", not logging.getLogger("hashret").isEnabledFor(logging.INFO))
    if not sys.stderr.isatty():
        kwargs.setdefault("mininterval", LOG_REDRAW_SECONDS)
        # a log keeps each bar's last state, which says how far the work went (a bar
        # cleared at the end would leave the last redraw, often short of the total)
        kwargs["leave"] = True
    return tqdm(iterable, **kwargs)
