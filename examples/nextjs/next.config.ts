import type { NextConfig } from 'next';

const config: NextConfig = {
  // Double-mounts components in development: the page's useNotifications still opens one socket.
  reactStrictMode: true,
  poweredByHeader: false,
  // `next dev` serves its dev resources (/_next/*, the hot-reload socket) only to pages opened
  // on localhost or on the custom server's HOST. To open the dev app under another host name
  // (a LAN address, a tunnel), list it: NEXT_ALLOWED_DEV_ORIGINS=192.168.1.20,demo.ward.test
  allowedDevOrigins: process.env.NEXT_ALLOWED_DEV_ORIGINS?.split(',').map((host) => host.trim()) ?? [],
  // The example's tests build the app to drive it and leave type checking to the workspace's
  // `pnpm typecheck` (same files, same strictness), which saves a quarter of the build time.
  typescript: { ignoreBuildErrors: process.env.WARDCAST_EXAMPLE_SKIP_TYPECHECK === '1' },
};

export default config;
