import { userNamespace, userNamespaceWith } from '@ctr/07';
import { security, step08 } from '@ctr/08';
import { defineStep } from '@ctr/runtime';
import { image, workingDirectory } from './image.js';
import { overlayRootfs } from './overlay.js';

export { type ImageSettings, image } from './image.js';

// The commands' code is loaded when one runs (the init's esbuild bundle carries it, never run).
const commands = () => import('./commands.js');

export const step09 = defineStep({
  id: '09',
  title: 'Images: pulled from a registry, layers on overlayfs, a writable layer per container',
  extends: step08,
  // Step 07's user feature mapped the rootfs with an idmapped mount; here the idmapped layers (or
  // --rootfs) become the read-only lowers of an overlay whose upper layer is the container's own.
  // The image's WorkingDir is made and entered as root, before step 08 switches to its User.
  changes: [
    [userNamespace, userNamespaceWith(overlayRootfs)],
    [security, [workingDirectory, security]],
  ],
  adds: [image],
  commands: [
    {
      usage: 'pull <name>',
      summary: 'fetch an image from its registry into the local store',
      run: async ([name], log) => (await commands()).pullCommand(name as string, log),
    },
    {
      usage: 'images',
      summary: 'list the images in the local store',
      run: async () => (await commands()).imagesCommand(),
    },
    {
      usage: 'rmi <names...>',
      summary: 'remove images, and every layer no other image uses',
      run: async (names) => (await commands()).rmiCommand(names),
    },
  ],
});
