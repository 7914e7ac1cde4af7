// Pending edits apply in order, each to the timeline the previous ones left. The waveform shows the saved
// version, so a span selected on it must be moved onto the edited timeline before it becomes an edit, and the
// parts already cut away are shaded. A timeline is the list of [start, end] pieces of the saved audio it keeps.

export function keptSegments(edits, durationSec) {
  let segments = [[0, durationSec]];
  for (const edit of edits) {
    if (edit.op === "trim") segments = keepSpan(segments, edit.start, edit.end, true);
    else if (edit.op === "cut") segments = keepSpan(segments, edit.start, edit.end, false);
  }
  return segments;
}

// Keep (inside = true) or drop (inside = false) the piece from `start` to `end` of the edited timeline.
function keepSpan(segments, start, end, inside) {
  const result = [];
  let offset = 0;
  for (const [a, b] of segments) {
    const length = b - a;
    const overlapStart = Math.max(start, offset);
    const overlapEnd = Math.min(end, offset + length);
    if (inside) {
      if (overlapEnd > overlapStart) result.push([a + overlapStart - offset, a + overlapEnd - offset]);
    } else if (overlapEnd <= overlapStart) {
      result.push([a, b]);
    } else {
      if (overlapStart > offset) result.push([a, a + overlapStart - offset]);
      if (overlapEnd < offset + length) result.push([a + overlapEnd - offset, b]);
    }
    offset += length;
  }
  return result;
}

export function editedDuration(segments) {
  return segments.reduce((total, [a, b]) => total + (b - a), 0);
}

// Where a moment of the saved audio lands on the edited timeline (a removed moment lands at the join).
export function toEditedTime(segments, savedTime) {
  let offset = 0;
  for (const [a, b] of segments) {
    if (savedTime < a) return offset;
    if (savedTime <= b) return offset + savedTime - a;
    offset += b - a;
  }
  return offset;
}

export function removedRanges(segments, durationSec) {
  const ranges = [];
  let cursor = 0;
  for (const [a, b] of segments) {
    if (a > cursor) ranges.push([cursor, a]);
    cursor = b;
  }
  if (cursor < durationSec) ranges.push([cursor, durationSec]);
  return ranges;
}

// Where a moment of an edited timeline comes from in the saved audio.
export function toSavedTime(segments, editedTime) {
  let offset = 0;
  for (const [a, b] of segments) {
    if (editedTime <= offset + (b - a)) return a + Math.max(0, editedTime - offset);
    offset += b - a;
  }
  return segments.length ? segments[segments.length - 1][1] : 0;
}

// The fades and gains of a pending edit list, placed on the saved audio for drawing: each edit's times count on
// the timeline the edits before it left.
export function levelMarks(edits, durationSec) {
  const marks = [];
  edits.forEach((edit, index) => {
    const segments = keptSegments(edits.slice(0, index), durationSec);
    const length = editedDuration(segments);
    const place = (start, end) => [toSavedTime(segments, start), toSavedTime(segments, end)];
    if (edit.op === "fadeIn") marks.push({ op: edit.op, span: place(0, Math.min(edit.duration, length)) });
    else if (edit.op === "fadeOut") {
      marks.push({ op: edit.op, span: place(Math.max(0, length - edit.duration), length) });
    }
    else if (edit.op === "gain") {
      const span = edit.start === undefined ? place(0, length) : place(edit.start, edit.end);
      marks.push({ op: edit.op, span, db: edit.db });
    }
  });
  return marks;
}
