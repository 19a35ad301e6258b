import { request } from 'node:http'
import { existsSync } from 'node:fs'

/** True when a Docker engine answers on DOCKER_HOST (unix socket) or /var/run/docker.sock. */
export async function dockerAvailable(): Promise<boolean> {
  const host = process.env.DOCKER_HOST
  if (host && !host.startsWith('unix://')) return true // a TCP engine: let testcontainers try it
  const socketPath = host ? host.slice('unix://'.length) : '/var/run/docker.sock'
  if (!existsSync(socketPath)) return false
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1500 }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('error', () => resolve(false))
    req.on('timeout', () => {
      req.destroy()
      resolve(false)
    })
    req.end()
  })
}
