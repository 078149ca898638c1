// New rows wait above while the user reads the list: while the pointer is over it or it is scrolled away
// from the top, rows that arrive are held back (the list shows "N new ↑"), so the row under the pointer
// never moves; rows already shown still update in place (a running request finishing). Otherwise every
// row is shown, newest on top. No DOM: the request list says when it holds and when it releases.

export interface Keyed {
  readonly id: string;
}

export interface Split<T> {
  /** The rows to show, in the order given. */
  shown: readonly T[];
  /** Rows that arrived while holding, newest first. */
  waiting: readonly T[];
}

export class PendingRows<T extends Keyed> {
  /** Ids shown while holding; null while not holding (every row is shown). */
  private admitted: Set<string> | null = null;
  /** The rows of the latest split: what the user saw when holding began. */
  private latest: readonly T[] = [];

  /** Splits `all` (newest first) into the rows to show and those waiting; `hold`: the user is reading. */
  split(all: readonly T[], hold: boolean): Split<T> {
    const before = this.latest;
    this.latest = all;
    if (!hold) {
      this.admitted = null;
      return { shown: all, waiting: [] };
    }
    // Holding starts with the rows on screen before this update: those of this update wait.
    this.admitted ??= new Set(before.map((e) => e.id));
    const admitted = this.admitted;
    const shown: T[] = [];
    const waiting: T[] = [];
    for (const e of all) (admitted.has(e.id) ? shown : waiting).push(e);
    return waiting.length ? { shown, waiting } : { shown: all, waiting };
  }

  /** Shows the waiting rows (the "N new" row was clicked); later arrivals wait again while holding. */
  release(): void {
    if (this.admitted) this.admitted = new Set(this.latest.map((e) => e.id));
  }

  get holding(): boolean {
    return this.admitted !== null;
  }
}
