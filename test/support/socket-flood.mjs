#!/usr/bin/env node
// Many raw HTTP clients against one server on 127.0.0.1, in a child process of its own (its sockets count against
// its own file-descriptor limit, not the test's). Used by test/reliability-serve.test.ts.
//
//   node socket-flood.mjs <port> <mode> <clients> [path]
//     mode keep-alive:  each client asks GET <path> (default /healthz) again a second after each answer;
//     mode reconnect:   the same, and a client the server closes opens a new connection 100 ms later (churn);
//     mode no-read:     each client sends GET <path> (default /metrics) once and never reads (its socket paused).
//
// Prints one JSON line of counts every 250 ms ({"opened","open","closedByServer","answers","failed"}), and a
// last one with "done": true when "stop" arrives on stdin (every socket destroyed) or after 120 s.
import { connect } from 'node:net';

const [portText, mode, clientsText, path = mode === 'no-read' ? '/metrics' : '/healthz'] = process.argv.slice(2);
const reading = mode === 'keep-alive' || mode === 'reconnect';
const port = Number(portText);
const clients = Number(clientsText);
/** Connections attempted at once: a SYN flood of thousands would only measure the kernel's backlog. */
const CONNECTING_AT_ONCE = 200;
/** A client asks again this long after each answer: a flood of connections, not a CPU benchmark. */
const ASK_AGAIN_MS = 1_000;
const RECONNECT_MS = 100;
const request = `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: keep-alive\r\n\r\n`;

const counts = { opened: 0, open: 0, closedByServer: 0, answers: 0, failed: 0 };
const sockets = new Set();
let stopping = false;
let connecting = 0;
let started = 0;

function openOne() {
  started++;
  connecting++;
  const socket = connect(port, '127.0.0.1');
  sockets.add(socket);
  let connected = false;
  socket.setNoDelay(true);
  socket.on('connect', () => {
    connected = true;
    connecting--;
    counts.opened++;
    counts.open++;
    socket.write(request);
    if (mode === 'no-read') socket.pause();
    pump();
  });
  if (reading) {
    socket.on('data', (data) => {
      // One answer per chunk is close enough: /healthz answers are tiny and arrive whole.
      counts.answers += data.toString('latin1').split('HTTP/1.1 ').length - 1;
      setTimeout(() => {
        if (!stopping && !socket.destroyed) socket.write(request);
      }, ASK_AGAIN_MS);
    });
  }
  socket.on('error', () => undefined);
  socket.on('close', () => {
    sockets.delete(socket);
    if (!connected) {
      connecting--;
      counts.failed++;
    } else counts.open--;
    if (stopping) return;
    if (connected) counts.closedByServer++;
    // A keep-alive client comes back: the flood stays at `clients` sockets for as long as it runs.
    if (mode === 'reconnect') setTimeout(openOne, RECONNECT_MS);
    pump();
  });
}

function pump() {
  while (!stopping && started < clients && connecting < CONNECTING_AT_ONCE) openOne();
}

function report(done = false) {
  process.stdout.write(`${JSON.stringify({ ...counts, ...(done && { done: true }) })}\n`);
}

function stop() {
  if (stopping) return;
  stopping = true;
  for (const socket of sockets) socket.destroy();
  setTimeout(() => {
    report(true);
    process.exit(0);
  }, 200);
}

const ticker = setInterval(() => report(), 250);
ticker.unref();
process.stdin.on('data', (data) => {
  if (data.toString().includes('stop')) stop();
});
setTimeout(stop, 120_000).unref();
pump();
