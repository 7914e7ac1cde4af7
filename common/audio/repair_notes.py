"""What the repairs of an edit list did, in words a job result can carry (``repairNotes``).

A repair that decides from the recording itself whether to act (dehum's mains frequency is found in the audio by
default; denoise needs sound to learn the noise from; level needs speech) must not pass silently when it decides to
do nothing: the note says so, with a stable ``code``. Notes are read from a ``RepairChain`` after its learning pass,
so they describe exactly what its filters apply; a context preview's figures are those of the sample it learned from.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.audio.enhance import (
    GATE_ABOVE_FLOOR_DB,
    HUM_CANDIDATES_HZ,
    NOISE_BLOCK_FRAMES,
    RepairChain,
    denoise_frame_size,
    noise_level_db,
)
from common.edits import (
    DETECT_HUM,
    HUM_REMOVED,
    NO_HUM_FOUND,
    NO_NOISE_PROFILE,
    NO_SPEECH_FOUND,
    NOISE_REDUCED,
    SPEECH_LEVELED,
    Dehum,
    Denoise,
    Level,
)


@dataclass(frozen=True, slots=True)
class RepairNote:
    """What one repair edit (``op``) did: a stable ``code`` and a human ``message``."""

    op: str
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"op": self.op, "code": self.code, "message": self.message}


def repair_notes(chain: RepairChain | None) -> tuple[RepairNote, ...]:
    """One note per dehum, denoise and level of ``chain``, in edit-list order: what it did, or that it did nothing."""
    if chain is None:
        return ()
    notes = []
    for repair in chain.repairs:
        if isinstance(repair, Dehum):
            notes.append(_dehum_note(chain, repair))
        elif isinstance(repair, Denoise):
            notes.append(_denoise_note(chain, repair))
        elif isinstance(repair, Level):
            notes.append(_level_note(chain, repair))
    return tuple(notes)


def _dehum_note(chain: RepairChain, repair: Dehum) -> RepairNote:
    found = repair.frequency == DETECT_HUM
    hum_hz = (None if chain.learned is None else chain.learned.hum_hz) if found else repair.frequency
    if hum_hz is None:
        candidates = " or ".join(f"{hz} Hz" for hz in HUM_CANDIDATES_HZ)
        message = f"No {candidates} mains hum was found in the recording: de-hum left it unchanged."
        return RepairNote(repair.op, NO_HUM_FOUND, message)
    origin = "found in the recording" if found else "as asked"
    message = (
        f"De-hum removed {hum_hz} Hz mains hum ({origin}): "
        f"{repair.harmonics} notches, at {hum_hz} Hz and its multiples."
    )
    return RepairNote(repair.op, HUM_REMOVED, message)


def _denoise_note(chain: RepairChain, repair: Denoise) -> RepairNote:
    learned = chain.learned
    if learned is None or learned.noise_power is None:
        block_s = denoise_frame_size(chain.rate) * NOISE_BLOCK_FRAMES / chain.rate
        message = (
            "De-noise found no sound to learn the background noise from (the recording is silent or shorter than "
            f"{block_s:.2f} s): it left the recording unchanged."
        )
        return RepairNote(repair.op, NO_NOISE_PROFILE, message)
    profile_s = learned.noise_frames / chain.rate
    message = (
        f"De-noise learned the background noise from the recording's quietest {profile_s:.1f} s "
        f"({noise_level_db(learned.noise_power):.0f} dBFS RMS) and lowered it by up to {repair.reduction_db:g} dB."
    )
    return RepairNote(repair.op, NOISE_REDUCED, message)


def _level_note(chain: RepairChain, repair: Level) -> RepairNote:
    plan = chain.level_plan(repair)
    if plan is None or plan.speech_db is None:
        message = (
            f"Level found no speech (no passage {GATE_ABOVE_FLOOR_DB:g} dB above the recording's quietest ones): "
            "it left the recording unchanged."
        )
        return RepairNote(repair.op, NO_SPEECH_FOUND, message)
    raised = max(0.0, float(plan.gains_db.max()))
    lowered = max(0.0, -float(plan.gains_db.min()))
    message = (
        f"Level brought speech to its mean level, {plan.speech_db:.0f} dBFS RMS: quieter passages raised by up to "
        f"{raised:.1f} dB, louder ones lowered by up to {lowered:.1f} dB (at most {repair.max_gain_db:g} dB)."
    )
    return RepairNote(repair.op, SPEECH_LEVELED, message)
