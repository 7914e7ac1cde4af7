"""What a running job is doing now: the stage it reports with its progress, and every poll shows.

Declared apart from the job store and the audio engine, as both name them: the engine names each pass it makes, the
store keeps the latest, the API document lists them.
"""

from __future__ import annotations

from enum import StrEnum


class JobStage(StrEnum):
    #: Reading an upload: decoding it while writing the master and measuring it.
    DECODING = "decoding"
    #: A pass over the audio that only measures it (loudness for a normalize or a render, silence to trim or pauses
    #: to shorten, what the repairs learn: hum, noise profile, levels).
    MEASURING = "measuring"
    #: Writing the edited audio (a preview or a new version).
    EDITING = "editing"
    #: Writing a render's file.
    ENCODING = "encoding"
    #: Writing a render again because the first one missed its loudness or peak target.
    CORRECTING = "correcting"
    #: Handing the finished files to the media store.
    STORING = "storing"
