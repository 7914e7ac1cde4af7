"""What the repairs of an edit list did, in words a job result can carry (``repairNotes``).

A repair that decides from the recording itself whether to act (dehum's mains frequency is found in the audio by
default) must not pass silently when it decides to do nothing: the note says so, with a stable ``code``. Notes
are read from a ``RepairChain`` after its learning pass, so they describe exactly what its filters apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.audio.enhance import HUM_CANDIDATES_HZ, RepairChain
from common.edits import DETECT_HUM, HUM_REMOVED, NO_HUM_FOUND, Dehum


@dataclass(frozen=True, slots=True)
class RepairNote:
    """What one repair edit (``op``) did: a stable ``code`` and a human ``message``."""

    op: str
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"op": self.op, "code": self.code, "message": self.message}


def repair_notes(chain: RepairChain | None) -> tuple[RepairNote, ...]:
    """One note per dehum of ``chain``, in edit-list order: the hum it removed, or that it found none."""
    if chain is None:
        return ()
    learned_hz = None if chain.learned is None else chain.learned.hum_hz
    notes = []
    for repair in chain.repairs:
        if not isinstance(repair, Dehum):
            continue
        found = repair.frequency == DETECT_HUM
        hum_hz = learned_hz if found else repair.frequency
        if hum_hz is None:
            candidates = " or ".join(f"{hz} Hz" for hz in HUM_CANDIDATES_HZ)
            message = f"No {candidates} mains hum was found in the recording: de-hum left it unchanged."
            notes.append(RepairNote(repair.op, NO_HUM_FOUND, message))
        else:
            origin = "found in the recording" if found else "as asked"
            message = (
                f"De-hum removed {hum_hz} Hz mains hum ({origin}): "
                f"{repair.harmonics} notches, at {hum_hz} Hz and its multiples."
            )
            notes.append(RepairNote(repair.op, HUM_REMOVED, message))
    return tuple(notes)
