import { defineConfig } from 'vitepress';

export default defineConfig({
  title: 'ctr workshop',
  description: 'Build a Linux container runtime in TypeScript, one kernel concept at a time',
  cleanUrls: true,
  // A link to a page that does not exist fails the build (CI builds the docs).
  ignoreDeadLinks: false,
  themeConfig: {
    search: { provider: 'local' },
    nav: [
      { text: 'Getting started', link: '/getting-started' },
      { text: 'CLI', link: '/cli' },
      { text: 'Troubleshooting', link: '/troubleshooting' },
      { text: 'Instructors', link: '/instructors' },
    ],
    // In the order a student goes: set up, the steps, then what to look things up in. VitePress's
    // "Next page" at the foot of each page follows it.
    sidebar: [
      {
        text: 'Start here',
        items: [{ text: 'Getting started', link: '/getting-started' }],
      },
      {
        text: 'Steps',
        items: [
          { text: '01 · PID namespace', link: '/steps/01-pid-namespace' },
          { text: '02 · UTS and IPC namespaces', link: '/steps/02-uts' },
          { text: '03 · Mount namespace and pivot_root', link: '/steps/03-mount-pivot-root' },
          { text: '04 · cgroups: memory, pids, CPU', link: '/steps/04-cgroups' },
          { text: '05 · Network: veth, bridge, NAT, ports', link: '/steps/05-network' },
          { text: '06 · An init as PID 1', link: '/steps/06-init-reaper' },
          { text: '07 · User namespace and rootless', link: '/steps/07-userns' },
          { text: '08 · Capabilities and seccomp', link: '/steps/08-capabilities-seccomp' },
          { text: '09 · Images and overlayfs', link: '/steps/09-images' },
          { text: '10 · Lifecycle: run -d, ps, exec, stop', link: '/steps/10-lifecycle' },
        ],
      },
      {
        text: 'Reference',
        items: [
          { text: 'How the runtime is built', link: '/architecture' },
          { text: 'The life of a container', link: '/life-of-a-container' },
          { text: 'The CLI contract', link: '/cli' },
          { text: 'Troubleshooting', link: '/troubleshooting' },
          { text: 'Benchmarks', link: '/benchmarks' },
          { text: 'For instructors', link: '/instructors' },
        ],
      },
    ],
  },
});
