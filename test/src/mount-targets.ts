import { existsSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A runtime creates a `-v` target that the rootfs lacks, as runc and docker do, inside the rootfs.
 * Here the rootfs is a directory shared by every container and every test, so a test that binds
 * to a new target would leave an empty directory in it, and a later `ls /` (the step pages'
 * transcripts, step 03's "shows the rootfs as /") would show it. Call before the run; the function
 * it returns removes the targets that were not there before, if they are still empty.
 */
export function removeNewMountTargetsAfter(rootfs: string, targets: string[]): () => void {
  const created = targets.map((target) => join(rootfs, target)).filter((path) => !existsSync(path));
  return () => {
    for (const path of created) {
      try {
        rmdirSync(path);
      } catch (error) {
        // ENOENT: the runtime never made it. ENOTEMPTY: something was written through it after the
        // bind was gone, which is not ours to delete.
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTEMPTY') throw error;
      }
    }
  };
}
