import { asking, currentContext } from '@ctr/syscalls';

/**
 * Undo actions, run in reverse order of creation: the init is killed before its cgroup is
 * removed, the veth is deleted before the address lease is released, and so on.
 * Every action runs even when an earlier one failed; failures are reported, not thrown, so one
 * stuck mount never leaves the cgroup and the veth behind as well.
 */
export class Cleanup {
  private readonly actions: { what: string; undo: () => unknown }[] = [];

  /** The undo is traced as the hook that registered it, e.g. `04 cgroups.cleanup`. */
  defer(what: string, undo: () => unknown): void {
    const context = { ...currentContext(), hook: 'cleanup' };
    this.actions.push({ what, undo: () => asking(context, undo) });
  }

  async run(report: (line: string) => void): Promise<void> {
    while (this.actions.length > 0) {
      const { what, undo } = this.actions.pop() as { what: string; undo: () => unknown };
      try {
        await undo();
      } catch (error) {
        report(`cleanup: could not ${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}
