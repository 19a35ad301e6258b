import type { ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'

/*
 * What the launchers of the project's own services (the Kafka broker, MariaDB, Kafka Connect)
 * share: free ports, readiness by TCP, and stopping a child process politely, then for sure.
 */

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))))
    })
  })
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portAnswers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      done(true)
    })
    socket.once('error', () => done(false))
  })
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A service the project started: what its launcher returns, whatever the service. */
export interface LocalService {
  readonly pid: number
  /** The service's version, as its jars or binary say. */
  readonly version: string
  /** SIGTERM (a controlled shutdown), then SIGKILL after a grace period. */
  stop(): Promise<void>
  /** SIGKILL: a crash, for chaos tests. */
  kill(): Promise<void>
}

export interface ServiceProcess {
  readonly pid: number
  /** True once the process has exited. */
  readonly exited: () => boolean
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
  /** SIGKILL: a crash, for chaos tests. */
  kill(): Promise<void>
}

/** Wraps a spawned service so it can be stopped politely or killed, waiting for its exit either way. */
export function serviceProcess(child: ChildProcess, what: string): ServiceProcess {
  const pid = child.pid
  if (pid === undefined) throw new Error(`could not start ${what}`)
  let exited = false
  child.once('exit', () => (exited = true))
  const waitExit = (ms: number) =>
    new Promise<boolean>((done) => {
      if (exited || !isAlive(pid)) return done(true)
      const timer = setTimeout(() => done(false), ms)
      child.once('exit', () => {
        clearTimeout(timer)
        done(true)
      })
    })
  return {
    pid,
    exited: () => exited,
    async stop(graceMs = 20_000) {
      if (!isAlive(pid)) return
      process.kill(pid, 'SIGTERM')
      if (!(await waitExit(graceMs))) {
        process.kill(pid, 'SIGKILL')
        await waitExit(5_000)
      }
    },
    async kill() {
      if (!isAlive(pid)) return
      process.kill(pid, 'SIGKILL')
      await waitExit(5_000)
    },
  }
}

/** Stops a service started detached, by the pid file it left. False when none was running. */
export async function stopByPidFile(pidFile: string): Promise<boolean> {
  if (!existsSync(pidFile)) return false
  const pid = Number(readFileSync(pidFile, 'utf8'))
  if (!isAlive(pid)) return false
  process.kill(pid, 'SIGTERM')
  for (let i = 0; i < 200 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100))
  if (isAlive(pid)) process.kill(pid, 'SIGKILL')
  return true
}

/** Polls `ready` every 100 ms until it holds; throws with the log's tail when the process exits or time runs out. */
export async function waitUntilReady(what: string, service: ServiceProcess, ready: () => Promise<boolean>, opts: { timeoutMs: number; logTail: () => string }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs
  for (;;) {
    if (await ready()) return
    if (service.exited()) throw new Error(`${what} exited during start-up:\n${opts.logTail()}`)
    if (Date.now() > deadline) {
      await service.kill()
      throw new Error(`${what} did not start within ${opts.timeoutMs} ms:\n${opts.logTail()}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}
