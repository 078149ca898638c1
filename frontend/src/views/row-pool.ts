// Row elements for virtualized lists, keyed by row index: while a row stays in view it keeps its
// element, content and position, so scrolling repaints only the rows that come into view.

export interface PooledRow {
  el: HTMLElement;
}

export class RowPool<R extends PooledRow> {
  private byIndex = new Map<number, R>();
  private free: R[] = [];

  constructor(
    private readonly container: HTMLElement,
    private readonly make: () => R,
  ) {}

  forEach(fn: (row: R) => void): void {
    for (const r of this.byIndex.values()) fn(r);
    for (const r of this.free) fn(r);
  }

  /** Shows rows [first, last); `fill` gets every visible row (and says itself whether anything changed). */
  render(first: number, last: number, fill: (row: R, index: number) => void): void {
    for (const [i, r] of this.byIndex) {
      if (i < first || i >= last) {
        this.byIndex.delete(i);
        this.free.push(r);
      }
    }
    for (let i = first; i < last; i++) {
      let r = this.byIndex.get(i);
      if (!r) {
        r = this.free.pop() ?? this.make();
        this.byIndex.set(i, r);
        if (r.el.parentNode !== this.container) this.container.appendChild(r.el);
      }
      fill(r, i);
    }
    for (const r of this.free) if (r.el.parentNode) r.el.remove();
  }
}
