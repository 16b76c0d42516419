// The order reports are stored in, within one collector.

/**
 * One delivery of a report at a time, and one report of a school at a time.
 *
 * A second delivery of a report (the agent's retry after its own timeout) waits until the first has
 * completed or failed its ingest, then sees it as a duplicate. A school's reports are stored one after
 * another, so that each is judged against its school's budgets with the reports before it counted
 * (concurrent reports of new devices would otherwise each pass a budget they exceed together).
 */
export class IngestTurns {
  /** Reports being written now. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** The last report of each school being stored. */
  private readonly schoolTurns = new Map<string, Promise<void>>();

  /** Runs `work` for a report once no other delivery of it is running, and in its school's turn. */
  async run<T>(reportId: string, schoolId: string, work: () => Promise<T>): Promise<T> {
    for (let running = this.inFlight.get(reportId); running; running = this.inFlight.get(reportId))
      await running;
    let finished: () => void = () => undefined;
    this.inFlight.set(
      reportId,
      new Promise<void>((resolve) => {
        finished = resolve;
      }),
    );
    try {
      return await this.inTurn(schoolId, work);
    } finally {
      this.inFlight.delete(reportId);
      finished();
    }
  }

  private async inTurn<T>(schoolId: string, work: () => Promise<T>): Promise<T> {
    const before = this.schoolTurns.get(schoolId);
    let done: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    this.schoolTurns.set(schoolId, mine);
    try {
      if (before) await before;
      return await work();
    } finally {
      done();
      if (this.schoolTurns.get(schoolId) === mine) this.schoolTurns.delete(schoolId);
    }
  }
}
