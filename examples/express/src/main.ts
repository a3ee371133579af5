import { createDemo } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const { server, hub, pipeline } = createDemo();

server.listen(port, host, () => {
  console.log(`Wardcast demo: open http://${host === '127.0.0.1' ? 'localhost' : host}:${port} (Ctrl+C to stop)`);
});

const stop = async (): Promise<void> => {
  await pipeline.close();
  await hub.close();
  server.close(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
