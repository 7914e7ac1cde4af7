"""The render's gain for a loudness target (``leveling_gain_db``), from a headroom profile: the fixed point where the
target is reachable, and no more limiting than ``MAX_LIMITING_DB`` where it is not."""

from __future__ import annotations

import pytest

from common.audio.headroom import BIN_DB, HIGHEST_DB, LOWEST_DB, Headroom
from common.audio.limiter import HOLDS_PEAKS_AT_DB
from common.audio.render import MAX_LIMITING_DB, leveling_gain_db

CEILING_DB = -1.0


def profile(*shares: tuple[float, float]) -> Headroom:
    """A profile holding each ``(held peak dB, share of the energy)``."""
    energy = [0.0] * round((HIGHEST_DB - LOWEST_DB) / BIN_DB)
    for peak_db, share in shares:
        energy[int((peak_db - LOWEST_DB) / BIN_DB)] += share
    return Headroom(tuple(energy))


def test_a_reachable_level_is_met_once_the_limiter_has_taken_its_share() -> None:
    # Most energy well under the ceiling, a tenth near it: the limiter trims the loud tenth.
    headroom = profile((-20.0, 0.9), (-6.0, 0.1))
    gain = leveling_gain_db(8.0, headroom, CEILING_DB)
    loss = headroom.loss_db(gain, CEILING_DB + HOLDS_PEAKS_AT_DB)
    assert loss > 0.1
    assert gain - loss == pytest.approx(8.0, abs=0.01)


def test_a_level_out_of_reach_stops_at_the_most_limiting_allowed() -> None:
    # Every stretch peaks 12 dB over its level: past the ceiling each dB of gain is one more dB of limiting, so no
    # gain reaches 20 dB more loudness, and the solver alone ran on to tens of dB.
    headroom = profile((-12.0, 1.0))
    gain = leveling_gain_db(20.0, headroom, CEILING_DB)
    assert headroom.loss_db(gain, CEILING_DB + HOLDS_PEAKS_AT_DB) == pytest.approx(MAX_LIMITING_DB, abs=0.01)
    assert gain < 20.0 + MAX_LIMITING_DB
