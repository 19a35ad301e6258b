import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyPluginAsync } from 'fastify'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)

/**
 * The dashboard: a static page and its scripts (ES modules), with ECharts served from the installed package
 * (no CDN: dashboards often run where the internet is not reachable). The page reads the same /v1
 * endpoints as any client, with the key from `?key=` (kept in localStorage).
 */
export const dashboardRoutes: FastifyPluginAsync<{ pollMs: number }> = async (app, opts) => {
  const page = readFileSync(join(here, 'index.html'), 'utf8').replace('__POLL_MS__', String(opts.pollMs))
  // The page's script and the modules it imports.
  const scripts = new Map(['dashboard.js', 'page.js', 'analytics.js'].map((name) => [name, readFileSync(join(here, name), 'utf8')]))
  const echarts = readFileSync(require.resolve('echarts/dist/echarts.min.js'), 'utf8')
  const cache = 'public, max-age=300'
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page))
  app.get('/favicon.ico', { schema: { hide: true } }, async (_req, reply) => reply.status(204).header('cache-control', cache).send())
  for (const [name, script] of scripts) {
    app.get(`/assets/${name}`, { schema: { hide: true } }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(script))
  }
  app.get('/assets/echarts.min.js', { schema: { hide: true } }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', cache).send(echarts))
}
