"""The audio engine: decode, measure, edit and encode with PyAV and NumPy. Pure functions of files."""

from common.audio.allocator import pin_mmap_threshold

pin_mmap_threshold()
