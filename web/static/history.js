// Undo and redo over snapshots of the editing state (the pending edits and the selection they were made from).

const MAX_STEPS = 200;

export class UndoHistory {
  constructor(onChange) {
    this.onChange = onChange;
    this.past = [];
    this.future = [];
  }

  // `before` is the state a change is about to replace.
  record(before) {
    this.past.push(before);
    if (this.past.length > MAX_STEPS) this.past.shift();
    this.future = [];
    this.onChange();
  }

  // The state to return to, given the current one; null when there is nothing to undo.
  undo(current) {
    if (this.past.length === 0) return null;
    this.future.push(current);
    const state = this.past.pop();
    this.onChange();
    return state;
  }

  redo(current) {
    if (this.future.length === 0) return null;
    this.past.push(current);
    const state = this.future.pop();
    this.onChange();
    return state;
  }

  clear() {
    this.past = [];
    this.future = [];
    this.onChange();
  }

  get canUndo() {
    return this.past.length > 0;
  }

  get canRedo() {
    return this.future.length > 0;
  }
}
